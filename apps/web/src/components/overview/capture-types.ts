/** Shapes of GET /api/captures and GET /api/agents (apps/api/src/routes/captures.ts, agents.ts). */

export interface CaptureRow {
  readonly id: string;
  readonly agentId: string | null;
  readonly agentName: string | null;
  readonly source: 'live' | 'upload';
  readonly interface: string | null;
  readonly filter: string;
  readonly fileName: string | null;
  /** ISO date-time. */
  readonly startedAt: string;
  readonly stoppedAt: string | null;
  /** Live: running, stopped, failed; upload: queued, analysing, done, failed (agent import: running, stopped). */
  readonly status: string;
  readonly error: string | null;
  readonly packets: number;
  readonly drops: number;
  readonly sessions: number;
  readonly mails: number;
  readonly bytes: number;
}

export interface AgentInterfaceInfo {
  readonly name: string;
  readonly description: string | null;
  readonly addresses: readonly string[];
  readonly loopback: boolean;
}

export interface AgentRow {
  readonly id: string;
  readonly name: string;
  readonly host: string;
  readonly version: string;
  /** As the agent reported them: { name, description?, addresses }. */
  readonly interfaces: readonly unknown[];
  readonly lastSeen: string | null;
  readonly createdAt: string;
  readonly connected: boolean;
}

/** An agent's interfaces, read defensively (the API passes them through as the agent sent them). */
export function interfacesOf(agent: AgentRow): AgentInterfaceInfo[] {
  const out: AgentInterfaceInfo[] = [];
  for (const raw of agent.interfaces) {
    if (raw === null || typeof raw !== 'object') continue;
    const r = raw as { name?: unknown; description?: unknown; addresses?: unknown };
    if (typeof r.name !== 'string' || r.name === '') continue;
    const addresses = Array.isArray(r.addresses) ? r.addresses.filter((a): a is string => typeof a === 'string') : [];
    const description = typeof r.description === 'string' && r.description !== '' ? r.description : null;
    const loopback =
      /^lo[0-9]*$/.test(r.name) ||
      /loopback/i.test(description ?? '') ||
      (addresses.length > 0 && addresses.every((a) => a.startsWith('127.') || a === '::1'));
    out.push({ name: r.name, description, addresses, loopback });
  }
  return out;
}

/** The capture's state word for the dashboard. */
export function isActive(c: CaptureRow): boolean {
  return c.status === 'running' || c.status === 'starting' || c.status === 'queued' || c.status === 'analysing';
}

/** Badge class for a capture state. */
export function stateBadge(status: string): string {
  switch (status) {
    case 'running':
    case 'analysing':
    case 'starting':
      return 'badge ok';
    case 'done':
    case 'stopped':
      return 'badge';
    case 'queued':
      return 'badge warn';
    case 'failed':
      return 'badge fail';
    default:
      return 'badge';
  }
}
