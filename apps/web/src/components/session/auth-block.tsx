'use client';
/**
 * A decoded credential: mechanism, user, the password masked. An admin may reveal it (POST
 * .../timeline/:seq/reveal, written to the audit log); a viewer never sees the button.
 */
import { useState } from 'react';
import { api, errorMessage } from '@/lib/api';
import styles from './session.module.css';
import type { TimelineEntry } from './types';

/** What a masked secret looks like on the page, whatever its length. */
export const DOTS = '•••••';

/** `domain "X"` / `workstation "Y"` from an NTLM entry's description. */
function quoted(arg: string, key: string): string | null {
  const m = new RegExp(`${key} "((?:[^"\\\\]|\\\\.)*)"`).exec(arg);
  return m === null ? null : m[1]!;
}

export function AuthBlock({ sessionId, entry, isAdmin }: { sessionId: string; entry: TimelineEntry; isAdmin: boolean }) {
  const a = entry.auth;
  const [revealed, setRevealed] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (a === null) return null;
  const domain = quoted(entry.arg, 'domain');
  const workstation = quoted(entry.arg, 'workstation');

  const reveal = async () => {
    setBusy(true);
    setError(null);
    try {
      const r = await api<{ password: string }>(`/sessions/${sessionId}/timeline/${entry.seq}/reveal`, { method: 'POST' });
      setRevealed(r.password);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className={styles.auth} data-testid="auth-block" onClick={(e) => e.stopPropagation()}>
      <span className={styles.label}>decoded {a.mechanism ?? entry.verb}</span>
      <span>
        user <span className={styles.user} data-testid="auth-user">{a.user ?? '(none)'}</span>
      </span>
      {domain !== null && <span>domain <span className="mono">{domain}</span></span>}
      {workstation !== null && <span>workstation <span className="mono">{workstation}</span></span>}
      {a.password !== null ? (
        <span>
          password{' '}
          <span
            className={`${styles.password} ${revealed !== null ? styles.revealed : styles.masked}`}
            data-testid="auth-password"
            data-revealed={revealed !== null}
            title={revealed !== null ? 'revealed: this was written to the audit log' : 'masked'}
          >
            {revealed ?? DOTS}
          </span>{' '}
          {isAdmin && (revealed === null ? (
            <button type="button" data-testid="reveal-password" disabled={busy} onClick={() => void reveal()} title="Show the password (admins; written to the audit log)">
              {busy ? 'Revealing…' : 'Reveal'}
            </button>
          ) : (
            <button type="button" onClick={() => setRevealed(null)}>Hide</button>
          ))}
        </span>
      ) : (
        <span className="muted">no password on the wire ({a.mechanism ?? entry.verb} sends a proof, not the password)</span>
      )}
      {a.success === true && <span className="badge ok">accepted</span>}
      {a.success === false && <span className="badge fail">rejected</span>}
      {a.success === null && <span className="badge">no answer seen</span>}
      {error !== null && <span className="error small" role="alert">{error}</span>}
    </div>
  );
}
