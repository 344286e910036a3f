'use client';
/**
 * Capture agents (apps/api/src/routes/agents.ts): register one and get its token, which is shown
 * here once (the API keeps only its hash) with the command that runs the agent; rotate a token;
 * revoke an agent. Connection state is polled while the page is visible (the /ui socket has no
 * agent events).
 */
import { useCallback, useEffect, useState, useSyncExternalStore, type FormEvent } from 'react';
import { interfacesOf, type AgentInterfaceInfo, type AgentRow } from '@/components/overview/capture-types';
import { api, errorMessage } from '@/lib/api';
import { CopyButton } from './copy-button';
import styles from './settings.module.css';
import { formatAgo, formatIso } from './when';

interface WithToken {
  readonly agent: AgentRow;
  readonly token: string;
}

const POLL_MS = 10_000;
const NAME_PATTERN = /^[A-Za-z0-9._-]+$/;

const noSubscribe = () => () => undefined;
/** This dashboard's origin: Next passes /socket.io/ (the agent's /agent namespace) on to the API. */
function useOrigin(): string {
  return useSyncExternalStore(noSubscribe, () => window.location.origin, () => 'http://HOST:3000');
}

function interfaceText(i: AgentInterfaceInfo): string {
  return i.addresses.length > 0 ? `${i.name} (${i.addresses.join(', ')})` : i.name;
}

function InterfacesCell({ agent }: { agent: AgentRow }) {
  const interfaces = interfacesOf(agent);
  return (
    <td className={styles.interfaces} title={interfaces.map(interfaceText).join('\n')}>
      {interfaces.length === 0 ? (
        <span className="muted">–</span>
      ) : (
        <>
          {interfaces.slice(0, 3).map((i, n) => (
            <div key={n} className="small">
              {interfaceText(i)}
            </div>
          ))}
          {interfaces.length > 3 && <div className="muted small">+{interfaces.length - 3} more</div>}
        </>
      )}
    </td>
  );
}

function suggestName(agents: readonly AgentRow[]): string {
  const taken = new Set(agents.map((a) => a.name));
  for (let n = agents.length + 1; ; n++) if (!taken.has(`agent-${n}`)) return `agent-${n}`;
}

function TokenPanel({ shown, onDone }: { shown: { name: string; token: string; rotated: boolean }; onDone: () => void }) {
  const origin = useOrigin();
  const command = `npx mailscope-agent run --api ${origin} --token ${shown.token}`;
  return (
    <div className={`card ${styles.token}`} data-testid="agent-token-panel" role="status">
      <div>
        <strong>
          {shown.rotated ? 'New token' : 'Token'} for {shown.name}: copy it now.
        </strong>{' '}
        <span className="muted">It is shown this once: the API keeps only its SHA-256.{shown.rotated ? ' The old token no longer works; the agent was disconnected.' : ''}</span>
      </div>
      <div className={styles.tokenValue}>
        <code className="mono" data-testid="agent-token">
          {shown.token}
        </code>
        <CopyButton text={shown.token} label="Copy token" testId="agent-token-copy" />
      </div>
      <div className="small">Run the agent on the host whose traffic you want to capture:</div>
      <div className={styles.tokenValue}>
        <pre className={`mono ${styles.command}`} data-testid="agent-command">
          {command}
        </pre>
        <CopyButton text={command} label="Copy command" testId="agent-command-copy" />
      </div>
      <div className="field-help">
        --api is this dashboard ({origin}), which passes the agent on to the API; the API itself works too (http://HOST:3001). Capturing needs root or
        cap_net_raw,cap_net_admin on node, and libpcap.
      </div>
      <div>
        <button type="button" onClick={onDone} data-testid="agent-token-done">
          I have copied it: hide the token
        </button>
      </div>
    </div>
  );
}

export function AgentsPanel() {
  const [agents, setAgents] = useState<readonly AgentRow[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [nameTouched, setNameTouched] = useState(false);
  const [createError, setCreateError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [shown, setShown] = useState<{ name: string; token: string; rotated: boolean } | null>(null);
  const [confirm, setConfirm] = useState<{ id: string; action: 'rotate' | 'delete' } | null>(null);
  const [rowError, setRowError] = useState<{ id: string; message: string } | null>(null);
  const [now, setNow] = useState(() => Date.now());

  const load = useCallback(async () => {
    try {
      const r = await api<{ agents: AgentRow[] }>('/agents');
      setAgents(r.agents);
      setLoadError(null);
      setNow(Date.now());
    } catch (e) {
      setLoadError(errorMessage(e));
    }
  }, []);

  useEffect(() => {
    void load();
    const t = window.setInterval(() => {
      if (document.visibilityState === 'visible') void load();
    }, POLL_MS);
    return () => window.clearInterval(t);
  }, [load]);

  const proposed = agents === null ? '' : suggestName(agents);
  const value = nameTouched ? name : proposed;
  const nameError = value === '' ? 'give the agent a name' : !NAME_PATTERN.test(value) ? 'letters, digits, . _ - only (it is used in logs and on the command line)' : value.length > 100 ? 'at most 100 characters' : null;

  const create = async (e: FormEvent) => {
    e.preventDefault();
    if (nameError !== null) {
      setCreateError(nameError);
      return;
    }
    setBusy(true);
    setCreateError(null);
    try {
      const r = await api<WithToken>('/agents', { method: 'POST', json: { name: value } });
      setShown({ name: r.agent.name, token: r.token, rotated: false });
      setName('');
      setNameTouched(false);
      await load();
    } catch (err) {
      setCreateError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const act = async (agent: AgentRow, action: 'rotate' | 'delete') => {
    setRowError(null);
    setBusy(true);
    try {
      if (action === 'rotate') {
        const r = await api<WithToken>(`/agents/${agent.id}/rotate`, { method: 'POST' });
        setShown({ name: r.agent.name, token: r.token, rotated: true });
      } else {
        await api(`/agents/${agent.id}`, { method: 'DELETE' });
        if (shown?.name === agent.name) setShown(null);
      }
      setConfirm(null);
      await load();
    } catch (err) {
      setRowError({ id: agent.id, message: errorMessage(err) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className={styles.section}>
      <form className={`card ${styles.inlineForm}`} onSubmit={(e) => void create(e)} noValidate>
        <div style={{ flexBasis: '100%' }}>
          <h2>Register an agent</h2>
          <p className="muted small" style={{ margin: 0 }}>
            An agent captures on one host and sends what it sees to the API. Registering it gives the token it signs in with.
          </p>
        </div>
        <label>
          Name
          <input
            name="name"
            data-testid="agent-name"
            value={value}
            maxLength={100}
            spellCheck={false}
            autoComplete="off"
            aria-invalid={nameTouched && nameError !== null ? true : undefined}
            onChange={(e) => {
              setNameTouched(true);
              setName(e.target.value);
              setCreateError(null);
            }}
          />
        </label>
        <button type="submit" className="primary" data-testid="agent-create" disabled={busy}>
          Create agent token
        </button>
        {nameTouched && nameError !== null ? (
          <span className="field-error">{nameError}</span>
        ) : (
          <span className="field-help">Letters, digits, . _ - (e.g. the host name).</span>
        )}
        {createError !== null && (
          <span className="field-error" role="alert" style={{ flexBasis: '100%' }}>
            {createError}
          </span>
        )}
      </form>

      {shown !== null && <TokenPanel shown={shown} onDone={() => setShown(null)} />}

      <section className="card">
        <h2>Agents</h2>
        {loadError !== null && (
          <div className="alert error" role="alert" style={{ marginBottom: 8 }}>
            Cannot load the agents: {loadError}
          </div>
        )}
        {agents === null ? (
          loadError === null && <div className="muted">Loading agents…</div>
        ) : agents.length === 0 ? (
          <div className="empty" data-testid="agents-empty">
            <strong>No agent registered</strong>
            Create a token above and run the command it shows on the host to capture on.
          </div>
        ) : (
          <table className="grid">
            <thead>
              <tr>
                <th>Name</th>
                <th>State</th>
                <th>Host</th>
                <th>Last seen</th>
                <th>Version</th>
                <th>Interfaces</th>
                <th>Registered</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {agents.map((a) => (
                <tr key={a.id} data-testid="agent-row" data-agent-id={a.id}>
                  <td>
                    <strong>{a.name}</strong>
                  </td>
                  <td>{a.connected ? <span className="badge ok">connected</span> : <span className="badge">offline</span>}</td>
                  <td>{a.host !== '' ? a.host : <span className="muted">not connected yet</span>}</td>
                  <td title={formatIso(a.lastSeen)}>{a.connected ? 'now' : formatAgo(a.lastSeen, now)}</td>
                  <td>{a.version !== '' ? a.version : <span className="muted">–</span>}</td>
                  <InterfacesCell agent={a} />
                  <td>{formatIso(a.createdAt)}</td>
                  <td>
                    <div className={styles.actions}>
                      {confirm?.id === a.id ? (
                        <span className={styles.confirm}>
                          {confirm.action === 'rotate' ? 'Replace the token? The agent is disconnected until it uses the new one.' : `Revoke ${a.name}? Its captures stay.`}
                          <button type="button" className="danger" disabled={busy} data-testid={`agent-${confirm.action}-confirm`} onClick={() => void act(a, confirm.action)}>
                            {confirm.action === 'rotate' ? 'Rotate' : 'Delete'}
                          </button>
                          <button type="button" onClick={() => setConfirm(null)}>
                            Cancel
                          </button>
                        </span>
                      ) : (
                        <>
                          <button type="button" data-testid="agent-rotate" onClick={() => setConfirm({ id: a.id, action: 'rotate' })}>
                            Rotate token
                          </button>
                          <button type="button" data-testid="agent-delete" onClick={() => setConfirm({ id: a.id, action: 'delete' })}>
                            Delete
                          </button>
                        </>
                      )}
                    </div>
                    {rowError?.id === a.id && <div className={styles.rowError}>{rowError.message}</div>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
