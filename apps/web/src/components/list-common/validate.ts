/**
 * Filter values checked before they reach the URL and the API, with the API's own limits
 * (apps/api/src/routes/sessions.ts, packets.ts), so the user sees the problem at the field instead
 * of a 400 for the whole list.
 */
import { fromLocalInput, toLocalInput } from '@/lib/format';
import type { ParseResult } from './FilterFields';

const ok = (value: string): ParseResult => ({ ok: true, value });
const fail = (error: string): ParseResult => ({ ok: false, error });

export function parsePort(text: string): ParseResult {
  if (text === '') return ok('');
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) return fail('1 to 65535');
  return ok(String(Number(text)));
}

const IPV4 = /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/;

/**
 * A whole IPv4 or IPv6 address: the API matches addresses exactly, so `192.0.2` would quietly
 * match nothing. IPv6 is lower-cased, as the engine writes it.
 */
export function parseAddress(text: string): ParseResult {
  if (text === '') return ok('');
  if (IPV4.test(text)) return ok(text);
  if (text.includes(':') && /^[0-9a-fA-F:.]{2,45}$/.test(text) && !text.includes(':::')) {
    const v6 = text.toLowerCase();
    if (v6.includes('::') || v6.split(':').length === 8) return ok(v6);
  }
  return fail('a whole IPv4 or IPv6 address');
}

export function parseMaxLength(max: number): (text: string) => ParseResult {
  return (text) => (text.length > max ? fail(`at most ${max} characters`) : ok(text));
}

export function isUuid(text: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text);
}

export function isId(text: string): boolean {
  return /^[0-9]{1,18}$/.test(text);
}

/** A URL time bound: µs since the epoch as digits. */
export function isMicros(text: string): boolean {
  return /^[0-9]{1,17}$/.test(text);
}

/** A datetime-local draft -> µs (as the URL keeps it). */
export function parseLocalTime(text: string): ParseResult {
  if (text === '') return ok('');
  const us = fromLocalInput(text);
  return us === null ? fail('not a date and time') : ok(String(us));
}

/** µs in the URL -> a datetime-local draft. */
export function microsToLocal(value: string): string {
  return isMicros(value) ? toLocalInput(Number(value)) : value;
}

type Query<K extends string> = Partial<Record<K, string>>;

/** A parsed URL filter into a list's API query (when set) or its errors. */
export function takeParsed<K extends string>(key: K, r: ParseResult, query: Query<K>, errors: Query<K>): void {
  if (!r.ok) errors[key] = r.error;
  else if (r.value !== '') query[key] = r.value;
}

/** `captureId` of the URL into a list's API query, or its error. */
export function takeCaptureId<K extends string>(captureId: string, query: Query<K | 'captureId'>, errors: Query<K | 'captureId'>): void {
  if (captureId === '') return;
  if (isUuid(captureId)) query.captureId = captureId.toLowerCase();
  else errors.captureId = 'not a capture id';
}

/** `from` / `to` of the URL into a list's API query (`to` only with a valid `from`), or their errors. */
export function takeTimeRange<K extends string>(from: string, to: string, query: Query<K | 'from' | 'to'>, errors: Query<K | 'from' | 'to'>): void {
  const range = timeRangeErrors(from, to);
  if (range.from !== undefined) errors.from = range.from;
  if (range.to !== undefined) errors.to = range.to;
  if (from !== '' && range.from === undefined) query.from = from;
  if (to !== '' && range.to === undefined && range.from === undefined) query.to = to;
}

/** The errors of a from/to pair in the URL (bad values, or the range the wrong way round). */
function timeRangeErrors(from: string, to: string): { from?: string; to?: string } {
  const out: { from?: string; to?: string } = {};
  if (from !== '' && !isMicros(from)) out.from = 'not a time';
  if (to !== '' && !isMicros(to)) out.to = 'not a time';
  if (out.from === undefined && out.to === undefined && from !== '' && to !== '' && Number(from) > Number(to)) out.to = 'before From';
  return out;
}
