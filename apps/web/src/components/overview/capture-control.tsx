'use client';
/**
 * Start / stop a live capture on an agent (admins), or the capture's state read-only (viewers).
 * The state word and the error are what a user looks for first, so they sit on top, in words.
 */
import Link from 'next/link';
import { useEffect, useState, useSyncExternalStore, type FormEvent } from 'react';
import { api, errorMessage } from '@/lib/api';
import { formatDuration } from '@/lib/format';
import { captureHint } from './capture-hints';
import { loadPrefs, savePrefs } from './capture-prefs';
import type { AgentRow, CaptureRow } from './capture-types';
import { interfacesOf, isActive } from './capture-types';
import type { LiveCaptures } from './use-captures';
import { useAgents } from './use-captures';
import styles from './overview.module.css';

/** The capture the read-only view and the counters follow: the newest running one, else the newest. */
export function focusCapture(captures: readonly CaptureRow[] | null): CaptureRow | null {
  if (captures === null) return null;
  return captures.find(isActive) ?? captures[0] ?? null;
}

const clock = (iso: string | null): string => {
  if (iso === null) return '';
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString('en-GB') : d.toLocaleString('en-GB');
};

function Ago({ iso }: { iso: string }) {
  // Re-rendered by the capture's status every second while it runs; good enough for a duration.
  const ms = Date.now() - new Date(iso).getTime();
  return <>{formatDuration(Math.max(0, ms) * 1000).replace(/\.\d+ s$/, ' s')}</>;
}

/** The state word (testid capture-state) and where the capture runs. */
function CaptureState({ capture, pending }: { capture: CaptureRow | null; pending: 'start' | 'stop' | null }) {
  const word = pending === 'start' ? 'starting' : pending === 'stop' ? 'stopping' : capture?.status ?? 'idle';
  const cls = word === 'running' ? styles.running : word === 'failed' ? styles.failed : word === 'starting' || word === 'stopping' ? styles.busy : styles.idle;
  return (
    <div className={styles.stateLine}>
      <span className={`${styles.stateWord} ${cls}`} data-testid="capture-state">
        {word === 'idle' ? 'no capture yet' : word}
      </span>
      {capture !== null && pending !== 'start' ? (
        <span className="muted">
          {capture.agentName ?? 'agent removed'} · <span className="mono">{capture.interface ?? '?'}</span>
          {capture.filter === '' ? null : (
            <>
              {' '}· filter <span className="mono">{capture.filter}</span>
            </>
          )}
          {' '}·{' '}
          {isActive(capture) ? (
            <>
              since {clock(capture.startedAt)} (<Ago iso={capture.startedAt} />)
            </>
          ) : (
            <>
              started {clock(capture.startedAt)}
              {capture.stoppedAt === null ? null : `, ended ${clock(capture.stoppedAt)}`}
            </>
          )}
        </span>
      ) : null}
    </div>
  );
}

function CaptureError({ message, failed }: { message: string; failed: boolean }) {
  const hint = captureHint(message);
  return (
    <div className={`alert ${failed ? 'error' : 'warn'} ${styles.captureError}`} data-testid="capture-error" role="alert">
      <strong>{failed ? 'Capture failed: ' : 'Note: '}</strong>
      {message}
      {hint === null ? null : <div className={styles.hint}>{hint}</div>}
    </div>
  );
}

const noHost = () => () => undefined;

/** How to start an agent: the command with this dashboard's host filled in. */
export function NoAgent({ agents }: { agents: readonly AgentRow[] }) {
  const host = useSyncExternalStore(noHost, () => window.location.hostname, () => 'HOST');
  const offline = agents.filter((a) => !a.connected);
  return (
    <div className={`empty ${styles.noAgent}`} data-testid="no-agent">
      <strong>No capture agent is connected</strong>
      <p>Start one on the host whose mail traffic you want to see:</p>
      <pre className={styles.command}>npx mailscope-agent run --api http://{host}:3001 --token TOKEN</pre>
      <p>
        Create the token under <Link href="/settings">Settings › Agent tokens</Link> (it is shown once). Capturing needs root or
        the CAP_NET_RAW capability. The agent appears here within a few seconds.
      </p>
      {offline.length === 0 ? null : (
        <p className="small">
          Known agents, not connected:{' '}
          {offline.map((a, i) => (
            <span key={a.id}>
              {i > 0 ? ', ' : ''}
              <span className="mono">{a.name}</span>
              {a.lastSeen === null ? ' (never connected)' : ` (last seen ${clock(a.lastSeen)})`}
            </span>
          ))}
        </p>
      )}
    </div>
  );
}

function interfaceLabel(i: { name: string; description: string | null; addresses: readonly string[] }): string {
  const addr = i.addresses.slice(0, 2).join(', ');
  const desc = i.description !== null && i.description !== i.name ? i.description : '';
  return [i.name, addr || desc].filter((s) => s !== '').join(' — ');
}

export function AdminCaptureControl({ live }: { live: LiveCaptures }) {
  const { agents, error: agentsError, reload: reloadAgents } = useAgents(true);
  const [agentId, setAgentId] = useState<string | null>(null);
  const [prefAgent, setPrefAgent] = useState<string | undefined>(undefined);
  const [ifaceByAgent, setIfaceByAgent] = useState<Record<string, string>>({});
  const [filter, setFilter] = useState('');
  const [pending, setPending] = useState<'start' | 'stop' | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);

  useEffect(() => {
    // localStorage exists only in the browser: read after the first render.
    const p = loadPrefs();
    setPrefAgent(p.agentId);
    setIfaceByAgent(p.interfaces ?? {});
    setFilter(p.filter ?? '');
  }, []);

  const captures = live.captures ?? [];
  const runningAny = captures.find((c) => isActive(c) && c.agentId !== null);
  const agent =
    agents?.find((a) => a.id === agentId) ??
    agents?.find((a) => a.id === runningAny?.agentId) ??
    agents?.find((a) => a.id === prefAgent && a.connected) ??
    agents?.find((a) => a.connected) ??
    null;
  const mine = agent === null ? [] : captures.filter((c) => c.agentId === agent.id);
  const current = mine.find(isActive) ?? mine[0] ?? null;
  const running = current !== null && isActive(current);

  const ifaces = agent === null ? [] : interfacesOf(agent);
  const remembered = agent === null ? undefined : ifaceByAgent[agent.id];
  const chosenIface = ifaces.find((i) => i.name === remembered)?.name ?? ifaces.find((i) => !i.loopback)?.name ?? ifaces[0]?.name ?? '';
  const shownIface = running ? (current.interface ?? '') : chosenIface;
  const shownFilter = running ? current.filter : filter;

  if (agents === null) {
    return (
      <section className={`card ${styles.control}`}>
        <h2>Capture</h2>
        {agentsError === null ? <p className="muted">Loading agents…</p> : <div className="alert error">Cannot list the agents: {agentsError}</div>}
      </section>
    );
  }
  if (!agents.some((a) => a.connected) && runningAny === undefined) {
    const last = focusCapture(live.captures);
    return (
      <section className={`card ${styles.control}`}>
        <div className={styles.controlHead}>
          <h2>Capture</h2>
          <CaptureState capture={last} pending={null} />
        </div>
        {last?.status === 'failed' && last.error !== null ? <CaptureError message={last.error} failed /> : null}
        <NoAgent agents={agents} />
      </section>
    );
  }

  const start = async (e?: FormEvent) => {
    e?.preventDefault();
    if (agent === null || chosenIface === '' || pending !== null || running) return;
    setPending('start');
    setActionError(null);
    try {
      const row = await api<CaptureRow>('/captures', { method: 'POST', json: { agentId: agent.id, interface: chosenIface, filter: filter.trim() } });
      live.upsert(row);
      savePrefs((p) => ({ ...p, agentId: agent.id, interfaces: { ...p.interfaces, [agent.id]: chosenIface }, filter: filter.trim() }));
    } catch (err) {
      setActionError(errorMessage(err));
      // The API recorded the failed capture; show it in the list and in the state.
      live.reload();
      reloadAgents();
    } finally {
      setPending(null);
    }
  };

  const stop = async () => {
    if (current === null || !running || pending !== null) return;
    setPending('stop');
    setActionError(null);
    try {
      live.upsert(await api<CaptureRow>(`/captures/${current.id}/stop`, { method: 'POST' }));
    } catch (err) {
      setActionError(errorMessage(err));
      live.reload();
    } finally {
      setPending(null);
    }
  };

  const errorText = actionError ?? (current !== null && pending === null ? current.error : null);
  const failed = actionError !== null || current?.status === 'failed';
  const locked = running || pending !== null;

  return (
    <section className={`card ${styles.control}`}>
      <div className={styles.controlHead}>
        <h2>Capture</h2>
        <CaptureState capture={current} pending={pending} />
      </div>
      <form className={`toolbar ${styles.form}`} onSubmit={(e) => void start(e)}>
        <label>
          Agent
          <select
            data-testid="capture-agent"
            value={agent?.id ?? ''}
            disabled={locked}
            onChange={(e) => {
              setAgentId(e.target.value);
              setActionError(null);
            }}
          >
            {agents.map((a) => (
              <option key={a.id} value={a.id} disabled={!a.connected && !captures.some((c) => c.agentId === a.id && isActive(c))}>
                {a.name}
                {a.host !== '' && a.host !== a.name ? ` (${a.host})` : ''}
                {a.connected ? '' : ' — not connected'}
              </option>
            ))}
          </select>
        </label>
        <label>
          Interface
          <select
            data-testid="capture-interface"
            value={shownIface}
            disabled={locked || ifaces.length === 0}
            onChange={(e) => {
              const name = e.target.value;
              if (agent === null) return;
              setIfaceByAgent((m) => ({ ...m, [agent.id]: name }));
              savePrefs((p) => ({ ...p, agentId: agent.id, interfaces: { ...p.interfaces, [agent.id]: name } }));
            }}
          >
            {ifaces.length === 0 ? <option value="">no interfaces reported</option> : null}
            {running && !ifaces.some((i) => i.name === shownIface) ? <option value={shownIface}>{shownIface}</option> : null}
            {ifaces.map((i) => (
              <option key={i.name} value={i.name}>
                {interfaceLabel(i)}
              </option>
            ))}
          </select>
        </label>
        <label className={styles.filter}>
          Capture filter (BPF, optional)
          <input
            data-testid="capture-filter"
            value={shownFilter}
            maxLength={2048}
            disabled={locked}
            placeholder="e.g. host 192.0.2.10"
            spellCheck={false}
            onChange={(e) => setFilter(e.target.value)}
          />
        </label>
        <button type="submit" className="primary" data-testid="capture-start" disabled={locked || agent === null || !agent.connected || chosenIface === ''}>
          Start
        </button>
        <button type="button" className="danger" data-testid="capture-stop" disabled={!running || pending !== null} onClick={() => void stop()}>
          Stop
        </button>
      </form>
      <p className="field-help">
        The filter is ANDed with the SMTP / POP3 ports of <Link href="/settings">Settings</Link>; the agent checks it when the capture starts.
      </p>
      {agent !== null && !agent.connected && running ? (
        <div className="alert warn">Agent {agent.name} is not connected: nothing is captured until it is back. Stop ends the capture anyway.</div>
      ) : null}
      {errorText === null ? null : <CaptureError message={errorText} failed={failed} />}
      {live.error === null ? null : <div className="alert error">Cannot load the captures: {live.error}</div>}
    </section>
  );
}

/** Viewers: the capture's state, no controls. */
export function ViewerCaptureState({ live }: { live: LiveCaptures }) {
  const current = focusCapture(live.captures);
  return (
    <section className={`card ${styles.control}`}>
      <div className={styles.controlHead}>
        <h2>Capture</h2>
        <CaptureState capture={current} pending={null} />
      </div>
      <p className="field-help">Starting and stopping captures needs the admin role.</p>
      {current?.error == null ? null : <CaptureError message={current.error} failed={current.status === 'failed'} />}
      {live.error === null ? null : <div className="alert error">Cannot load the captures: {live.error}</div>}
    </section>
  );
}
