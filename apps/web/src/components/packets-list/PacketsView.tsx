'use client';
/** The Packets page: every stored packet, oldest first, filtered through the URL, paged as the user scrolls. */
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useCallback, useMemo, useState } from 'react';
import { api, qs } from '@/lib/api';
import { CaptureChip } from '../list-common/CaptureChip';
import { ClearFilters, DebouncedField, LoadError, SelectField, TimeRangeFields } from '../list-common/FilterFields';
import { loadedStatus, useKeysetList, type Page } from '../list-common/use-keyset-list';
import { useUrlFilters } from '../list-common/use-url-filters';
import { parseAddress, parsePort } from '../list-common/validate';
import common from '../list-common/list.module.css';
import { PacketDetail } from './PacketDetail';
import { ANALYSIS, FLAG_PRESETS, PACKET_FILTER_KEYS, PROTOCOLS, parsePacketFilters, parseSessionId } from './packet-filters';
import { PacketTable } from './PacketTable';
import { packetKey, type PacketRow } from './packet-types';
import styles from './packets.module.css';

/** Rows per request (the API allows 500): a few screens, ~100 KB. */
const PAGE_SIZE = 200;

export function PacketsView() {
  const router = useRouter();
  const { values, set, clear } = useUrlFilters(PACKET_FILTER_KEYS);
  const filters = useMemo(() => parsePacketFilters(values), [values]);
  const [reloads, setReloads] = useState(0);
  const listKey = `${qs(filters.query)}#${reloads}`;
  const fetchPage = useCallback(
    async (cursor: string | null, signal: AbortSignal): Promise<Page<PacketRow>> => {
      const res = await api<{ packets: PacketRow[]; next: string | null }>(`/packets${qs({ ...filters.query, limit: PAGE_SIZE, cursor })}`, { signal });
      return { rows: res.packets, next: res.next };
    },
    [filters.query],
  );
  const list = useKeysetList<PacketRow>(listKey, fetchPage, packetKey);
  const { store } = list;
  const loadMore = useCallback(() => store.loadMore(), [store]);
  const [selected, setSelected] = useState<PacketRow | null>(null);
  const selectedKey = selected === null ? null : packetKey(selected);

  const flagsPreset = FLAG_PRESETS.some((f) => f.value === values.flags) ? values.flags : '';
  const flagOptions = flagsPreset === '' && values.flags !== '' && filters.errors.flags === undefined
    ? [...FLAG_PRESETS, { value: values.flags, label: values.flags }]
    : FLAG_PRESETS;

  const status = loadedStatus(list, 'packet');
  const empty = list.ready && list.error === null && list.rows.length === 0;

  return (
    <div className={common.page}>
      <div className={common.header}>
        <h1>Packets</h1>
        <span className={common.status} data-testid="packets-loaded" aria-live="polite">{status}</span>
        <span className="spacer" />
        <button type="button" onClick={() => setReloads((n) => n + 1)} title="Load the list again (packets stored since it was loaded)">
          Reload
        </button>
      </div>

      <div className={common.filters} role="search" aria-label="Filter packets">
        <SelectField
          label="Protocol"
          testId="filter-protocol"
          value={(PROTOCOLS as readonly string[]).includes(values.protocol) ? values.protocol : ''}
          options={PROTOCOLS.map((p) => ({ value: p, label: p }))}
          onChange={(v) => set({ protocol: v })}
          error={filters.errors.protocol}
        />
        <DebouncedField
          label="Address"
          testId="filter-address"
          value={values.address}
          parse={parseAddress}
          onCommit={(v) => set({ address: v }, 'replace')}
          externalError={filters.errors.address}
          placeholder="IP address"
          title="The source's or the destination's address, exactly"
          width={150}
        />
        <DebouncedField
          label="Port"
          testId="filter-port"
          value={values.port}
          parse={parsePort}
          onCommit={(v) => set({ port: v }, 'replace')}
          externalError={filters.errors.port}
          placeholder="25"
          inputMode="numeric"
          width={70}
        />
        <SelectField
          label="TCP flags"
          testId="filter-flags"
          value={flagsPreset === '' && filters.errors.flags === undefined ? values.flags : flagsPreset}
          options={flagOptions}
          width={130}
          onChange={(v) => set({ flags: v })}
          error={filters.errors.flags}
        />
        <SelectField
          label="Payload"
          testId="filter-payload"
          value={values.payload === 'true' || values.payload === 'false' ? values.payload : ''}
          options={[{ value: 'true', label: 'with payload' }, { value: 'false', label: 'without (ACK, SYN, FIN)' }]}
          onChange={(v) => set({ payload: v })}
          error={filters.errors.payload}
          width={120}
        />
        <SelectField
          label="TCP analysis"
          testId="filter-analysis"
          value={ANALYSIS.some((a) => a.value === values.analysis) ? values.analysis : ''}
          options={ANALYSIS}
          anyLabel="all packets"
          width={120}
          onChange={(v) => set({ analysis: v })}
          error={filters.errors.analysis}
        />
        <DebouncedField
          label="Session"
          testId="filter-session"
          value={values.sessionId}
          parse={parseSessionId}
          onCommit={(v) => set({ sessionId: v }, 'replace')}
          externalError={filters.errors.sessionId}
          placeholder="#"
          inputMode="numeric"
          width={80}
        />
        <TimeRangeFields from={values.from} to={values.to} errors={filters.errors} onCommit={(v) => set(v, 'replace')} />
        {filters.active && <ClearFilters onClear={clear} />}
      </div>

      {values.captureId !== '' && (
        <div className={common.chips}>
          <CaptureChip captureId={values.captureId} invalid={filters.errors.captureId !== undefined} what="packets" onRemove={() => set({ captureId: '' })} />
        </div>
      )}

      {list.error !== null && list.rows.length === 0 && <LoadError what="packets" error={list.error} onRetry={loadMore} />}

      <div className={styles.split}>
        {empty ? (
          <div className="empty" data-testid="packets-empty">
            {filters.active ? (
              <>
                <strong>No packets match these filters</strong>
                <button type="button" className="link" onClick={clear}>
                  Clear filters
                </button>{' '}
                to see every packet.
              </>
            ) : (
              <>
                <strong>No packets yet</strong>
                Start a capture on the <Link href="/">Overview</Link> page, or <Link href="/import">import a capture file</Link>.
              </>
            )}
          </div>
        ) : (
          <PacketTable
            rows={list.rows}
            selection={selectedKey}
            onSelect={setSelected}
            onOpen={(p) => {
              if (p.sessionId !== null) router.push(`/sessions/${p.sessionId}`);
            }}
            loadMore={loadMore}
            hasMore={list.next !== null}
            loading={list.loading}
            error={list.rows.length > 0 ? list.error : null}
            style={{ flex: 1 }}
          />
        )}
        {selected !== null && !empty && <PacketDetail packet={selected} onClose={() => setSelected(null)} />}
      </div>
    </div>
  );
}
