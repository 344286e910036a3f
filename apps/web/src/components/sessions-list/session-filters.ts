/**
 * The sessions list's filters: their URL keys (the API's query names, apps/api/src/routes/sessions.ts),
 * the API query built from the valid ones, and whether a live session can match them.
 */
import type { UiSessionClosed, UiSessionOpened } from '@mailscope/shared/agent-protocol';
import type { FilterValues } from '../list-common/use-url-filters';
import { isMicros, parseAddress, parseMaxLength, parsePort, takeCaptureId, takeParsed, takeTimeRange } from '../list-common/validate';

/** A row of GET /api/sessions. */
export type { SessionRow } from '@/lib/api-types';

export const SESSION_FILTER_KEYS = ['protocol', 'outcome', 'address', 'port', 'user', 'text', 'from', 'to', 'captureId'] as const;
export type SessionFilterKey = (typeof SESSION_FILTER_KEYS)[number];
export type SessionFilterValues = FilterValues<SessionFilterKey>;

/** The engine's session outcomes (packages/protocols/src/session.ts) and how they read. */
export const OUTCOMES = [
  { value: 'delivered', label: 'delivered', tone: 'ok', title: 'the server accepted the mail (250 after DATA / BDAT)' },
  { value: 'retrieved', label: 'retrieved', tone: 'ok', title: 'the client fetched mail (POP3 RETR / TOP)' },
  { value: 'rejected', label: 'rejected', tone: 'fail', title: 'the server refused the mail or every recipient' },
  { value: 'auth-failed', label: 'auth failed', tone: 'fail', title: 'the login was refused and nothing else happened' },
  { value: 'incomplete', label: 'incomplete', tone: 'warn', title: 'the capture missed part of the dialogue (started late, gaps, or still open when the capture ended)' },
  { value: 'aborted', label: 'aborted', tone: 'warn', title: 'the connection was reset or closed mid-dialogue' },
  { value: 'encrypted', label: 'encrypted', tone: 'info', title: 'STARTTLS / STLS or TLS: the rest of the dialogue cannot be read' },
  { value: 'no-mail', label: 'no mail', tone: 'info', title: 'a complete dialogue that carried no mail' },
] as const;
export type Outcome = (typeof OUTCOMES)[number]['value'];

export function outcomeInfo(outcome: string | null): { label: string; tone: 'ok' | 'fail' | 'warn' | 'info'; title: string } | null {
  if (outcome === null) return null;
  return OUTCOMES.find((o) => o.value === outcome) ?? { label: outcome, tone: 'info', title: outcome };
}

/** The badge classes of an outcome (none: a plain badge; 'info' has no colour of its own). */
export function outcomeBadgeClass(outcome: string | null): string {
  const info = outcomeInfo(outcome);
  return info === null || info.tone === 'info' ? 'badge' : `badge ${info.tone}`;
}

export interface ParsedSessionFilters {
  /** The API query of the valid filters (undefined values are left out by qs()). */
  readonly query: Readonly<Partial<Record<SessionFilterKey, string>>>;
  /** Values in the URL that are not sent, with why. */
  readonly errors: Readonly<Partial<Record<SessionFilterKey, string>>>;
  /** Some filter is set (valid or not). */
  readonly active: boolean;
}

/** The API's limits on `user` and `text`, for the fields and for the URL. */
export const parseUser = parseMaxLength(256);
export const parseText = parseMaxLength(200);

export function parseSessionFilters(v: SessionFilterValues): ParsedSessionFilters {
  const query: Partial<Record<SessionFilterKey, string>> = {};
  const errors: Partial<Record<SessionFilterKey, string>> = {};
  if (v.protocol === 'smtp' || v.protocol === 'pop3') query.protocol = v.protocol;
  else if (v.protocol !== '') errors.protocol = `unknown protocol '${v.protocol}'`;
  if (v.outcome !== '') {
    if (OUTCOMES.some((o) => o.value === v.outcome)) query.outcome = v.outcome;
    else errors.outcome = `unknown outcome '${v.outcome.slice(0, 30)}'`;
  }
  takeParsed('address', parseAddress(v.address), query, errors);
  takeParsed('port', parsePort(v.port), query, errors);
  takeParsed('user', parseUser(v.user), query, errors);
  takeParsed('text', parseText(v.text), query, errors);
  takeTimeRange(v.from, v.to, query, errors);
  takeCaptureId(v.captureId, query, errors);
  return { query, errors, active: SESSION_FILTER_KEYS.some((k) => v[k] !== '') };
}

/** Filters the API applies that a live event cannot be checked against (the text search). */
export function needsServerCheck(q: ParsedSessionFilters['query']): boolean {
  return q.text !== undefined;
}

const inRange = (q: ParsedSessionFilters['query'], ts: number): boolean =>
  (q.from === undefined || !isMicros(q.from) || ts >= Number(q.from)) && (q.to === undefined || !isMicros(q.to) || ts <= Number(q.to));

/** Whether what session:opened says (capture, protocol, endpoints, start) matches the filters. */
export function endpointsMatch(e: UiSessionOpened, q: ParsedSessionFilters['query']): boolean {
  if (q.captureId !== undefined && e.captureId.toLowerCase() !== q.captureId) return false;
  if (q.protocol !== undefined && e.protocol !== q.protocol) return false;
  if (q.address !== undefined && e.client.addr !== q.address && e.server.addr !== q.address) return false;
  if (q.port !== undefined && String(e.client.port) !== q.port && String(e.server.port) !== q.port) return false;
  return inRange(q, e.startTs);
}

/**
 * Whether a session just opened can match: its outcome and user are not known yet, so a filter
 * on either waits for session:closed.
 */
export function openedMayMatch(e: UiSessionOpened, q: ParsedSessionFilters['query']): boolean {
  return q.outcome === undefined && q.user === undefined && endpointsMatch(e, q);
}

/**
 * Whether a session just closed can match, from what its close says and, when it was seen,
 * what its opening said (a close alone names no endpoint).
 */
export function closedMayMatch(e: UiSessionClosed, q: ParsedSessionFilters['query'], opened: UiSessionOpened | undefined): boolean {
  if (q.captureId !== undefined && e.captureId.toLowerCase() !== q.captureId) return false;
  if (q.outcome !== undefined && e.outcome !== q.outcome) return false;
  if (q.user !== undefined && e.authUser !== q.user) return false;
  return opened === undefined || endpointsMatch(opened, q);
}
