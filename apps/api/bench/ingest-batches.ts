/**
 * The batches the ingest benchmarks push (ingest-bench.ts through /agent, postgres-floor.ts
 * straight into PostgreSQL): per session, opened, `packetsPerSession` packets (frames of
 * 100-1500 bytes: handshake and ACKs small, data segments large), 8 timeline entries, closed.
 */
import type { BatchPayload } from '@mailscope/shared';

export const TIMELINE_PER_SESSION = 8;

/** Distinct frames to draw from: sizes spread over 100-1500 bytes, contents pseudo-random. */
const FRAMES = Array.from({ length: 512 }, (_, i) => {
  const size = 100 + Math.floor(((i * 2654435761) >>> 0) / 4294967296 * 1401);
  const b = Buffer.allocUnsafe(size);
  for (let j = 0; j < size; j++) b[j] = (i * 131 + j * 7) & 0xff;
  return b;
});

const T0 = 1_700_000_000_000_000;
const VERBS = ['220', 'EHLO', '250', 'MAIL', '250', 'RCPT', '250', 'QUIT'];

export function makeBatch(captureId: string, seq: number, firstSession: number, count: number, packetsPerSession: number): BatchPayload {
  const packets: BatchPayload['packets'] = [];
  const sessions: BatchPayload['sessions'] = [];
  const timeline: BatchPayload['timeline'] = [];
  for (let s = firstSession; s < firstSession + count; s++) {
    const client = { addr: `10.${(s >> 16) & 255}.${(s >> 8) & 255}.${s & 255}`, port: 1024 + (s % 60000) };
    const server = { addr: '192.0.2.25', port: 25 };
    const start = T0 + s * 10_000;
    sessions.push({ type: 'session-opened', sessionId: s, protocol: 'smtp', client, server, startTs: start, sawSyn: true, detectedBy: 'port' });
    for (let k = 0; k < packetsPerSession; k++) {
      const no = (s - 1) * packetsPerSession + k + 1;
      const raw = k < 3 ? FRAMES[no % 64]! : FRAMES[no % FRAMES.length]!;
      const fromClient = k % 2 === 0;
      packets.push({
        type: 'packet', no, ts: start + k * 100, src: fromClient ? client.addr : server.addr, dst: fromClient ? server.addr : client.addr,
        srcPort: fromClient ? client.port : 25, dstPort: fromClient ? 25 : client.port, protocol: k < 3 ? 'TCP' : 'SMTP',
        length: raw.length, capturedLength: raw.length, tcpFlags: k === 0 ? 2 : 24, seq: (no * 7919) >>> 0, ack: (no * 104729) >>> 0,
        payloadLength: Math.max(0, raw.length - 54), info: k < 3 ? '[ACK] Seq=1 Ack=1 Win=502' : `C: ${VERBS[k % VERBS.length]} <user${s}@example.com>`,
        sessionId: s, dir: fromClient ? 'client' : 'server', linkType: 1, raw,
      });
    }
    for (let k = 0; k < TIMELINE_PER_SESSION; k++) {
      timeline.push({
        type: 'timeline', sessionId: s, seq: k + 1, ts: start + k * 120, dir: k % 2 === 0 ? 'server' : 'client',
        kind: k % 2 === 0 ? 'reply' : 'command', verb: VERBS[k]!, arg: k % 2 === 0 ? 'OK' : `<user${s}@example.com>`,
        frames: [(s - 1) * packetsPerSession + Math.min(k + 1, packetsPerSession)], ...(k % 2 === 0 && k > 0 ? { latencyUs: 120 } : {}),
      });
    }
    sessions.push({
      type: 'session-closed', sessionId: s, protocol: 'smtp', client, server, startTs: start, endTs: start + 5000, closeReason: 'fin',
      outcome: 'no-mail', encrypted: false, helo: `host${s}.example.com`, greeting: '220 mx ESMTP', mails: 0,
      packets: { client: 5, server: 5 }, bytes: { client: 3000, server: 3000 }, retransmissions: 0, gaps: 0, gapBytes: 0, anomalies: 0,
    });
  }
  return { captureId, batchId: `bench-${seq}`, seq, packets, sessions, timeline, mails: [] };
}

