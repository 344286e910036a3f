'use client';
/** The signed-in user, loaded once per page load; pages ask `useMe()` for the role. */
import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import { api } from './api';

export interface Me {
  readonly id: string;
  readonly username: string;
  readonly role: 'viewer' | 'admin';
}

const MeContext = createContext<Me | null>(null);

export function MeProvider({ children }: { children: (me: Me | null, failed: string | null) => ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  useEffect(() => {
    api<{ user: Me }>('/auth/me').then(
      (r) => setMe(r.user),
      (e: unknown) => setFailed(e instanceof Error ? e.message : String(e)),
    );
  }, []);
  return <MeContext.Provider value={me}>{children(me, failed)}</MeContext.Provider>;
}

export function useMe(): Me {
  const me = useContext(MeContext);
  if (me === null) throw new Error('useMe outside a signed-in page');
  return me;
}

export function useIsAdmin(): boolean {
  return useMe().role === 'admin';
}
