/**
 * The wire form of a batch's timeline entries: one binary block instead of JSON objects, for the
 * same reason as the packets' (packet-block.ts). The API spent more of its CPU parsing the timeline
 * entries' JSON than on anything else it does to them.
 *
 * Layout, integers little-endian:
 *
 *     u32 magic "MST1"   u32 entry count   u32 string count
 *     strings:  the table of binary-block.ts (verbs, arguments, auth texts)
 *     entries:  per entry, 40 bytes (offsets in `encodeTimelineBlock`), then its frame numbers
 *               (u32 each), then the string indices of its auth user and password when it has them
 *
 * `decodeTimelineBlock` checks everything BatchTimelineSchema says, reads nothing out of bounds and
 * allocates nothing for a count the block cannot hold.
 */
import { AGENT_PROTOCOL_LIMITS as L, TIMELINE_KINDS as KINDS } from './agent-limits.ts';
import type { BatchTimelineEntry } from './agent-protocol.ts';
import { BLOCK_HEADER_BYTES, StringTable, checkId, checkMicros, checkText, isMicros, isU32, openBlock } from './binary-block.ts';

const MAGIC = 0x3154534d; // "MST1" read little-endian
const RECORD = 40;

/** A kind the decoder refuses: what the encoder writes for a kind it does not know, so that the API says why. */
const UNKNOWN_KIND = 0xff;

const DIR_SERVER = 1;
const HAS_LATENCY = 2;
const HAS_AUTH = 4;
const AUTH_USER = 8;
const AUTH_PASSWORD = 16;
const AUTH_SUCCESS_KNOWN = 32;
const AUTH_SUCCEEDED = 64;
const KNOWN_FLAGS = 127;

/**
 * `entries` as one block. A value its field cannot hold throws a RangeError (the engine never
 * makes one); a kind it does not know is written as one the decoder refuses.
 */
export function encodeTimelineBlock(entries: readonly BatchTimelineEntry[]): Uint8Array {
  const table = new StringTable();
  let extra = 0;
  for (const t of entries) {
    const ok = isU32(t.sessionId) && isU32(t.seq) && isMicros(t.ts) && (t.latencyUs === undefined || isMicros(t.latencyUs)) && t.frames.length <= 0xffff && t.frames.every(isU32);
    if (!ok) throw new RangeError(`timeline entry ${t.sessionId}/${t.seq}: a field out of the range the timeline block can hold`);
    table.intern(t.verb);
    table.intern(t.arg);
    extra += 4 * t.frames.length;
    if (t.auth !== undefined) {
      table.intern(t.auth.mechanism);
      if (t.auth.user !== undefined) table.intern(t.auth.user);
      if (t.auth.password !== undefined) table.intern(t.auth.password);
      extra += 8;
    }
  }
  const out = new Uint8Array(BLOCK_HEADER_BYTES + table.bound + entries.length * RECORD + extra);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, entries.length, true);
  view.setUint32(8, table.strings.length, true);
  let at = table.write(out, view, BLOCK_HEADER_BYTES);
  for (const t of entries) {
    const auth = t.auth;
    let flags = t.dir === 'server' ? DIR_SERVER : 0;
    if (t.latencyUs !== undefined) flags |= HAS_LATENCY;
    if (auth !== undefined) {
      flags |= HAS_AUTH;
      if (auth.user !== undefined) flags |= AUTH_USER;
      if (auth.password !== undefined) flags |= AUTH_PASSWORD;
      if (auth.success !== undefined) flags |= auth.success ? AUTH_SUCCESS_KNOWN | AUTH_SUCCEEDED : AUTH_SUCCESS_KNOWN;
    }
    const kind = KINDS.indexOf(t.kind);
    view.setUint32(at, t.sessionId, true);
    view.setUint32(at + 4, t.seq, true);
    view.setFloat64(at + 8, t.ts, true);
    view.setFloat64(at + 16, t.latencyUs ?? 0, true);
    view.setUint32(at + 24, table.of(t.verb), true);
    view.setUint32(at + 28, table.of(t.arg), true);
    view.setUint16(at + 32, t.frames.length, true);
    view.setUint8(at + 34, kind < 0 ? UNKNOWN_KIND : kind);
    view.setUint8(at + 35, flags);
    view.setUint32(at + 36, auth === undefined ? 0 : table.of(auth.mechanism), true);
    at += RECORD;
    for (const f of t.frames) {
      view.setUint32(at, f, true);
      at += 4;
    }
    if (auth?.user !== undefined) {
      view.setUint32(at, table.of(auth.user), true);
      at += 4;
    }
    if (auth?.password !== undefined) {
      view.setUint32(at, table.of(auth.password), true);
      at += 4;
    }
  }
  return out.subarray(0, at);
}

/** At most how many bytes `t` adds to a block (its record, frames and texts as if none were shared). */
export function timelineBlockBound(t: BatchTimelineEntry): number {
  let n = RECORD + 8 + 4 * t.frames.length + 3 * (t.verb.length + t.arg.length);
  if (t.auth !== undefined) n += 20 + 3 * (t.auth.mechanism.length + (t.auth.user?.length ?? 0) + (t.auth.password?.length ?? 0));
  return n;
}

export type TimelineBlockResult = { readonly ok: true; readonly entries: BatchTimelineEntry[] } | { readonly ok: false; readonly error: string };

/**
 * The entries of a block made by `encodeTimelineBlock`, checked against the protocol's bounds;
 * errors name the entry (`timeline/3/kind: ...`) or the part of the block at fault.
 */
export function decodeTimelineBlock(block: Uint8Array): TimelineBlockResult {
  const fail = (error: string): TimelineBlockResult => ({ ok: false, error: error.startsWith('timeline/') ? error : `timeline: ${error}` });
  const opened = openBlock(block, { magic: MAGIC, name: 'timeline', records: 'entries', maxRecords: L.maxBatchTimeline, stringsPerRecord: 5, recordBytes: RECORD });
  if (!opened.ok) return fail(opened.error);
  const { view, count, strings } = opened;
  const size = block.byteLength;
  let at = opened.at;
  const text = (i: number, field: string, index: number, max: number): string => checkText(strings, `timeline/${i}/${field}`, index, max);
  const entries = new Array<BatchTimelineEntry>(count);
  for (let i = 0; i < count; i++) {
    if (at + RECORD > size) return fail(`entry ${i} runs past the end of the block`);
    const sessionId = view.getUint32(at, true);
    const seq = view.getUint32(at + 4, true);
    const ts = view.getFloat64(at + 8, true);
    const latencyUs = view.getFloat64(at + 16, true);
    const verb = view.getUint32(at + 24, true);
    const arg = view.getUint32(at + 28, true);
    const frameCount = view.getUint16(at + 32, true);
    const kind = view.getUint8(at + 34);
    const flags = view.getUint8(at + 35);
    const mechanism = view.getUint32(at + 36, true);
    const range = checkId(`timeline/${i}/sessionId`, sessionId) || checkId(`timeline/${i}/seq`, seq) || checkMicros(`timeline/${i}/ts`, ts);
    if (range !== '') return fail(range);
    if (kind >= KINDS.length) return fail(`timeline/${i}/kind: must be one of ${KINDS.map((k) => JSON.stringify(k)).join(', ')}`);
    if ((flags & ~KNOWN_FLAGS) !== 0) return fail(`timeline/${i}: unknown fields (flags 0x${flags.toString(16)})`);
    if ((flags & HAS_AUTH) === 0 && (flags & (AUTH_USER | AUTH_PASSWORD | AUTH_SUCCESS_KNOWN | AUTH_SUCCEEDED)) !== 0) return fail(`timeline/${i}/auth: auth flags without auth`);
    if ((flags & AUTH_SUCCEEDED) !== 0 && (flags & AUTH_SUCCESS_KNOWN) === 0) return fail(`timeline/${i}/auth/success: a value without the field`);
    if (frameCount > L.maxFramesPerUnit) return fail(`timeline/${i}/frames: at most ${L.maxFramesPerUnit} items (has ${frameCount})`);
    const bad = text(i, 'verb', verb, L.maxLineChars) || text(i, 'arg', arg, L.maxArgChars);
    if (bad !== '') return fail(bad);
    at += RECORD;
    const tail = 4 * frameCount + ((flags & AUTH_USER) !== 0 ? 4 : 0) + ((flags & AUTH_PASSWORD) !== 0 ? 4 : 0);
    if (tail > size - at) return fail(`entry ${i} runs past the end of the block`);
    const frames = new Array<number>(frameCount);
    for (let k = 0; k < frameCount; k++, at += 4) {
      const f = view.getUint32(at, true);
      const e = checkId(`timeline/${i}/frames/${k}`, f);
      if (e !== '') return fail(e);
      frames[k] = f;
    }
    const e: BatchTimelineEntry = {
      type: 'timeline', sessionId, seq, ts, dir: (flags & DIR_SERVER) !== 0 ? 'server' : 'client', kind: KINDS[kind]!, verb: strings[verb]!, arg: strings[arg]!, frames,
    };
    if ((flags & HAS_LATENCY) !== 0) {
      if (!isMicros(latencyUs)) return fail(`timeline/${i}/latencyUs: must be a whole number from 0 to 2^53 - 1 (is ${latencyUs})`);
      e.latencyUs = latencyUs;
    }
    if ((flags & HAS_AUTH) !== 0) {
      const m = text(i, 'auth/mechanism', mechanism, L.maxMechanismChars);
      if (m !== '') return fail(m);
      const auth: NonNullable<BatchTimelineEntry['auth']> = { mechanism: strings[mechanism]! };
      // The user's and the password's string indices follow the frames, in that order.
      for (const [flag, field] of [[AUTH_USER, 'user'], [AUTH_PASSWORD, 'password']] as const) {
        if ((flags & flag) === 0) continue;
        const index = view.getUint32(at, true);
        at += 4;
        const err = text(i, `auth/${field}`, index, L.maxLineChars);
        if (err !== '') return fail(err);
        auth[field] = strings[index]!;
      }
      if ((flags & AUTH_SUCCESS_KNOWN) !== 0) auth.success = (flags & AUTH_SUCCEEDED) !== 0;
      e.auth = auth;
    }
    entries[i] = e;
  }
  if (at !== size) return fail(`${size - at} bytes left over after the entries`);
  return { ok: true, entries };
}
