'use client';
/**
 * The session page: loads the session (timeline and mails), keeps the tab in the URL (`?tab=`),
 * and one selection shared by the tabs - a dialogue entry selects its packets, a packet selects
 * the entries that carried it (they share frame numbers). Packets and the data flow load when
 * their tab is first opened. An open session refreshes on the live events that name it.
 */
import Link from 'next/link';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ApiError, api, errorMessage } from '@/lib/api';
import { useIsAdmin } from '@/lib/auth';
import { useUiEvent } from '@/lib/socket';
import { useUrlFilters } from '../list-common/use-url-filters';
import { buildDialogue, markersFromPackets } from './dialogue-model';
import { DataFlowView } from './data-flow';
import { DialogueView } from './dialogue';
import { SessionHeader } from './session-header';
import { SessionMails } from './session-mails';
import { SessionPackets, usePackets } from './session-packets';
import type { CaptureInfo, SessionDetail, Selection } from './types';

const TABS = [
  { id: 'dialogue', label: 'Dialogue' },
  { id: 'packets', label: 'Packets' },
  { id: 'flow', label: 'Data flow' },
  { id: 'mails', label: 'Mails' },
] as const;
export type TabId = (typeof TABS)[number]['id'];

/** The page's state in the URL: the tab, and the mail the Mails tab opens at. */
const URL_KEYS = ['tab', 'mail'] as const;

function isTab(v: string | null): v is TabId {
  return TABS.some((t) => t.id === v);
}

type Load =
  | { readonly state: 'loading' }
  | { readonly state: 'missing'; readonly message: string }
  | { readonly state: 'error'; readonly message: string }
  | { readonly state: 'ok'; readonly detail: SessionDetail };

/** Live refreshes of an open session: at most one per this many ms. */
const REFRESH_MS = 1500;

export function SessionView({ id }: { id: string }) {
  const { values, set: setParams } = useUrlFilters(URL_KEYS);
  const isAdmin = useIsAdmin();
  const tab: TabId = isTab(values.tab) ? values.tab : 'dialogue';
  const mailParam = Number(values.mail);
  const focusMail = Number.isInteger(mailParam) && mailParam > 0 ? mailParam : null;

  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const [capture, setCapture] = useState<CaptureInfo | null>(null);
  const [version, setVersion] = useState(0);
  const [selection, setSelection] = useState<Selection>(null);
  const [visited, setVisited] = useState<ReadonlySet<TabId>>(() => new Set([tab]));

  const fetchDetail = useCallback(async (quiet: boolean) => {
    if (!/^[0-9]{1,18}$/.test(id)) {
      setLoad({ state: 'missing', message: `“${id}” is not a session id.` });
      return;
    }
    if (!quiet) setLoad({ state: 'loading' });
    try {
      const detail = await api<SessionDetail>(`/sessions/${id}`);
      setLoad({ state: 'ok', detail });
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.status === 400)) setLoad({ state: 'missing', message: `There is no session ${id}: it may have been removed by retention, or the link is wrong.` });
      else if (!quiet) setLoad({ state: 'error', message: errorMessage(e) });
    }
  }, [id]);

  useEffect(() => {
    void fetchDetail(false);
  }, [fetchDetail]);

  const captureId = load.state === 'ok' ? load.detail.session.captureId : null;
  useEffect(() => {
    if (captureId === null) return;
    let live = true;
    api<CaptureInfo>(`/captures/${captureId}`).then(
      (c) => live && setCapture(c),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [captureId]);

  // Live: an open session grows; refresh (throttled) when an event names it.
  const refreshTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const scheduleRefresh = useCallback(() => {
    if (refreshTimer.current !== null) return;
    refreshTimer.current = setTimeout(() => {
      refreshTimer.current = null;
      void fetchDetail(true);
      setVersion((v) => v + 1);
    }, REFRESH_MS);
  }, [fetchDetail]);
  useEffect(() => () => {
    if (refreshTimer.current !== null) clearTimeout(refreshTimer.current);
  }, []);
  useUiEvent('session:updated', (u) => {
    if (u.id === id) scheduleRefresh();
  });
  useUiEvent('session:closed', (c) => {
    if (c.id === id) scheduleRefresh();
  });
  useUiEvent('mail', (m) => {
    if (m.sessionId === id) scheduleRefresh();
  });

  const showTab = useCallback((t: TabId, extra: { mail?: string } = {}) => {
    setVisited((v) => (v.has(t) ? v : new Set([...v, t])));
    setParams({ tab: t === 'dialogue' ? '' : t, ...(t === 'mails' ? {} : { mail: '' }), ...extra }, 'replace');
  }, [setParams]);

  const detail = load.state === 'ok' ? load.detail : null;
  const dialogue = useMemo(() => (detail === null ? null : buildDialogue(detail.timeline, detail.mails)), [detail]);

  // Handshake / teardown markers come from the timeline; when it has none (an older capture, a
  // timeline cut short), the packets' flags say them, so the packets are loaded for that too.
  const needMarkers = detail !== null && dialogue !== null && dialogue.top.length === 0 && (detail.session.sawSyn || detail.timelineTruncated);
  const packetsWanted = tab === 'packets' || visited.has('packets') || needMarkers;
  const packets = usePackets(id, packetsWanted && detail !== null, version);
  const markers = useMemo(() => {
    if (dialogue === null) return null;
    if (!needMarkers || packets.rows.length === 0) return { top: dialogue.top, bottom: dialogue.bottom, fromPackets: false };
    const m = markersFromPackets(packets.rows);
    return { top: m.top, bottom: dialogue.bottom.length > 0 || !packets.done ? dialogue.bottom : m.bottom, fromPackets: true };
  }, [dialogue, needMarkers, packets.rows, packets.done]);

  const selectedFrames = useMemo<ReadonlySet<number>>(() => {
    if (selection === null || dialogue === null) return new Set();
    if (selection.kind === 'packet') return new Set([selection.frame]);
    const item = dialogue.items.find((i) => i.seqs.includes(selection.seq));
    if (item !== undefined) return new Set(item.frames);
    const entry = detail?.timeline.find((e) => e.seq === selection.seq);
    return new Set(entry?.frames ?? []);
  }, [selection, dialogue, detail]);

  if (load.state === 'loading') return <div className="page-loading">Loading session {id}…</div>;
  if (load.state === 'missing') {
    return (
      <div className="empty" data-testid="session-missing">
        <strong>No such session</strong>
        {load.message}{' '}
        <Link href="/sessions">Back to the sessions</Link>
      </div>
    );
  }
  if (load.state === 'error' || detail === null || dialogue === null || markers === null) {
    return (
      <div className="stack">
        <div className="alert error" role="alert" data-testid="session-error">
          Cannot load session {id}: {load.state === 'error' ? load.message : 'no data'}. The API may be down; try again in a moment.
        </div>
        <div className="row">
          <button type="button" onClick={() => void fetchDetail(false)}>Retry</button>
          <Link href="/sessions">Back to the sessions</Link>
        </div>
      </div>
    );
  }

  const { session } = detail;
  return (
    <div>
      <SessionHeader detail={detail} capture={capture} isAdmin={isAdmin} onOpenMails={(index) => showTab('mails', { mail: String(index) })} />
      <div className="tabs" role="tablist">
        {TABS.map((t) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            aria-selected={tab === t.id}
            data-testid={`tab-${t.id}`}
            onClick={() => showTab(t.id)}
          >
            {t.label}
            {t.id === 'packets' ? ` (${session.packets.client + session.packets.server})` : ''}
            {t.id === 'mails' ? ` (${detail.mails.length})` : ''}
          </button>
        ))}
      </div>
      {tab === 'dialogue' && (
        <DialogueView
          detail={detail}
          dialogue={dialogue}
          markers={markers}
          selection={selection}
          selectedFrames={selectedFrames}
          isAdmin={isAdmin}
          onSelect={setSelection}
          onShowPackets={() => showTab('packets')}
          onOpenMail={(index) => showTab('mails', { mail: String(index) })}
        />
      )}
      {tab === 'packets' && (
        <SessionPackets
          session={session}
          packets={packets}
          timeline={detail.timeline}
          selection={selection}
          selectedFrames={selectedFrames}
          onSelect={setSelection}
          onShowDialogue={() => showTab('dialogue')}
        />
      )}
      {tab === 'flow' && <DataFlowView sessionId={id} session={session} version={version} />}
      {tab === 'mails' && <SessionMails detail={detail} isAdmin={isAdmin} focus={focusMail} />}
    </div>
  );
}
