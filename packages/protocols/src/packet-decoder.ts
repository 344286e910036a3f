/**
 * Link / IP / TCP decoding of one captured frame. The hottest path of the engine: it reads bytes
 * directly, allocates only the result, its address strings and the payload view, and never throws.
 *
 * Link types: Ethernet (with any number of 802.1Q 0x8100, 802.1ad 0x88a8 and 0x9100 tags), Linux
 * cooked SLL and SLL2, BSD NULL (address family in either byte order) and LOOP, RAW, IPV4, IPV6.
 *
 * IP fragments are NOT reassembled: an IPv4 packet with MF set or a non-zero fragment offset, or an
 * IPv6 packet whose fragment header has M set or a non-zero offset, decodes to
 * `{ ok: false, layer: 'ip', reason: 'fragment' }` (with addresses). Mail sessions practically never
 * fragment (TCP's MSS keeps segments under the path MTU). IPv6 atomic fragments (offset 0, M clear,
 * RFC 6946) are decoded normally.
 *
 * Stable failure reasons: 'unsupported-linktype', 'not-ip', 'truncated', 'bad-version',
 * 'bad-header', 'bad-length', 'fragment', 'not-tcp'.
 */
import type { DecodeResult, TcpSegment } from './types.ts';
import { LinkType } from './types.ts';

const NO_VLANS: readonly number[] = Object.freeze([]);

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;

type Fail = Extract<DecodeResult, { ok: false }>;

function linkFail(reason: string): Fail {
  return { ok: false, layer: 'link', reason };
}

const LINK_TRUNCATED: Fail = Object.freeze(linkFail('truncated'));
const LINK_NOT_IP: Fail = Object.freeze(linkFail('not-ip'));
const LINK_UNSUPPORTED: Fail = Object.freeze(linkFail('unsupported-linktype'));
const IP_TRUNCATED: Fail = Object.freeze({ ok: false, layer: 'ip', reason: 'truncated' } as const);
const IP_BAD_VERSION: Fail = Object.freeze({ ok: false, layer: 'ip', reason: 'bad-version' } as const);
const IP_BAD_HEADER: Fail = Object.freeze({ ok: false, layer: 'ip', reason: 'bad-header' } as const);

/**
 * Address strings are cached in direct-mapped tables (a slot per hash, a newer address evicts an
 * older one): captures talk to few hosts, so nearly every lookup hits, the tables never grow, and
 * a lookup allocates nothing. 4096 slots each.
 */
const CACHE_BITS = 12;
const CACHE_SLOTS = 1 << CACHE_BITS;
const v4Keys = new Int32Array(CACHE_SLOTS);
const v4Strings: (string | undefined)[] = new Array<string | undefined>(CACHE_SLOTS).fill(undefined);
const v6Keys = new Uint8Array(CACHE_SLOTS * 16);
const v6Strings: (string | undefined)[] = new Array<string | undefined>(CACHE_SLOTS).fill(undefined);

/** Formats the IPv4 address at `o` as a dotted quad. The caller has checked `o + 4 <= d.length`. */
function ipv4At(d: Uint8Array, o: number): string {
  const key = (d[o]! << 24) | (d[o + 1]! << 16) | (d[o + 2]! << 8) | d[o + 3]!;
  const slot = Math.imul(key, 0x9e3779b1) >>> (32 - CACHE_BITS);
  const hit = v4Strings[slot];
  if (hit !== undefined && v4Keys[slot] === key) return hit;
  const s = `${d[o]!}.${d[o + 1]!}.${d[o + 2]!}.${d[o + 3]!}`;
  v4Keys[slot] = key;
  v4Strings[slot] = s;
  return s;
}

/** `formatIpv6` through the cache. */
function ipv6At(d: Uint8Array, o: number): string {
  let h = 0;
  for (let i = 0; i < 16; i += 4) {
    h = Math.imul(h ^ ((d[o + i]! << 24) | (d[o + i + 1]! << 16) | (d[o + i + 2]! << 8) | d[o + i + 3]!), 0x9e3779b1);
  }
  const slot = h >>> (32 - CACHE_BITS);
  const hit = v6Strings[slot];
  const k = slot * 16;
  if (hit !== undefined) {
    let same = true;
    for (let i = 0; i < 16; i++) {
      if (v6Keys[k + i] !== d[o + i]) {
        same = false;
        break;
      }
    }
    if (same) return hit;
  }
  const s = formatIpv6(d, o);
  v6Keys.set(d.subarray(o, o + 16), k);
  v6Strings[slot] = s;
  return s;
}

/**
 * Formats the 16-byte IPv6 address at `o` in RFC 5952 form: lowercase hex without leading zeros,
 * the longest run (two groups or more, the first when tied) of zero groups as "::", and
 * IPv4-mapped addresses as ::ffff:a.b.c.d. The caller has checked `o + 16 <= d.length`.
 */
export function formatIpv6(d: Uint8Array, o: number): string {
  let bestStart = -1;
  let bestLen = 1;
  let runStart = -1;
  for (let i = 0; i < 8; i++) {
    const zero = d[o + 2 * i] === 0 && d[o + 2 * i + 1] === 0;
    if (zero) {
      if (runStart < 0) runStart = i;
      const runLen = i - runStart + 1;
      if (runLen > bestLen) {
        bestLen = runLen;
        bestStart = runStart;
      }
    } else {
      runStart = -1;
    }
  }
  if (bestStart === 0 && bestLen === 5 && d[o + 10] === 0xff && d[o + 11] === 0xff) {
    return `::ffff:${d[o + 12]!}.${d[o + 13]!}.${d[o + 14]!}.${d[o + 15]!}`;
  }
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      s += '::';
      i += bestLen - 1;
      continue;
    }
    if (s.length > 0 && !s.endsWith(':')) s += ':';
    s += ((d[o + 2 * i]! << 8) | d[o + 2 * i + 1]!).toString(16);
  }
  return s;
}

/**
 * Decodes a frame of link type `linkType` (LINKTYPE_* value, see `LinkType`) down to TCP.
 *
 * Returns `{ ok: true, tcp }` for a TCP segment; `tcp.payload` is a view into `data` (copy it to
 * keep it) cut at the end the IP header gives (so Ethernet padding is dropped) and at the captured
 * bytes; `tcp.payloadLenOnWire` is the length IP claims. Otherwise a value naming the layer and
 * reason; when the IP header was read it carries `src`, `dst` and `protocol` (the IP protocol /
 * IPv6 next header where decoding stopped). Never throws, whatever the bytes.
 */
export function decodeFrame(linkType: number, data: Uint8Array): DecodeResult {
  const n = data.length;
  let off: number;
  let etherType: number;
  switch (linkType) {
    case LinkType.ETHERNET:
      if (n < 14) return LINK_TRUNCATED;
      off = 14;
      etherType = (data[12]! << 8) | data[13]!;
      break;
    case LinkType.LINUX_SLL:
      if (n < 16) return LINK_TRUNCATED;
      off = 16;
      etherType = (data[14]! << 8) | data[15]!;
      break;
    case LinkType.LINUX_SLL2:
      if (n < 20) return LINK_TRUNCATED;
      off = 20;
      etherType = (data[0]! << 8) | data[1]!;
      break;
    case LinkType.NULL:
    case LinkType.LOOP: {
      if (n < 4) return LINK_TRUNCATED;
      const be = ((data[0]! << 24) | (data[1]! << 16) | (data[2]! << 8) | data[3]!) >>> 0;
      // NULL stores the family in the capturing host's byte order; families are small numbers,
      // so whichever reading fits in 16 bits is the right one.
      const af = linkType === LinkType.LOOP || be <= 0xffff ? be : ((data[3]! << 24) | (data[2]! << 16) | (data[1]! << 8) | data[0]!) >>> 0;
      if (af === 2) return decodeIpv4(data, 4, NO_VLANS);
      if (af === 10 || af === 24 || af === 28 || af === 30) return decodeIpv6(data, 4, NO_VLANS);
      return LINK_NOT_IP;
    }
    case LinkType.RAW:
      return decodeIpAny(data, 0, NO_VLANS);
    case LinkType.IPV4:
      return decodeIpv4(data, 0, NO_VLANS);
    case LinkType.IPV6:
      return decodeIpv6(data, 0, NO_VLANS);
    default:
      return LINK_UNSUPPORTED;
  }
  let vlans = NO_VLANS;
  while (etherType === 0x8100 || etherType === 0x88a8 || etherType === 0x9100) {
    if (off + 4 > n) return LINK_TRUNCATED;
    const id = ((data[off]! << 8) | data[off + 1]!) & 0x0fff;
    vlans = vlans === NO_VLANS ? [id] : [...vlans, id];
    etherType = (data[off + 2]! << 8) | data[off + 3]!;
    off += 4;
  }
  if (etherType === ETH_IPV4) return decodeIpv4(data, off, vlans);
  if (etherType === ETH_IPV6) return decodeIpv6(data, off, vlans);
  return LINK_NOT_IP;
}

function decodeIpAny(data: Uint8Array, off: number, vlans: readonly number[]): DecodeResult {
  if (off >= data.length) return IP_TRUNCATED;
  const v = data[off]! >> 4;
  if (v === 4) return decodeIpv4(data, off, vlans);
  if (v === 6) return decodeIpv6(data, off, vlans);
  return IP_BAD_VERSION;
}

function decodeIpv4(data: Uint8Array, off: number, vlans: readonly number[]): DecodeResult {
  const n = data.length;
  if (off + 20 > n) return IP_TRUNCATED;
  const b0 = data[off]!;
  if (b0 >> 4 !== 4) return IP_BAD_VERSION;
  const ihl = (b0 & 0x0f) * 4;
  if (ihl < 20) return IP_BAD_HEADER;
  if (off + ihl > n) return IP_TRUNCATED;
  const src = ipv4At(data, off + 12);
  const dst = ipv4At(data, off + 16);
  const protocol = data[off + 9]!;
  let totalLen = (data[off + 2]! << 8) | data[off + 3]!;
  // A total length of 0 is what TCP segmentation offload leaves in captures taken on the sender.
  if (totalLen === 0) totalLen = n - off;
  if (totalLen < ihl) return { ok: false, layer: 'ip', reason: 'bad-length', src, dst, protocol };
  const frag = (data[off + 6]! << 8) | data[off + 7]!;
  if ((frag & 0x3fff) !== 0) return { ok: false, layer: 'ip', reason: 'fragment', src, dst, protocol };
  if (protocol !== 6) return { ok: false, layer: 'ip', reason: 'not-tcp', src, dst, protocol };
  const ipEnd = off + totalLen;
  return decodeTcp(data, off + ihl, ipEnd, 4, src, dst, vlans);
}

function decodeIpv6(data: Uint8Array, off: number, vlans: readonly number[]): DecodeResult {
  const n = data.length;
  if (off + 40 > n) return IP_TRUNCATED;
  if (data[off]! >> 4 !== 6) return IP_BAD_VERSION;
  const src = ipv6At(data, off + 8);
  const dst = ipv6At(data, off + 24);
  let payloadLen = (data[off + 4]! << 8) | data[off + 5]!;
  // 0 is a jumbogram or a segmentation-offload capture; either way the captured bytes are all we have.
  if (payloadLen === 0) payloadLen = n - off - 40;
  const ipEnd = off + 40 + payloadLen;
  const capEnd = ipEnd < n ? ipEnd : n;
  let next = data[off + 6]!;
  let p = off + 40;
  while (true) {
    switch (next) {
      case 6:
        return decodeTcp(data, p, ipEnd, 6, src, dst, vlans);
      case 0:
      case 43:
      case 60:
      case 51: {
        if (p + 2 > capEnd) return { ok: false, layer: 'ip', reason: 'truncated', src, dst, protocol: next };
        // AH counts its length in 4-byte units minus 2 (RFC 4302); the others in 8-byte units minus 1.
        const len = next === 51 ? (data[p + 1]! + 2) * 4 : (data[p + 1]! + 1) * 8;
        next = data[p]!;
        p += len;
        break;
      }
      case 44: {
        if (p + 8 > capEnd) return { ok: false, layer: 'ip', reason: 'truncated', src, dst, protocol: next };
        const fo = (data[p + 2]! << 8) | data[p + 3]!;
        if ((fo & 0xfff9) !== 0) return { ok: false, layer: 'ip', reason: 'fragment', src, dst, protocol: data[p]! };
        next = data[p]!;
        p += 8;
        break;
      }
      default:
        // 50 (ESP) hides what follows, 59 is "no next header"; anything else is another protocol.
        return { ok: false, layer: 'ip', reason: 'not-tcp', src, dst, protocol: next };
    }
  }
}

function decodeTcp(
  data: Uint8Array,
  t: number,
  ipEnd: number,
  ipVersion: 4 | 6,
  src: string,
  dst: string,
  vlans: readonly number[],
): DecodeResult {
  const n = data.length;
  if (t + 20 > ipEnd) return { ok: false, layer: 'tcp', reason: 'bad-length', src, dst, protocol: 6 };
  if (t + 20 > n) return { ok: false, layer: 'tcp', reason: 'truncated', src, dst, protocol: 6 };
  const dataOff = (data[t + 12]! >> 4) * 4;
  if (dataOff < 20) return { ok: false, layer: 'tcp', reason: 'bad-header', src, dst, protocol: 6 };
  const pStart = t + dataOff;
  if (pStart > ipEnd) return { ok: false, layer: 'tcp', reason: 'bad-length', src, dst, protocol: 6 };
  if (pStart > n) return { ok: false, layer: 'tcp', reason: 'truncated', src, dst, protocol: 6 };
  const capEnd = ipEnd < n ? ipEnd : n;
  const tcp: TcpSegment = {
    ipVersion,
    src,
    dst,
    srcPort: (data[t]! << 8) | data[t + 1]!,
    dstPort: (data[t + 2]! << 8) | data[t + 3]!,
    seq: ((data[t + 4]! << 24) | (data[t + 5]! << 16) | (data[t + 6]! << 8) | data[t + 7]!) >>> 0,
    ack: ((data[t + 8]! << 24) | (data[t + 9]! << 16) | (data[t + 10]! << 8) | data[t + 11]!) >>> 0,
    flags: data[t + 13]!,
    window: (data[t + 14]! << 8) | data[t + 15]!,
    payload: data.subarray(pStart, capEnd),
    payloadLenOnWire: ipEnd - pStart,
    vlans,
  };
  return { ok: true, tcp };
}
