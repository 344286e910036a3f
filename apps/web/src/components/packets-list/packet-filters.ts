/** The packet list's filters: URL keys (the API's names, apps/api/src/routes/packets.ts) and the API query of the valid ones. */
import type { FilterValues } from '../list-common/use-url-filters';
import { isId, parseAddress, parsePort, takeCaptureId, takeParsed, takeTimeRange } from '../list-common/validate';

export const PACKET_FILTER_KEYS = ['protocol', 'address', 'port', 'flags', 'payload', 'analysis', 'sessionId', 'captureId', 'from', 'to'] as const;
export type PacketFilterKey = (typeof PACKET_FILTER_KEYS)[number];
export type PacketFilterValues = FilterValues<PacketFilterKey>;

export const PROTOCOLS = ['SMTP', 'POP3', 'TCP', 'UDP', 'ICMP', 'ICMPv6', 'ARP'] as const;

/** Flag filters people ask for; `flags` in the URL may also hold another combination. */
export const FLAG_PRESETS = [
  { value: 'SYN,!ACK', label: 'SYN (connection attempts)' },
  { value: 'SYN,ACK', label: 'SYN+ACK (accepted)' },
  { value: 'FIN', label: 'FIN (closing)' },
  { value: 'RST', label: 'RST (resets)' },
  { value: 'PSH', label: 'PSH' },
] as const;

export const ANALYSIS = [
  { value: 'any', label: 'any problem' },
  { value: 'retransmission', label: 'retransmission' },
  { value: 'out-of-order', label: 'out of order' },
  { value: 'overlap', label: 'overlap' },
  { value: 'keep-alive', label: 'keep-alive' },
  { value: 'zero-window', label: 'zero window' },
] as const;

const FLAG_EXPR = /^!?(FIN|SYN|RST|PSH|ACK|URG|ECE|CWR)(,!?(FIN|SYN|RST|PSH|ACK|URG|ECE|CWR))*$/;

export interface ParsedPacketFilters {
  readonly query: Readonly<Partial<Record<PacketFilterKey, string>>>;
  readonly errors: Readonly<Partial<Record<PacketFilterKey, string>>>;
  readonly active: boolean;
}

export function parsePacketFilters(v: PacketFilterValues): ParsedPacketFilters {
  const query: Partial<Record<PacketFilterKey, string>> = {};
  const errors: Partial<Record<PacketFilterKey, string>> = {};
  if (v.protocol !== '') {
    if (/^[A-Za-z0-9]{1,16}$/.test(v.protocol)) query.protocol = v.protocol;
    else errors.protocol = 'not a protocol name';
  }
  takeParsed('address', parseAddress(v.address), query, errors);
  takeParsed('port', parsePort(v.port), query, errors);
  if (v.flags !== '') {
    const f = v.flags.toUpperCase().replace(/\s+/g, '');
    if (FLAG_EXPR.test(f)) query.flags = f;
    else errors.flags = 'flags such as SYN,!ACK';
  }
  if (v.payload === 'true' || v.payload === 'false') query.payload = v.payload;
  else if (v.payload !== '') errors.payload = 'true or false';
  if (v.analysis !== '') {
    if (ANALYSIS.some((a) => a.value === v.analysis)) query.analysis = v.analysis;
    else errors.analysis = 'unknown TCP analysis';
  }
  if (v.sessionId !== '') {
    if (isId(v.sessionId)) query.sessionId = v.sessionId;
    else errors.sessionId = 'a session number';
  }
  takeCaptureId(v.captureId, query, errors);
  takeTimeRange(v.from, v.to, query, errors);
  return { query, errors, active: PACKET_FILTER_KEYS.some((k) => v[k] !== '') };
}

export function parseSessionId(text: string): { ok: true; value: string } | { ok: false; error: string } {
  const t = text.replace(/^#/, '');
  if (t === '' || isId(t)) return { ok: true, value: t };
  return { ok: false, error: 'a session number, e.g. 42' };
}
