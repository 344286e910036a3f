import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnalyzerEvent } from '@mailscope/protocols/events';
import type { BatchAck, BatchPayload } from '@mailscope/shared/agent-protocol';
import { AGENT_PROTOCOL_LIMITS, packBatch, validateBatch } from '@mailscope/shared/agent-protocol';
import { CAPTURE_ID_USED, CAPTURE_ID_USED_BEFORE, refuseUsedCaptureId } from '../src/agent-runner.ts';
import { BatchSender } from '../src/batch-sender.ts';
import { buildBpfFilter } from '../src/capture/bpf-filter.ts';
import { classifyCaptureError } from '../src/capture/live-capture.ts';
import { BatchBuilder } from '../src/spool/batch-builder.ts';
import { decodeBatch, decodeWire, encodeBatch } from '../src/spool/batch-codec.ts';
import { Spool } from '../src/spool/spool.ts';

const CAPTURE = '00000000-0000-4000-8000-0000000000aa';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'mailscope-spool-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('buildBpfFilter: port lists ORed, user filter ANDed, any-port widens to tcp', () => {
  const base = { smtpPorts: [25, 587], pop3Ports: [110], anyPort: false, captureFilter: '' };
  assert.equal(buildBpfFilter(base), 'tcp port 25 or tcp port 110 or tcp port 587');
  assert.equal(buildBpfFilter({ ...base, captureFilter: ' host 192.0.2.10 ' }), '(tcp port 25 or tcp port 110 or tcp port 587) and (host 192.0.2.10)');
  assert.equal(buildBpfFilter({ ...base, smtpPorts: [], pop3Ports: [1110], captureFilter: 'host 192.0.2.10' }), 'tcp port 1110 and (host 192.0.2.10)');
  assert.equal(buildBpfFilter({ ...base, anyPort: true }), 'tcp');
  assert.equal(buildBpfFilter({ ...base, anyPort: true, captureFilter: 'not host 192.0.2.1' }), 'tcp and (not host 192.0.2.1)');
  assert.equal(buildBpfFilter({ ...base, smtpPorts: [25, 26, 27, 28], pop3Ports: [110, 111] }), 'tcp portrange 25-28 or tcp port 110 or tcp port 111');
  const every = Array.from({ length: 65535 }, (_, i) => i + 1);
  assert.equal(buildBpfFilter({ ...base, smtpPorts: every, pop3Ports: [] }), 'tcp portrange 1-65535');
  assert.equal(buildBpfFilter({ ...base, smtpPorts: [], pop3Ports: [] }), 'tcp', 'never an empty filter');
});

test('classifyCaptureError: the messages libpcap 1.10 and the loader give, with the fix in the message', () => {
  const perm = classifyCaptureError(new Error('socket: Operation not permitted'), { device: 'lo', filter: 'tcp', phase: 'open' });
  assert.equal(perm.code, 'PERMISSION');
  assert.match(perm.message, /run the agent as root/);
  assert.match(perm.message, /setcap cap_net_raw,cap_net_admin=eip/);
  const dev = classifyCaptureError(new Error('No such device exists'), { device: 'eth9', filter: 'tcp', phase: 'open' });
  assert.equal(dev.code, 'NO_DEVICE');
  assert.match(dev.message, /unknown interface 'eth9'/);
  const bad = classifyCaptureError(new Error("can't parse filter expression: syntax error"), { device: 'lo', filter: 'tcp and (', phase: 'open' });
  assert.equal(bad.code, 'BAD_FILTER');
  assert.match(bad.message, /the capture filter 'tcp and \(' does not compile: can't parse filter expression: syntax error/);
  const lib = classifyCaptureError(new Error('libpcap.so.0.8: cannot open shared object file: No such file or directory'), { phase: 'load' });
  assert.equal(lib.code, 'NO_LIBPCAP');
  assert.match(lib.message, /apt-get install libpcap0\.8/);
});

function packetEvent(no: number): AnalyzerEvent {
  return { type: 'packet', no, ts: 1_700_000_000_000_000 + no, src: '192.0.2.1', dst: '192.0.2.2', srcPort: 40000, dstPort: 25, protocol: 'TCP', length: 60, capturedLength: 60, info: `frame ${no}` };
}
const frame = (no: number) => ({ no, ts: 0, linkType: 1, data: new Uint8Array(60).fill(no & 0xff), origLen: 60 });

function batches(count: number, perBatch: number): BatchPayload[] {
  const out: BatchPayload[] = [];
  const b = new BatchBuilder({ captureId: CAPTURE, saveMail: () => true, limits: { packets: perBatch } }, (batch) => out.push(batch));
  for (let no = 1; no <= count; no++) b.add(packetEvent(no), frame(no));
  b.flush();
  return out;
}

test('BatchBuilder: batches cut at the limit, numbered from 0, valid for the API, frame bytes attached', () => {
  const out = batches(25, 10);
  assert.deepEqual(out.map((b) => [b.seq, b.packets.length]), [[0, 10], [1, 10], [2, 5]]);
  assert.equal(new Set(out.map((b) => b.batchId)).size, 3);
  for (const b of out) {
    const v = validateBatch(packBatch(b));
    assert.ok(v.ok, v.ok ? '' : v.error);
  }
  assert.deepEqual([...out[2]!.packets[4]!.raw.subarray(0, 2)], [25, 25]);
});

function mailEvent(sessionId: number, index: number, bytes: number): AnalyzerEvent {
  const raw = new Uint8Array(bytes).fill(0x41);
  return {
    type: 'mail', sessionId, index, direction: 'sent', command: 'DATA', size: bytes, sha256: '0'.repeat(64), complete: true,
    startTs: 1, endTs: 2, frames: [index], raw, summary: { to: [], cc: [], attachments: [] },
  } as unknown as AnalyzerEvent;
}

test('BatchBuilder: never past the protocol limits, whatever limits it is given (mails, packets, bytes)', () => {
  const L = AGENT_PROTOCOL_LIMITS;
  const out: BatchPayload[] = [];
  const b = new BatchBuilder({ captureId: CAPTURE, saveMail: () => true, limits: { packets: 1e9, mails: 1e9, sessions: 1e9, timeline: 1e9, bytes: 1e12 } }, (batch) => out.push(batch));
  for (let i = 1; i <= L.maxBatchMails + 12; i++) b.add(mailEvent(1, i, 10));
  for (let no = 1; no <= L.maxBatchPackets + 10; no++) b.add(packetEvent(no), frame(no));
  b.flush();
  assert.deepEqual(out.map((x) => [x.mails.length, x.packets.length]), [[L.maxBatchMails, 0], [12, L.maxBatchPackets], [0, 10]]);
  for (const x of out) assert.ok(validateBatch(packBatch(x)).ok);

  // Bytes: two 40 MiB mails never share a batch (64 MiB), the second one starts the next batch.
  const big: BatchPayload[] = [];
  const c = new BatchBuilder({ captureId: CAPTURE, saveMail: () => true, limits: { bytes: 1e12 } }, (batch) => big.push(batch));
  c.add(packetEvent(1), frame(1));
  c.add(mailEvent(1, 1, 40 * 1024 * 1024));
  c.add(mailEvent(1, 2, 40 * 1024 * 1024));
  c.flush();
  assert.deepEqual(big.map((x) => [x.packets.length, x.mails.length]), [[1, 1], [0, 1]]);
  for (const x of big) {
    const v = validateBatch(packBatch(x));
    assert.ok(v.ok, v.ok ? '' : v.error);
  }
});

test('BatchBuilder: frames filling the byte limit make packet blocks the API takes (records and texts counted)', () => {
  const L = AGENT_PROTOCOL_LIMITS;
  const out: BatchPayload[] = [];
  const b = new BatchBuilder({ captureId: CAPTURE, saveMail: () => true, limits: { bytes: 1e12 } }, (batch) => out.push(batch));
  const big = (no: number) => ({ no, ts: 0, linkType: 1, data: new Uint8Array(L.maxFrameBytes).fill(no & 0xff), origLen: L.maxFrameBytes });
  // 256 frames of 256 KiB are exactly 64 MiB of frames: with their records they need two batches.
  for (let no = 1; no <= 256; no++) b.add(packetEvent(no), big(no));
  b.flush();
  assert.equal(out.length, 2);
  assert.equal(out[0]!.packets.length + out[1]!.packets.length, 256);
  for (const x of out) {
    const wire = packBatch(x);
    assert.ok(wire.packets.byteLength <= L.maxBatchBytes + 12, `block of ${wire.packets.byteLength} bytes`);
    const v = validateBatch(wire);
    assert.ok(v.ok, v.ok ? '' : v.error);
  }
});

test('batch codec: what is written is read back, bytes and all', () => {
  const [b] = batches(3, 10);
  const back = decodeBatch(encodeBatch(b!));
  // The builder names every field of a packet (undefined where the engine gave none); what is read back has only those given.
  const plain = (x: BatchPayload) => ({ ...x, packets: x.packets.map((p) => Object.fromEntries(Object.entries({ ...p, raw: [...p.raw] }).filter(([, v]) => v !== undefined))) });
  assert.deepEqual(plain(back), plain(b!));
  assert.ok(b!.packets.every((p) => 'sessionId' in p) && back.packets.every((p) => !('sessionId' in p)));
  assert.throws(() => decodeBatch(encodeBatch(b!).subarray(0, 40)), /cut short/);
  // The file holds the wire form: what is sent is what packBatch makes of the batch.
  const wire = decodeWire(encodeBatch(b!));
  const packed = packBatch(b!);
  const plainWire = (w: typeof wire) => ({ ...w, packets: [...w.packets], timeline: [...w.timeline], records: [...w.records], mailBytes: [...w.mailBytes] });
  assert.deepEqual(plainWire(wire), plainWire(packed));
});

test('batch codec: a spool file of an older agent (MSB1) is read, and sent in the wire form', () => {
  const [b] = batches(3, 10);
  // MSB1 as agents wrote it until Nov 2026: the batch's JSON with each raw as [offset, length], then the bytes.
  const blobs: Uint8Array[] = [];
  let offset = 0;
  const json = Buffer.from(JSON.stringify({ ...b!, packets: b!.packets.map((p) => { const r = [offset, p.raw.byteLength]; blobs.push(p.raw); offset += p.raw.byteLength; return { ...p, raw: r }; }) }));
  const head = Buffer.alloc(8);
  head.write('MSB1', 0, 'latin1');
  head.writeUInt32LE(json.byteLength, 4);
  const v1 = Buffer.concat([head, json, ...blobs]);
  const back = decodeBatch(v1);
  assert.deepEqual(back.packets.map((p) => [p.no, [...p.raw]]), b!.packets.map((p) => [p.no, [...p.raw]]));
  assert.ok(validateBatch(decodeWire(v1)).ok);
  assert.throws(() => decodeWire(v1.subarray(0, 30)), /cut short|JSON/);
  assert.throws(() => decodeWire(Buffer.from('MSB9........')), /not a spooled batch/);
});

test('Spool: oldest first, removed once acknowledged, what was not acknowledged is there after a restart, in order', (t) => {
  const dir = tempDir(t);
  const spool = new Spool(dir);
  for (const b of batches(50, 10)) assert.ok(spool.append(b));
  assert.equal(spool.length, 5);
  assert.equal(spool.records, 50);
  // Two batches acknowledged, then the agent dies (a half-written file is left behind).
  spool.remove(spool.peek()!);
  spool.remove(spool.peek()!);
  writeFileSync(join(dir, '000000000099.3.batch.tmp'), 'half');
  const restarted = new Spool(dir);
  assert.deepEqual(restarted.list().map((e) => restarted.read(e).seq), [2, 3, 4]);
  assert.equal(restarted.records, 30);
  assert.ok(!readdirSync(dir).some((n) => n.endsWith('.tmp')), 'the half-written batch is gone');
  // Numbering continues after the restart: a new batch goes behind the old ones.
  const [late] = batches(1, 10);
  restarted.append({ ...late!, seq: 99 });
  assert.deepEqual(restarted.list().map((e) => restarted.read(e).seq), [2, 3, 4, 99]);
});

test('Spool: bounded by bytes, a batch that does not fit is refused and nothing is written', (t) => {
  const dir = tempDir(t);
  const all = batches(30, 10);
  const size = (i: number) => encodeBatch(all[i]!).byteLength;
  const spool = new Spool(dir, size(0) + size(1) + size(2) - 1);
  assert.ok(spool.append(all[0]!));
  assert.ok(spool.append(all[1]!));
  assert.equal(spool.append(all[2]!), false);
  assert.equal(spool.length, 2);
  assert.equal(readdirSync(dir).filter((n) => n.endsWith('.batch')).length, 2);
  spool.remove(spool.peek()!);
  assert.ok(spool.append(all[2]!), 'room again once a batch was acknowledged');
});

test('Spool: a refused batch moves to rejected/ and the queue goes on', (t) => {
  const dir = tempDir(t);
  const spool = new Spool(dir);
  for (const b of batches(20, 10)) spool.append(b);
  const moved = spool.discard(spool.peek()!);
  assert.match(moved, /rejected/);
  assert.equal(spool.read(spool.peek()!).seq, 1);
  assert.equal(new Spool(dir).length, 1, 'rejected batches are not resent after a restart');
});

test('BatchSender: a batch the API could not store for its own reason (retry) is sent again, one it refuses goes to rejected/', async (t) => {
  const dir = tempDir(t);
  const spool = new Spool(dir);
  for (const b of batches(30, 10)) spool.append(b);
  const answers: BatchAck[] = [
    { ok: false, error: 'could not store the batch; see the API log', retry: true },
    { ok: true, stored: { packets: 10, sessions: 0, timeline: 0, mails: 0 } },
    { ok: false, error: 'batch.packets[3].no: must be an integer' },
    { ok: true, stored: { packets: 10, sessions: 0, timeline: 0, mails: 0 } },
  ];
  const sent: number[] = [];
  const acked: number[] = [];
  const rejected: number[] = [];
  const sender = new BatchSender(spool, {
    isConnected: () => true,
    send: async (batch) => {
      sent.push(batch.seq);
      return answers.shift() ?? { ok: false, error: 'no more answers', retry: true };
    },
  }, { acked: (b) => acked.push(b.seq), rejected: (b) => rejected.push(b?.seq ?? -1) }, 60_000, 10);
  sender.wake();
  assert.equal(await sender.drain(5000), true);
  assert.deepEqual(sent, [0, 0, 1, 2]);
  assert.deepEqual(acked, [0, 2]);
  assert.deepEqual(rejected, [1]);
  assert.equal(readdirSync(join(dir, 'rejected')).length, 1, 'only the refused batch');
});

test('Spool: capture ids it ever spooled for are known after a restart, and capture:start refuses them', (t) => {
  const dir = tempDir(t);
  const OTHER = '00000000-0000-4000-8000-0000000000bb';
  const NEW = '00000000-0000-4000-8000-0000000000cc';
  const spool = new Spool(dir);
  assert.equal(refuseUsedCaptureId(spool, CAPTURE), undefined, 'a new id may be captured under');
  for (const b of batches(30, 10)) assert.ok(spool.append(b));
  // OTHER's batches all acknowledged before the crash: still a used id.
  const [o] = batches(5, 10);
  assert.ok(spool.append({ ...o!, captureId: OTHER }));
  spool.remove(spool.list().at(-1)!);
  assert.deepEqual(refuseUsedCaptureId(spool, CAPTURE), { ok: false, error: CAPTURE_ID_USED }, 'spooled in this process');

  const restarted = new Spool(dir);
  assert.deepEqual([...restarted.usedBefore].sort(), [CAPTURE, OTHER]);
  assert.deepEqual(refuseUsedCaptureId(restarted, CAPTURE), { ok: false, error: CAPTURE_ID_USED_BEFORE });
  assert.deepEqual(refuseUsedCaptureId(restarted, OTHER.toUpperCase()), { ok: false, error: CAPTURE_ID_USED_BEFORE });
  assert.equal(refuseUsedCaptureId(restarted, NEW), undefined);
  // The old capture's batches are still there to be sent, in order.
  assert.deepEqual(restarted.list().map((e) => restarted.read(e).seq), [0, 1, 2]);

  // A spool folder from before the id list: the ids come from the batches left in it.
  rmSync(join(dir, 'captures'));
  const legacy = new Spool(dir);
  assert.deepEqual([...legacy.usedBefore], [CAPTURE]);
  assert.deepEqual(refuseUsedCaptureId(legacy, CAPTURE), { ok: false, error: CAPTURE_ID_USED_BEFORE });
  assert.deepEqual([...new Spool(dir).usedBefore], [CAPTURE], 'and are listed from then on');
});

/** prioritizeCapture in a child process (it changes the calling thread), optionally as user nobody. */
function prioritizeInChild(niceness: number, asNobody: boolean): { problem: string | null; nice: number } {
  const script = `import('${new URL('../src/capture/priority.ts', import.meta.url).href}').then((m) => {
    const problem = m.prioritizeCapture(${niceness});
    console.log(JSON.stringify({ problem: problem ?? null, nice: require('node:os').getPriority() }));
  });`;
  const node = [process.execPath, '--import', 'tsx', '-e', script];
  const [cmd, ...args] = asNobody ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...node] : node;
  return JSON.parse(execFileSync(cmd!, args, { encoding: 'utf8', cwd: new URL('..', import.meta.url).pathname })) as { problem: string | null; nice: number };
}

test('prioritizeCapture: the capture thread gets the niceness asked for; without the right, a message says how, and nothing changes', () => {
  assert.equal(process.getuid?.(), 0, 'this test runs as root (CI does): it checks both sides of the permission');
  assert.deepEqual(prioritizeInChild(-7, false), { problem: null, nice: -7 });
  const denied = prioritizeInChild(-7, true);
  assert.equal(denied.nice, 0);
  assert.match(denied.problem ?? '', /could not set the capture thread's niceness to -7 \(EACCES; it stays 0\).*root.*CAP_SYS_NICE.*--nice 0/);
  // Raising the niceness needs no right.
  assert.deepEqual(prioritizeInChild(5, true), { problem: null, nice: 5 });
  assert.match(prioritizeInChild(-21, false).problem ?? '', /not an integer from -20 to 19/);
});
