'use client';
/**
 * One socket.io connection to the API's /ui namespace per tab, shared by every page; the login
 * cookie authenticates it. useUiEvent subscribes a component to one event for its lifetime.
 */
import type { ServerToUiEvents, UiToServerEvents } from '@mailscope/shared/agent-protocol';
import { useEffect, useRef, useSyncExternalStore } from 'react';
import { io, type Socket } from 'socket.io-client';

export type UiSocket = Socket<ServerToUiEvents, UiToServerEvents>;

let socket: UiSocket | null = null;
let connected = false;
const listeners = new Set<() => void>();

function notify(): void {
  for (const l of listeners) l();
}

export function uiSocket(): UiSocket {
  if (socket === null) {
    socket = io('/ui', { path: '/socket.io', withCredentials: true, transports: ['websocket', 'polling'] });
    socket.on('connect', () => {
      connected = true;
      notify();
    });
    socket.on('disconnect', () => {
      connected = false;
      notify();
    });
    socket.on('connect_error', () => {
      connected = false;
      notify();
    });
  }
  return socket;
}

/** True while the live connection is up. */
export function useLiveConnected(): boolean {
  return useSyncExternalStore(
    (cb) => {
      uiSocket();
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    () => connected,
    () => false,
  );
}

export function useUiEvent<E extends keyof ServerToUiEvents>(event: E, handler: ServerToUiEvents[E]): void {
  const ref = useRef(handler);
  useEffect(() => {
    ref.current = handler;
  });
  useEffect(() => {
    const s = uiSocket();
    const fn = ((...args: unknown[]) => (ref.current as (...a: unknown[]) => void)(...args)) as never;
    s.on(event, fn);
    return () => {
      s.off(event, fn);
    };
  }, [event]);
}
