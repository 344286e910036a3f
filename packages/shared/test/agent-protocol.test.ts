import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AGENT_PROTOCOL_LIMITS,
  packBatch,
  validateBatch,
  validateCaptureImport,
  validateCaptureStatus,
  validateHello,
  validateMailSettingsPayload,
} from '../src/agent-protocol.ts';
import { DEFAULT_MAIL_SETTINGS } from '../src/mail-settings.ts';

const CAPTURE = '6f1c2a52-3d4e-4b5f-8a6b-7c8d9e0f1a2b';

function batch(): Record<string, unknown> & { packets: Record<string, unknown>[]; sessions: Record<string, unknown>[]; timeline: Record<string, unknown>[]; mails: Record<string, unknown>[] } {
  const client = { addr: '192.0.2.10', port: 50000 };
  const server = { addr: '198.51.100.25', port: 25 };
  return {
    captureId: CAPTURE,
    batchId: 'b-1',
    seq: 0,
    packets: [{
      type: 'packet', no: 1, ts: 1_700_000_000_000_000, src: client.addr, dst: server.addr, srcPort: 50000, dstPort: 25,
      protocol: 'TCP', length: 60, capturedLength: 4, tcpFlags: 2, seq: 4_000_000_000, ack: 0, payloadLength: 0,
      info: '[SYN] Seq=0', sessionId: 1, dir: 'client', linkType: 1, raw: new Uint8Array([1, 2, 3, 4]),
    }],
    sessions: [{ type: 'session-opened', sessionId: 1, protocol: 'smtp', client, server, startTs: 1_700_000_000_000_000, sawSyn: true, detectedBy: 'port' }],
    timeline: [{ type: 'timeline', sessionId: 1, seq: 1, ts: 1_700_000_000_000_000, dir: 'client', kind: 'tcp', verb: 'SYN', arg: '', frames: [1] }],
    mails: [{
      type: 'mail', sessionId: 1, index: 1, direction: 'sent', command: 'DATA', size: 3, sha256: 'a'.repeat(64), complete: true,
      startTs: 1, endTs: 2, frames: [1], raw: new Uint8Array(3), summary: { to: [], cc: [], attachments: [] },
    }],
  };
}

/** The wire form of the batch (the packets a binary block), as plain records to break. */
function wire(b: ReturnType<typeof batch>): ReturnType<typeof batch> {
  return packBatch(b as never) as unknown as ReturnType<typeof batch>;
}

test('a well-formed batch passes; packBatch and validateBatch give each packet and mail its bytes back', () => {
  const b = batch();
  b.packets.push({ ...b.packets[0]!, no: 2, raw: new Uint8Array([9, 8]), capturedLength: 2 });
  b.mails[0]!.raw = new Uint8Array([5, 6, 7]);
  // A mail sent without its bytes (Save Mail off), between two with them.
  b.mails.push({ ...b.mails[0]!, index: 2, raw: undefined }, { ...b.mails[0]!, index: 3, raw: new Uint8Array([42]) });
  delete b.mails[1]!.raw;
  const packed = wire(b);
  assert.ok((packed.packets as unknown) instanceof Uint8Array);
  assert.deepEqual(packed.mailBytes, new Uint8Array([5, 6, 7, 42]));
  assert.deepEqual(editable(packed).records.mails.map((m) => ['raw' in m, m.rawLength]), [[false, 3], [false, undefined], [false, 1]]);
  const r = validateBatch(packed);
  assert.equal(r.ok, true, r.ok ? '' : r.error);
  assert.deepEqual(r.ok && r.value.packets.map((p) => ({ ...p, raw: [...p.raw] })), b.packets.map((p) => ({ ...p, raw: [...(p.raw as Uint8Array)] })));
  assert.deepEqual(r.ok && r.value.mails.map((m) => (m.raw === undefined ? null : [...m.raw])), [[5, 6, 7], null, [42]]);
  assert.deepEqual(r.ok && r.value.mails.map((m) => 'rawLength' in m), [false, false, false]);
  assert.deepEqual(r.ok && [r.value.sessions, r.value.timeline], [b.sessions, b.timeline]);
});

test('a batch of 1,000 mails travels in four binary parts (socket.io refuses more than 10)', () => {
  const b = batch();
  b.mails = Array.from({ length: AGENT_PROTOCOL_LIMITS.maxBatchMails }, (_, i) => ({ ...b.mails[0]!, index: i + 1, raw: new Uint8Array([i & 0xff]) }));
  const packed = wire(b);
  assert.deepEqual(Object.entries(packed).filter(([, v]) => v instanceof Uint8Array).map(([k]) => k).sort(), ['mailBytes', 'packets', 'records', 'timeline']);
  assert.equal(Object.keys(packed).length, 7, 'the ids and four binary parts, nothing else');
  const r = validateBatch(packed);
  assert.equal(r.ok, true, r.ok ? '' : r.error);
  assert.deepEqual(r.ok && r.value.mails.map((m) => m.raw![0]), Array.from({ length: 1000 }, (_, i) => i & 0xff));
});

test('batch refusals name the field and the reason', () => {
  // Packet records are checked by the block decoder: packet-block.test.ts has the cases of one record.
  const cases: [string, (b: Editable) => void, RegExp][] = [
    ['bad capture id', (b) => { b.captureId = 'x'; }, /captureId: must be a capture id/],
    ['packets as a string', (b) => { b.packets = 'AQID' as never; }, /packets: must be binary/],
    ['packets as the records of old', (b) => { b.packets = batch().packets; }, /packets: must be binary/],
    ['a frame too large', (b) => { b.packets = packetsOf({ raw: new Uint8Array(AGENT_PROTOCOL_LIMITS.maxFrameBytes + 1), capturedLength: AGENT_PROTOCOL_LIMITS.maxFrameBytes + 1 }); }, /packets\/0\/capturedLength: must be at most 262144/],
    ['frames shorter than the packets say', (b) => { const block = packetsOf({}) as Uint8Array; b.packets = block.subarray(0, block.byteLength - 1) as never; }, /packets: the frames take 3 bytes but the packets' capturedLength add up to 4/],
    ['timeline as objects (not the wire form)', (b) => { b.timeline = batch().timeline as never; }, /timeline: must be binary/],
    ['unknown kind', (b) => { b.timeline = timelineOf({ kind: 'chat' }); }, /timeline\/0\/kind: must be one of "tcp"/],
    ['negative session time', (b) => { b.records.sessions[0]!.startTs = -1; }, /sessions\/0\/startTs: must be >= 0/],
    ['too many packets', (b) => { b.packets = packetsOf(...Array.from({ length: AGENT_PROTOCOL_LIMITS.maxBatchPackets + 1 }, (_, i) => ({ no: i + 1 }))); }, /packets: 5001 packets, at most 5000 per batch/],
    ['too many mails', (b) => { b.records.mails = Array.from({ length: AGENT_PROTOCOL_LIMITS.maxBatchMails + 1 }, (_, i) => ({ ...b.records.mails[0]!, index: i + 1 })); }, /mails: must not have more than 1000 items/],
    ['mailBytes shorter than the mails say', (b) => { b.records.mails[0]!.rawLength = 4; }, /mailBytes: has 3 bytes but the mails' rawLength add up to 4/],
    ['mail bytes left over', (b) => { delete b.records.mails[0]!.rawLength; }, /mailBytes: has 3 bytes but the mails' rawLength add up to 0/],
    ['raw inside a mail', (b) => { b.records.mails[0]!.raw = [1, 2, 3]; }, /mails\/0: unknown field raw/],
    ['mailBytes missing', (b) => { delete b.mailBytes; }, /must have required propert(y|ies) mailBytes/],
    ['duplicate frame', (b) => { b.packets = packetsOf({}, {}); }, /packets\/1\/no: frame 1 appears twice/],
    ['duplicate timeline key', (b) => { b.timeline = timelineOf({}, {}); }, /entry 1 of session 1 appears twice/],
    ['duplicate session event', (b) => { b.records.sessions.push({ ...b.records.sessions[0]! }); }, /sessions\/1: session-opened of session 1 appears twice/],
    ['duplicate mail key', (b) => { b.records.mails.push({ ...b.records.mails[0]!, rawLength: 0 }); }, /mails\/1: mail 1 of session 1 appears twice/],
    ['mail without summary', (b) => { delete b.records.mails[0]!.summary; }, /mails\/0: must have required properties? summary/],
    ['bad sha256', (b) => { b.records.mails[0]!.sha256 = 'ABC'; }, /mails\/0\/sha256: must be a sha256/],
    ['session id 0', (b) => { b.records.sessions[0]!.sessionId = 0; }, /sessions\/0/],
    ['not an object', (b) => { b.records.sessions = 'x' as never; }, /sessions: must be array/],
    ['the timeline inside the records', (b) => { (b.records as Rec).timeline = []; }, /unknown field timeline/],
    ['records not JSON', (b) => { b.records = new TextEncoder().encode('{"sessions": [') as never; }, /^invalid batch: records: not JSON/],
    ['records as objects (not the wire form)', (b) => { b.records = { sessions: [], timeline: [], mails: [] } as never; b.sealed = true; }, /records: must be binary/],
    ['a field beside the records', (b) => { b.records.extra = 1; }, /unknown field extra/],
  ];
  for (const [name, mutate, expected] of cases) {
    const b = editable(wire(batch()));
    mutate(b);
    const r = validateBatch(seal(b));
    assert.equal(r.ok, false, name);
    assert.match(r.ok ? '' : r.error, expected, name);
    assert.match(r.ok ? '' : r.error, /^invalid batch: /, name);
  }
  assert.equal(validateBatch(null).ok, false);
  assert.equal(validateBatch(undefined).ok, false);
});

type Rec = Record<string, unknown>;
/** A wire batch with its `records` as objects, to break; `seal` makes them bytes again (unless `sealed`). */
type Editable = Rec & { records: Rec & { sessions: Rec[]; mails: Rec[] }; sealed?: boolean };
function editable(w: ReturnType<typeof batch>): Editable {
  return { ...w, records: JSON.parse(new TextDecoder().decode(w.records as unknown as Uint8Array)) as Editable['records'] };
}
function seal(e: Editable): unknown {
  const { sealed, ...rest } = e;
  return sealed === true || e.records instanceof Uint8Array ? rest : { ...rest, records: new TextEncoder().encode(JSON.stringify(e.records)) };
}

/** The timeline block of batch()'s entry changed by each of `changes` (one entry per change). */
function timelineOf(...changes: Record<string, unknown>[]): never {
  const base = batch();
  return wire({ ...base, timeline: changes.map((c) => ({ ...base.timeline[0]!, ...c })) }).timeline as never;
}

/** The packet block of batch()'s packet changed by each of `changes` (one packet per change). */
function packetsOf(...changes: Record<string, unknown>[]): never {
  const base = batch();
  return wire({ ...base, packets: changes.map((c) => ({ ...base.packets[0]!, ...c })) }).packets as never;
}

test('hello, capture:status and settings validators', () => {
  assert.equal(validateHello({ name: 'a1', host: 'h', version: '1', interfaces: [{ name: 'eth0', addresses: ['192.0.2.1'] }] }).ok, true);
  const bad = validateHello({ name: '', host: 'h', version: '1', interfaces: [{ name: 'eth0' }] });
  assert.equal(bad.ok, false);
  assert.match(bad.ok ? '' : bad.error, /^invalid hello: name: must not have fewer than 1 characters?; interfaces\/0: must have required propert/);
  assert.equal(validateCaptureStatus({ captureId: CAPTURE, state: 'running', received: 1, dropped: 0, queued: 0 }).ok, true);
  const st = validateCaptureStatus({ captureId: CAPTURE, state: 'paused', received: 1.5, dropped: 0, queued: 0 });
  assert.match(st.ok ? '' : st.error, /state: must be one of "starting", "running", "stopped", "error"; received: must be integer/);
  assert.equal(validateMailSettingsPayload({ ...DEFAULT_MAIL_SETTINGS }).ok, true);
});

test('hello: an optional list of the running captures, uuids, at most 64', () => {
  const base = { name: 'a1', host: 'h', version: '1', interfaces: [] };
  assert.equal(validateHello(base).ok, true, 'an older agent without the list still validates');
  assert.equal(validateHello({ ...base, captures: [] }).ok, true);
  assert.equal(validateHello({ ...base, captures: [CAPTURE] }).ok, true);
  const ids = Array.from({ length: 64 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
  assert.equal(validateHello({ ...base, captures: ids }).ok, true);
  const many = validateHello({ ...base, captures: [...ids, CAPTURE] });
  assert.match(many.ok ? '' : many.error, /^invalid hello: captures: must not have more than 64 items/);
  const notId = validateHello({ ...base, captures: ['not-a-uuid'] });
  assert.match(notId.ok ? '' : notId.error, /^invalid hello: captures\/0: has not the expected form/);
  assert.equal(validateHello({ ...base, captures: CAPTURE }).ok, false);
});

test('capture:import: a file name of 1..255 characters without control characters and a size', () => {
  assert.deepEqual(validateCaptureImport({ fileName: 'zeek_smtp.pcap', sizeBytes: 40943 }), { ok: true, value: { fileName: 'zeek_smtp.pcap', sizeBytes: 40943 } });
  assert.equal(validateCaptureImport({ fileName: 'x'.repeat(255), sizeBytes: 0 }).ok, true);
  assert.equal(validateCaptureImport({ fileName: 'Ünïcode name.pcapng', sizeBytes: 0 }).ok, true);
  const empty = validateCaptureImport({ fileName: '', sizeBytes: 1 });
  assert.equal(empty.ok, false);
  assert.match(empty.ok ? '' : empty.error, /^invalid capture:import: fileName: /);
  for (const bad of [
    { fileName: 'x'.repeat(256), sizeBytes: 1 },
    { fileName: 'a\nb.pcap', sizeBytes: 1 },
    { fileName: 'a\u0000.pcap', sizeBytes: 1 },
    { fileName: 'a\u007f.pcap', sizeBytes: 1 },
    { fileName: 'a.pcap', sizeBytes: -1 },
    { fileName: 'a.pcap', sizeBytes: 1.5 },
    { fileName: 'a.pcap' },
    { fileName: 'a.pcap', sizeBytes: 1, extra: true },
  ]) assert.equal(validateCaptureImport(bad).ok, false, JSON.stringify(bad));
  const control = validateCaptureImport({ fileName: 'a\tb', sizeBytes: 1 });
  assert.equal(control.ok ? '' : control.error, 'invalid capture:import: fileName: must not contain control characters');
});
