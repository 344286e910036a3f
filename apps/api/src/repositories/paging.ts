/** Keyset paging cursors and the time bounds of list filters. */
import { badRequest } from '../http-errors.ts';

/**
 * An opaque cursor: the sort key of the last row of a page (base64url JSON). Clients must not
 * build or read one; it may change between versions.
 */
export function encodeCursor(key: readonly (string | number | bigint)[]): string {
  return Buffer.from(JSON.stringify(key.map(String)), 'utf8').toString('base64url');
}

/** The key of `cursor`, checked to be `patterns.length` strings each matching its pattern; 400 otherwise. */
export function decodeCursor(cursor: string, patterns: readonly RegExp[]): string[] {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    key = undefined;
  }
  if (!Array.isArray(key) || key.length !== patterns.length || !key.every((k, i) => typeof k === 'string' && patterns[i]!.test(k))) {
    throw badRequest('cursor is not valid: pass the `next` value of the previous page unchanged');
  }
  return key as string[];
}

export const DIGITS = /^-?[0-9]{1,19}$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** µs since the epoch from digits (µs) or an ISO 8601 date-time; 400 naming `field` otherwise. */
export function parseTimeBound(text: string | undefined, field: string): bigint | undefined {
  if (text === undefined || text === '') return undefined;
  if (/^[0-9]{1,17}$/.test(text)) return BigInt(text);
  // ISO only (a date, or date and time): Date.parse would also take 'May 1' and guess a year.
  const ms = /^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.]+(Z|[+-][0-9]{2}:?[0-9]{2})?)?$/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) throw badRequest(`${field}: '${text}' is not a time: give µs since the epoch or ISO 8601 such as 2024-05-01T10:00:00Z`);
  return BigInt(ms) * 1000n;
}
