'use client';
/**
 * Users (apps/api/src/routes/users.ts): create, change role or password, delete. Your own account
 * cannot be deleted or demoted here (another admin does that), so an admin cannot lock themselves
 * out; the API also keeps the last admin.
 */
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, errorMessage } from '@/lib/api';
import { useMe } from '@/lib/auth';
import styles from './settings.module.css';
import { formatIso } from './when';

type Role = 'viewer' | 'admin';

interface User {
  readonly id: string;
  readonly username: string;
  readonly role: Role;
  readonly createdAt: string;
}

/** The API's rules (users.ts): NIST SP 800-63B length, no composition rules. */
const MIN_PASSWORD = 8;
const MAX_PASSWORD = 1024;
const USERNAME = /^[A-Za-z0-9._@-]{1,64}$/;

const ROLE_HELP: Record<Role, string> = {
  viewer: 'sees sessions, packets, mails (no downloads) and summaries',
  admin: 'also settings, capture control, mail downloads, credential reveal, users and agents',
};

function passwordProblem(p: string): string | null {
  if (p.length < MIN_PASSWORD) return `at least ${MIN_PASSWORD} characters`;
  if (p.length > MAX_PASSWORD) return `at most ${MAX_PASSWORD} characters`;
  return null;
}

function UserRow({ user, self, onChanged }: { user: User; self: boolean; onChanged: () => Promise<void> }) {
  const [mode, setMode] = useState<'idle' | 'password' | 'delete'>('idle');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);

  const run = async (what: () => Promise<unknown>, done: string | null) => {
    setBusy(true);
    setError(null);
    setNote(null);
    try {
      await what();
      setMode('idle');
      setPassword('');
      setNote(done);
      await onChanged();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  const pwProblem = passwordProblem(password);
  const submitPassword = (e: FormEvent) => {
    e.preventDefault();
    if (pwProblem !== null) {
      setError(`password: ${pwProblem}`);
      return;
    }
    void run(() => api(`/users/${user.id}`, { method: 'PATCH', json: { password } }), self ? null : 'password changed: the user was signed out everywhere');
  };

  return (
    <tr data-testid="user-row" data-user-id={user.id} data-username={user.username}>
      <td>
        <strong>{user.username}</strong>
        {self && <span className="muted"> (you)</span>}
      </td>
      <td>
        <select
          name="role"
          aria-label={`role of ${user.username}`}
          data-testid="user-role-select"
          value={user.role}
          disabled={self || busy}
          title={self ? 'your own role is changed by another admin' : ROLE_HELP[user.role]}
          onChange={(e) => void run(() => api(`/users/${user.id}`, { method: 'PATCH', json: { role: e.target.value } }), `role changed to ${e.target.value}`)}
        >
          <option value="viewer">viewer</option>
          <option value="admin">admin</option>
        </select>
      </td>
      <td>{formatIso(user.createdAt)}</td>
      <td>
        <div className={styles.actions}>
          {mode === 'password' && (
            <form className={styles.actions} onSubmit={submitPassword} noValidate>
              <input
                type="password"
                name="password"
                data-testid="user-new-password"
                aria-label={`new password for ${user.username}`}
                placeholder={`new password (${MIN_PASSWORD}+ characters)`}
                autoComplete="new-password"
                autoFocus
                value={password}
                onChange={(e) => {
                  setPassword(e.target.value);
                  setError(null);
                }}
              />
              <button type="submit" className="primary" disabled={busy} data-testid="user-password-save">
                Set password
              </button>
              <button type="button" onClick={() => setMode('idle')}>
                Cancel
              </button>
            </form>
          )}
          {mode === 'delete' && (
            <span className={styles.confirm}>
              Delete {user.username}?
              <button type="button" className="danger" disabled={busy} data-testid="user-delete-confirm" onClick={() => void run(() => api(`/users/${user.id}`, { method: 'DELETE' }), null)}>
                Delete
              </button>
              <button type="button" onClick={() => setMode('idle')}>
                Cancel
              </button>
            </span>
          )}
          {mode === 'idle' && (
            <>
              <button type="button" data-testid="user-password" onClick={() => setMode('password')} title={self ? 'a new password signs you out everywhere, here too' : 'a new password signs the user out everywhere'}>
                Change password
              </button>
              <button type="button" data-testid="user-delete" disabled={self} title={self ? 'you cannot delete yourself: another admin can' : undefined} onClick={() => setMode('delete')}>
                Delete
              </button>
            </>
          )}
        </div>
        {mode === 'password' && self && <div className="field-help" style={{ textAlign: 'right' }}>This signs you out everywhere, here too: sign in again with the new password.</div>}
        {error !== null && (
          <div className={styles.rowError} role="alert" style={{ textAlign: 'right' }}>
            {error}
          </div>
        )}
        {note !== null && error === null && <div className="muted small" style={{ textAlign: 'right' }}>{note}</div>}
      </td>
    </tr>
  );
}

export function UsersPanel() {
  const me = useMe();
  const [users, setUsers] = useState<readonly User[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [form, setForm] = useState<{ username: string; password: string; role: Role }>({ username: '', password: '', role: 'viewer' });
  const [tried, setTried] = useState(false);
  const [busy, setBusy] = useState(false);
  const [createError, setCreateError] = useState<string | null>(null);
  const [created, setCreated] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const r = await api<{ users: User[] }>('/users');
      setUsers(r.users);
      setLoadError(null);
    } catch (e) {
      setLoadError(errorMessage(e));
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  const usernameError = form.username === '' ? 'required' : !USERNAME.test(form.username) ? 'letters, digits, . _ @ - only, at most 64' : null;
  const pwError = passwordProblem(form.password);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setTried(true);
    setCreated(null);
    if (usernameError !== null || pwError !== null) return;
    setBusy(true);
    setCreateError(null);
    try {
      const u = await api<User>('/users', { method: 'POST', json: form });
      setForm({ username: '', password: '', role: 'viewer' });
      setTried(false);
      setCreated(`${u.username} (${u.role}) created`);
      await load();
    } catch (err) {
      setCreateError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className={styles.section}>
      <form className={`card ${styles.inlineForm}`} onSubmit={(e) => void create(e)} noValidate>
        <div style={{ flexBasis: '100%' }}>
          <h2>Add a user</h2>
        </div>
        <label>
          User name
          <input
            name="username"
            data-testid="user-username"
            value={form.username}
            autoComplete="off"
            spellCheck={false}
            maxLength={64}
            aria-invalid={tried && usernameError !== null ? true : undefined}
            onChange={(e) => setForm({ ...form, username: e.target.value })}
          />
          {tried && usernameError !== null && <span className="field-error">{usernameError}</span>}
        </label>
        <label>
          Password
          <input
            type="password"
            name="password"
            data-testid="user-password-input"
            value={form.password}
            autoComplete="new-password"
            aria-invalid={tried && pwError !== null ? true : undefined}
            onChange={(e) => setForm({ ...form, password: e.target.value })}
          />
          {tried && pwError !== null && <span className="field-error">{pwError}</span>}
        </label>
        <label>
          Role
          <select name="role" data-testid="user-role" value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as Role })}>
            <option value="viewer">viewer</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <button type="submit" className="primary" data-testid="user-create" disabled={busy}>
          Create user
        </button>
        <span className="field-help" style={{ flexBasis: '100%' }}>
          A {form.role} {ROLE_HELP[form.role]}. Passwords: at least {MIN_PASSWORD} characters; give it to the user yourself, it is not shown again.
        </span>
        {createError !== null && (
          <span className="field-error" role="alert" style={{ flexBasis: '100%' }}>
            {createError}
          </span>
        )}
        {created !== null && (
          <span className="badge ok" role="status" data-testid="user-created">
            {created}
          </span>
        )}
      </form>

      <section className="card">
        <h2>Users</h2>
        {loadError !== null && (
          <div className="alert error" role="alert" style={{ marginBottom: 8 }}>
            Cannot load the users: {loadError}
          </div>
        )}
        {users === null ? (
          loadError === null && <div className="muted">Loading users…</div>
        ) : (
          <table className="grid">
            <thead>
              <tr>
                <th>User name</th>
                <th>Role</th>
                <th>Created</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {users.map((u) => (
                <UserRow key={u.id} user={u} self={u.id === me.id} onChanged={load} />
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
