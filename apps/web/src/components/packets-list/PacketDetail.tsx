'use client';
/** The selected packet's fields, under the packet list (Wireshark's details pane, header fields only). */
import Link from 'next/link';
import { endpoint, formatBytes, formatCount, formatTime } from '@/lib/format';
import styles from './packets.module.css';
import { flagNames, type PacketRow } from './packet-types';

export function PacketDetail({ packet, onClose }: { readonly packet: PacketRow; readonly onClose?: () => void }) {
  const p = packet;
  const src = p.srcPort === null ? p.src : endpoint(p.src, p.srcPort);
  const dst = p.dstPort === null ? p.dst : endpoint(p.dst, p.dstPort);
  return (
    <section className={styles.detail} aria-label={`Packet ${p.frameNo}`} data-testid="packet-detail">
      <h2>
        Frame {p.frameNo}
        <span className="muted small">
          {formatTime(p.ts)} · {src} → {dst}
        </span>
        <span className="spacer" />
        {onClose !== undefined && (
          <button type="button" className="link small" onClick={onClose}>
            Close
          </button>
        )}
      </h2>
      <dl>
        <dt>Protocol</dt>
        <dd>{p.protocol}</dd>
        <dt>Length</dt>
        <dd>
          {formatCount(p.length)} bytes on the wire{p.capturedLength < p.length ? `, ${formatCount(p.capturedLength)} captured` : ''}
        </dd>
        <dt>Payload</dt>
        <dd>{p.payloadLength === null ? '—' : p.payloadLength === 0 ? 'none' : formatBytes(p.payloadLength)}</dd>
        <dt>TCP flags</dt>
        <dd>{p.tcpFlags === null ? '—' : `${flagNames(p.tcpFlags).join(', ') || 'none'} (0x${p.tcpFlags.toString(16).padStart(2, '0')})`}</dd>
        <dt title="absolute TCP sequence numbers (the info column shows them relative)">Seq / Ack</dt>
        <dd className="mono">{p.seq === null ? '—' : `${p.seq} / ${p.ack ?? '—'}`}</dd>
        <dt>Analysis</dt>
        <dd>{p.tcpAnalysis.length === 0 ? '—' : p.tcpAnalysis.join(', ')}</dd>
        <dt>Direction</dt>
        <dd>{p.dir === null ? '—' : p.dir === 'client' ? 'client → server' : 'server → client'}</dd>
        <dt>Session</dt>
        <dd>{p.sessionId === null ? 'none' : <Link href={`/sessions/${p.sessionId}`}>session #{p.sessionId}</Link>}</dd>
        <dt>Capture</dt>
        <dd>
          <Link href={`/packets?captureId=${p.captureId}`} className="mono" title="every packet of this capture">
            {p.captureId.slice(0, 8)}
          </Link>
        </dd>
        <dt>Info</dt>
        <dd className={styles.detailInfo}>{p.info}</dd>
      </dl>
    </section>
  );
}
