/**
 * Port lists as the mail-module settings write them: `25;587;2525`, `110;1110`. Parsed once at the
 * edge (settings form, API, CLI) into integers; nothing past the edge sees the text.
 */

/** The result of parsing a port list: the ports in the order given, or one message saying what is wrong. */
export type PortListResult =
  | { readonly ok: true; readonly ports: number[] }
  | { readonly ok: false; readonly error: string };

export interface PortListOptions {
  /** Accept a list with no port in it (blank text); off by default, where it is an error. */
  readonly allowEmpty?: boolean;
}

/** Longest text accepted: every port once with its separator is 65535 * 6 characters. */
export const MAX_PORT_LIST_CHARS = 65535 * 6;

/**
 * Parses a port list. Grammar: items separated by `;` (the canonical separator), `,` or white
 * space, in any mix; white space around items and a leading or trailing separator are ignored
 * (`" 25 ; 587; "` is `[25, 587]`). An item is decimal digits only (leading zeros allowed) with a
 * value 1-65535. Each port at most once. Order is kept. Never throws.
 *
 * Errors name the first offending item, e.g. `'70000' is not a port: ports are 1-65535`,
 * `'smtp' is not a port: ports are whole numbers 1-65535`, `port 110 is listed twice`,
 * `no port given` (unless `allowEmpty`).
 */
export function parsePortList(text: string, options: PortListOptions = {}): PortListResult {
  if (typeof text !== 'string') return { ok: false, error: 'a port list must be text such as 25;587' };
  if (text.length > MAX_PORT_LIST_CHARS) {
    return { ok: false, error: `the port list is too long (${text.length} characters, at most ${MAX_PORT_LIST_CHARS})` };
  }
  const items = text.split(/[;,\s]+/).filter((item) => item !== '');
  if (items.length === 0) {
    return options.allowEmpty === true ? { ok: true, ports: [] } : { ok: false, error: 'no port given: list ports such as 25;587' };
  }
  const seen = new Set<number>();
  const ports: number[] = [];
  for (const item of items) {
    const shown = item.length > 20 ? `${item.slice(0, 20)}...` : item;
    if (!/^[0-9]+$/.test(item)) return { ok: false, error: `'${shown}' is not a port: ports are whole numbers 1-65535` };
    const port = Number(item);
    if (port < 1 || port > 65535) return { ok: false, error: `'${shown}' is not a port: ports are 1-65535` };
    if (seen.has(port)) return { ok: false, error: `port ${port} is listed twice` };
    seen.add(port);
    ports.push(port);
  }
  return { ok: true, ports };
}

/** The canonical text of a port list: ports joined by `;`, in the order given (`[25, 587]` → `25;587`). */
export function formatPortList(ports: readonly number[]): string {
  return ports.join(';');
}
