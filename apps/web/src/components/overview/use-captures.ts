'use client';
/**
 * Live captures for the overview, kept current by `capture:status`: a status for a capture the
 * list does not have yet (started elsewhere, another tab) reloads the list.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { UiCaptureStatus } from '@mailscope/shared/agent-protocol';
import { api, errorMessage, qs } from '@/lib/api';
import { useUiEvent } from '@/lib/socket';
import type { AgentRow, CaptureRow } from './capture-types';

/** Live captures listed: the newest ones are what the control and counters need. */
const LIVE_CAPTURES = 20;

export interface LiveCaptures {
  /** Newest first; null until loaded. */
  readonly captures: readonly CaptureRow[] | null;
  readonly error: string | null;
  reload(): void;
  /** Puts a row the API returned (start, stop) into the list. */
  upsert(row: CaptureRow): void;
}

export function applyStatus(row: CaptureRow, s: UiCaptureStatus): CaptureRow {
  return { ...row, status: s.status, error: s.error, packets: s.packets, drops: s.drops, sessions: s.sessions, mails: s.mails, bytes: s.bytes };
}

export function useLiveCaptures(): LiveCaptures {
  const [captures, setCaptures] = useState<readonly CaptureRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const known = useRef(new Set<string>());
  const seq = useRef(0);

  const reload = useCallback(() => {
    const mine = ++seq.current;
    api<{ captures: CaptureRow[] }>(`/captures${qs({ source: 'live', limit: LIVE_CAPTURES })}`).then(
      (r) => {
        if (mine !== seq.current) return;
        known.current = new Set(r.captures.map((c) => c.id));
        setCaptures(r.captures);
        setError(null);
      },
      (e: unknown) => {
        if (mine === seq.current) setError(errorMessage(e));
      },
    );
  }, []);

  useEffect(() => {
    reload();
  }, [reload]);

  const upsert = useCallback((row: CaptureRow) => {
    known.current.add(row.id);
    setCaptures((prev) => {
      const list = prev ?? [];
      return list.some((c) => c.id === row.id) ? list.map((c) => (c.id === row.id ? row : c)) : [row, ...list];
    });
  }, []);

  useUiEvent('capture:status', (s) => {
    if (s.source !== 'live') return;
    if (!known.current.has(s.captureId)) {
      reload();
      return;
    }
    setCaptures((prev) => prev?.map((c) => (c.id === s.captureId ? applyStatus(c, s) : c)) ?? prev);
  });

  return { captures, error, reload, upsert };
}

/**
 * Capture agents (admin only: GET /api/agents). No event says that an agent connected, so the list
 * is polled: often while none is connected (the user is starting one), rarely otherwise.
 */
export function useAgents(enabled: boolean): { agents: readonly AgentRow[] | null; error: string | null; reload(): void } {
  const [agents, setAgents] = useState<readonly AgentRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reload = useCallback(() => {
    if (!enabled) return;
    api<{ agents: AgentRow[] }>('/agents').then(
      (r) => {
        setAgents(r.agents);
        setError(null);
      },
      (e: unknown) => setError(errorMessage(e)),
    );
  }, [enabled]);
  const anyConnected = agents?.some((a) => a.connected) ?? false;
  useEffect(() => {
    if (!enabled) return;
    reload();
    const timer = setInterval(reload, anyConnected ? 15_000 : 3_000);
    const onFocus = () => reload();
    window.addEventListener('focus', onFocus);
    return () => {
      clearInterval(timer);
      window.removeEventListener('focus', onFocus);
    };
  }, [enabled, anyConnected, reload]);
  return { agents, error, reload };
}
