/**
 * GET /api/sessions/:id as the session page reads it: `data` entries name their mail, a
 * RETRANSMISSION entry names the packet it repeated and the entry those bytes belong to (so a
 * command sent twice on the wire is one command), and the mails carry what the Mails tab lists.
 * Captures go through the real upload path (worker, engine, ingest): a synthetic one with a
 * retransmitted EHLO, and the corpus' zeek_smtp.pcap (DATA segments retransmitted).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { writePcap } from '@mailscope/protocols/pcap-writer';
import { maskCredentialLine } from '../src/services/data-flow.ts';
import type { TestApi } from './ingest-harness.ts';
import { signIn, startApi, testServers } from './ingest-harness.ts';
import { T0, tcpFrame } from './helpers.ts';

/** The shared corpus beside the repository: `<repo>/../shared/corpus`. */
const CORPUS = fileURLToPath(new URL('../../../../shared/corpus', import.meta.url));

interface Entry {
  seq: number; dir: string; kind: string; verb: string; arg: string; frames: number[];
  mail?: number | null; retransmission?: { originalFrame: number | null; entrySeq: number | null } | null;
  auth: { mechanism: string | null; user: string | null; password: string | null } | null;
}
interface Detail {
  session: { id: string; retransmissions: number };
  timeline: Entry[];
  mails: { id: string; index: number; direction: string; command: string; from: string | null; to: string[]; subject: string | null; mailFrom: string | null; rcptTo: string[]; size: number; attachments: number; complete: boolean; hasRaw: boolean; finalReply: string | null }[];
}

async function upload(api: TestApi, cookie: string, fileName: string, content: Uint8Array): Promise<string> {
  const boundary = `----mailscope${Date.now()}`;
  const payload = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${fileName}"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    content,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const res = await api.app.inject({ method: 'POST', url: '/api/uploads', headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, cookie }, payload });
  assert.equal(res.statusCode, 202, res.body);
  const { id } = res.json() as { id: string };
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    const r = await api.app.inject({ method: 'GET', url: `/api/uploads/${id}`, headers: { cookie } });
    const body = r.json() as { status: string; error: string | null };
    if (body.status === 'done') return id;
    if (body.status === 'failed') throw new Error(`${fileName}: ${body.error ?? ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${fileName} not analysed within 60 s`);
}

async function detailsOf(api: TestApi, cookie: string, captureId: string): Promise<Detail[]> {
  const list = await api.app.inject({ method: 'GET', url: `/api/sessions?captureId=${captureId}`, headers: { cookie } });
  assert.equal(list.statusCode, 200, list.body);
  const out: Detail[] = [];
  for (const s of (list.json() as { sessions: { id: string }[] }).sessions) {
    const res = await api.app.inject({ method: 'GET', url: `/api/sessions/${s.id}`, headers: { cookie } });
    assert.equal(res.statusCode, 200, res.body);
    out.push(res.json() as Detail);
  }
  return out;
}

/** SMTP with the client's EHLO segment sent twice (same sequence number), then a short mail. */
function retransmittedEhlo(): Uint8Array {
  const C = ['192.0.2.10', 40010] as const;
  const S = ['198.51.100.20', 25] as const;
  const c = (seq: number, ack: number, flags: number, text = '') => tcpFrame(C[0], C[1], S[0], S[1], seq, ack, flags, text);
  const s = (seq: number, ack: number, flags: number, text = '') => tcpFrame(S[0], S[1], C[0], C[1], seq, ack, flags, text);
  const lines = {
    greet: '220 mx.example.net ESMTP\r\n',
    ehlo: 'EHLO client.example.org\r\n',
    hi: '250 mx.example.net\r\n',
    mail: 'MAIL FROM:<a@example.org>\r\n',
    ok: '250 2.1.0 Ok\r\n',
    rcpt: 'RCPT TO:<b@example.net>\r\n',
    ok2: '250 2.1.5 Ok\r\n',
    data: 'DATA\r\n',
    go: '354 go ahead\r\n',
    body: 'From: a@example.org\r\nTo: b@example.net\r\nSubject: twice\r\n\r\nhello\r\n.\r\n',
    queued: '250 2.0.0 queued\r\n',
    quit: 'QUIT\r\n',
    bye: '221 bye\r\n',
  };
  let cs = 1000;
  let ss = 5000;
  const frames: Uint8Array[] = [c(cs, 0, 0x02), s(ss, cs + 1, 0x12)];
  cs++;
  ss++;
  frames.push(c(cs, ss, 0x10));
  const server = (t: string) => {
    frames.push(s(ss, cs, 0x18, t));
    ss += t.length;
  };
  const client = (t: string, again = false) => {
    frames.push(c(cs, ss, 0x18, t));
    if (again) frames.push(c(cs, ss, 0x18, t));
    cs += t.length;
  };
  server(lines.greet);
  client(lines.ehlo, true);
  server(lines.hi);
  client(lines.mail);
  server(lines.ok);
  client(lines.rcpt);
  server(lines.ok2);
  client(lines.data);
  server(lines.go);
  client(lines.body);
  server(lines.queued);
  client(lines.quit);
  server(lines.bye);
  frames.push(c(cs, ss, 0x11), s(ss, cs + 1, 0x11), c(cs + 1, ss + 1, 0x10));
  return writePcap(1, frames.map((data, i) => ({ ts: T0 + i * 1000, data })));
}

for (const server of await testServers()) {
  describe(`session detail links (${server.name})`, () => {
    test('a retransmitted EHLO is one command; its RETRANSMISSION entry points at it; the DATA body names mail 1', async () => {
      const api = await startApi(server);
      const cookie = await signIn(api.db, 'admin');
      const put = await api.app.inject({
        method: 'PUT', url: '/api/settings', headers: { cookie },
        payload: { saveMail: true, saveLocation: null, smtpPorts: '25', pop3Ports: '110', captureFilter: '', anyPort: false },
      });
      assert.equal(put.statusCode, 200, put.body);
      const captureId = await upload(api, cookie, 'ehlo-twice.pcap', retransmittedEhlo());
      const [d] = await detailsOf(api, cookie, captureId);
      assert.ok(d !== undefined);
      const ehlos = d.timeline.filter((e) => e.kind === 'command' && e.verb === 'EHLO');
      assert.equal(ehlos.length, 1, 'EHLO once, however often it was on the wire');
      const ehlo = ehlos[0]!;
      const re = d.timeline.filter((e) => e.verb === 'RETRANSMISSION');
      assert.equal(re.length, 1);
      assert.equal(d.session.retransmissions, 1);
      assert.deepEqual(re[0]!.retransmission, { originalFrame: ehlo.frames[0], entrySeq: ehlo.seq });
      assert.equal(re[0]!.frames[0], ehlo.frames[0]! + 1, 'the copy is the frame after the original');

      const data = d.timeline.filter((e) => e.kind === 'data');
      assert.deepEqual(data.map((e) => e.mail), [1]);
      assert.ok(d.timeline.filter((e) => e.kind !== 'data').every((e) => e.mail === undefined));
      assert.ok(d.timeline.filter((e) => e.verb !== 'RETRANSMISSION').every((e) => e.retransmission === undefined));
      assert.equal(d.mails.length, 1);
      const m = d.mails[0]!;
      assert.deepEqual(
        { index: m.index, direction: m.direction, command: m.command, from: m.from, to: m.to, subject: m.subject, mailFrom: m.mailFrom, rcptTo: m.rcptTo, complete: m.complete, hasRaw: m.hasRaw, attachments: m.attachments, finalReply: m.finalReply },
        { index: 1, direction: 'sent', command: 'DATA', from: 'a@example.org', to: ['b@example.net'], subject: 'twice', mailFrom: 'a@example.org', rcptTo: ['b@example.net'], complete: true, hasRaw: true, attachments: 0, finalReply: '250' },
      );
      assert.equal(m.size, 'From: a@example.org\r\nTo: b@example.net\r\nSubject: twice\r\n\r\nhello\r\n'.length);
      assert.equal('frames' in m, false, 'mail frames stay out of the page data');
    });

    test('zeek_smtp.pcap: every retransmitted DATA segment points at the DATA body of mail 1; Save Mail off: hasRaw false', async () => {
      const api = await startApi(server);
      const cookie = await signIn(api.db, 'admin');
      const captureId = await upload(api, cookie, 'zeek_smtp.pcap', await readFile(join(CORPUS, 'pcaps', 'zeek_smtp.pcap')));
      const details = await detailsOf(api, cookie, captureId);
      const d = details.find((x) => x.timeline.some((e) => e.verb === 'RETRANSMISSION'));
      assert.ok(d !== undefined, 'the session with retransmissions');
      const body = d.timeline.find((e) => e.kind === 'data');
      assert.ok(body !== undefined);
      assert.equal(body.mail, 1);
      const re = d.timeline.filter((e) => e.verb === 'RETRANSMISSION');
      assert.equal(re.length, d.session.retransmissions);
      for (const e of re) {
        assert.equal(e.retransmission?.entrySeq, body.seq, `frame ${e.frames[0]} repeats the DATA body`);
        const original = e.retransmission?.originalFrame;
        assert.ok(original !== null && original !== undefined && original < e.frames[0]! && body.frames.includes(original));
      }
      assert.deepEqual(d.mails.map((m) => [m.index, m.direction, m.command, m.hasRaw]), [[1, 'sent', 'DATA', false]]);
      for (const x of details) {
        for (const e of x.timeline) if (e.kind === 'data') assert.ok(x.mails.some((m) => m.index === e.mail), `session ${x.session.id}: data entry ${e.seq} names a mail`);
      }
    });

    test('the data flow and the packet list mask the credentials the client sent (AUTH LOGIN, AUTH PLAIN, USER/PASS)', async () => {
      const api = await startApi(server);
      const cookie = await signIn(api.db, 'admin');
      const viewer = await signIn(api.db, 'viewer');
      const cases = [
        { capture: 'zeek_smtp.pcap', mechanism: 'LOGIN', masked: ['AUTH LOGIN\r\n', '****\r\n'] },
        { capture: 'ark_smtp-data-250.pcap', mechanism: 'PLAIN', masked: ['AUTH PLAIN ****\r\n'] },
        { capture: 'sv_pop3-02-bug-7709.pcap', mechanism: 'USER', masked: ['PASS ****\r\n'] },
      ];
      for (const c of cases) {
        const captureId = await upload(api, cookie, c.capture, await readFile(join(CORPUS, 'pcaps', c.capture)));
        const d = (await detailsOf(api, cookie, captureId)).find((x) => x.timeline.some((e) => e.kind === 'auth' && e.auth?.mechanism === c.mechanism));
        assert.ok(d !== undefined, `${c.capture}: a session with ${c.mechanism}`);
        const auth = d.timeline.find((e) => e.kind === 'auth' && e.auth?.password === '****')!;
        const reveal = await api.app.inject({ method: 'POST', url: `/api/sessions/${d.session.id}/timeline/${auth.seq}/reveal`, headers: { cookie } });
        assert.equal(reveal.statusCode, 200, reveal.body);
        const { password, user } = reveal.json() as { password: string; user: string };
        assert.ok(password.length >= 4, `${c.capture}: a real password to look for`);
        // The secret as it was on the wire: plain (PASS), or inside Base64 (LOGIN: alone; PLAIN: with the user).
        const secrets = [password, Buffer.from(password).toString('base64'), Buffer.from(`\0${user}\0${password}`).toString('base64').slice(0, 12)];

        const flow = await api.app.inject({ method: 'GET', url: `/api/sessions/${d.session.id}/flow`, headers: { cookie: viewer } });
        assert.equal(flow.statusCode, 200, flow.body);
        const chunks = (flow.json() as { chunks: { dir: string; text: string }[] }).chunks;
        const client = chunks.filter((x) => x.dir === 'client').map((x) => x.text).join('');
        for (const s of secrets) assert.ok(!flow.body.includes(s), `${c.capture}: the flow does not carry ${JSON.stringify(s)}`);
        for (const m of c.masked) assert.ok(client.includes(m), `${c.capture}: the flow reads ${JSON.stringify(m)}`);
        assert.ok(client.includes(c.mechanism === 'USER' ? `USER ${user}` : 'MAIL FROM'), `${c.capture}: the other commands are kept`);

        const packets = await api.app.inject({ method: 'GET', url: `/api/sessions/${d.session.id}/packets?limit=500`, headers: { cookie: viewer } });
        assert.equal(packets.statusCode, 200, packets.body);
        for (const s of secrets) assert.ok(!packets.body.includes(s), `${c.capture}: no packet info carries ${JSON.stringify(s)}`);
        const infos = (packets.json() as { packets: { info: string }[] }).packets.map((p) => p.info);
        assert.ok(infos.some((i) => i.endsWith('****')), `${c.capture}: the credential's packet says it was masked`);
      }
    });

    test('maskCredentialLine keeps commands and masks arguments that are secrets and SASL responses', () => {
      const table: [string, string][] = [
        ['PASS hunter2', 'PASS ****'],
        ['pass  two words', 'pass  ****'],
        ['AUTH PLAIN AGFsaWNlAHNlY3JldA==', 'AUTH PLAIN ****'],
        ['AUTH LOGIN', 'AUTH LOGIN'],
        ['APOP mrose c4c9334bac560ecc979e58001b3e22fb', 'APOP mrose ****'],
        ['dXNlcgBzZWNyZXQ=', '****'],
        ['*', '*'],
        ['', ''],
        ['USER alice', 'USER alice'],
        ['MAIL FROM:<a@example.org>', 'MAIL FROM:<a@example.org>'],
        ['QUITxyz', '****'],
      ];
      for (const [line, masked] of table) assert.equal(maskCredentialLine(line), masked, line);
    });
  });
}
