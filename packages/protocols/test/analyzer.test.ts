import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Analyzer, type AnalyzerOptions } from '../src/analyzer.ts';
import type { AnalyzerEvent, MailEvent, PacketRecord, SessionClosedEvent, SessionOpenedEvent, TimelineEvent } from '../src/events.ts';
import { LinkType, type Frame } from '../src/types.ts';
import { conversation, toFrames, type ConversationOptions, type ConversationStep } from '../fixtures/conversation.ts';

const SMTP_DIALOGUE: ConversationOptions['steps'] = [
  { from: 'server', data: '220 mx.example.net ESMTP\r\n' },
  { from: 'client', data: 'EHLO client.example.org\r\n' },
  { from: 'server', data: '250-mx.example.net\r\n250-AUTH PLAIN LOGIN\r\n250 PIPELINING\r\n' },
  { from: 'client', data: 'AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n' },
  { from: 'server', data: '235 2.7.0 Authentication successful\r\n' },
  { from: 'client', data: 'MAIL FROM:<alice@example.org>\r\n' },
  { from: 'server', data: '250 OK\r\n' },
  { from: 'client', data: 'RCPT TO:<bob@example.net>\r\n' },
  { from: 'server', data: '250 OK\r\n' },
  { from: 'client', data: 'DATA\r\n' },
  { from: 'server', data: '354 go ahead\r\n' },
  { from: 'client', data: 'Subject: hi\r\n\r\n..leading dot\r\nbody\r\n.\r\n' },
  { from: 'server', data: '250 queued\r\n' },
  { from: 'client', data: 'QUIT\r\n' },
  { from: 'server', data: '221 bye\r\n' },
];

function run(frames: readonly Frame[], options: Partial<AnalyzerOptions> = {}, updates?: Map<number, Partial<AnalyzerOptions>>): AnalyzerEvent[] {
  const events: AnalyzerEvent[] = [];
  const analyzer = new Analyzer({ smtpPorts: [25, 587], pop3Ports: [110], ...options }, (e) => events.push(e));
  for (const f of frames) {
    const u = updates?.get(f.no);
    if (u) analyzer.updateSettings({ smtpPorts: [25, 587], pop3Ports: [110], ...u });
    analyzer.push(f);
  }
  analyzer.end();
  return events;
}

const of = <T extends AnalyzerEvent['type']>(events: AnalyzerEvent[], type: T) =>
  events.filter((e): e is Extract<AnalyzerEvent, { type: T }> => e.type === type);

test('an SMTP session on a listed port: events in order, with the mail and the decoded AUTH', () => {
  const frames = toFrames(conversation({ serverPort: 25, steps: SMTP_DIALOGUE }));
  const events = run(frames);
  const packets = of(events, 'packet');
  assert.equal(packets.length, frames.length, 'one packet record per frame');
  const opened = of(events, 'session-opened');
  assert.equal(opened.length, 1);
  const open = opened[0] as SessionOpenedEvent;
  assert.deepEqual([open.protocol, open.client.port, open.server.port, open.sawSyn, open.detectedBy], ['smtp', 40000, 25, true, 'port']);
  // session-opened comes before the record of the frame that opened the session.
  assert.equal(events[0]?.type, 'session-opened');
  assert.equal(events[1]?.type, 'packet');
  // Every packet of the connection names the session.
  assert.ok(packets.every((p) => p.sessionId === open.sessionId));

  const timeline = of(events, 'timeline');
  assert.deepEqual(timeline.map((t) => t.seq), timeline.map((_, i) => i + 1), 'timeline numbered 1..n in order');
  const tcp = timeline.filter((t) => t.kind === 'tcp').map((t) => t.verb);
  assert.deepEqual(tcp.slice(0, 3), ['SYN', 'SYN-ACK', 'ACK']);
  assert.ok(tcp.includes('FIN'));
  const commands = timeline.filter((t) => t.kind === 'command').map((t) => t.verb);
  assert.deepEqual(commands, ['EHLO', 'AUTH', 'MAIL', 'RCPT', 'DATA', 'QUIT']);
  const auth = timeline.find((t) => t.kind === 'auth') as TimelineEvent;
  assert.deepEqual(auth.auth, { mechanism: 'PLAIN', user: 'alice', password: 's3cret', success: true });
  assert.ok(!timeline.some((t) => t.arg.includes('AGFsaWNl')), 'the Base64 credential never appears in an arg');
  const replies = timeline.filter((t) => t.kind === 'reply');
  assert.ok(replies.filter((r) => r.verb !== '220').every((r) => typeof r.latencyUs === 'number' && r.latencyUs > 0));

  const mails = of(events, 'mail');
  assert.equal(mails.length, 1);
  const mail = mails[0] as MailEvent;
  assert.equal(new TextDecoder().decode(mail.raw), 'Subject: hi\r\n\r\n.leading dot\r\nbody\r\n');
  assert.equal(mail.size, mail.raw.length);
  assert.match(mail.sha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(mail.envelope?.rcptTo, ['bob@example.net']);

  const closed = of(events, 'session-closed');
  assert.equal(closed.length, 1);
  const c = closed[0] as SessionClosedEvent;
  assert.equal(c.outcome, 'delivered');
  assert.equal(c.authUser, 'alice');
  assert.equal(c.mails, 1);
  assert.equal(c.closeReason, 'fin');
  // The connection closes at the second FIN; the client's last ACK comes after the summary but
  // still names the session.
  assert.equal(c.packets.client + c.packets.server, frames.length - 1, 'every frame up to the close counted');
  assert.equal(packets.at(-1)?.sessionId, c.sessionId);
  assert.equal(c.bytes.client, SMTP_DIALOGUE.filter((s) => s.from === 'client').reduce((n, s) => n + s.data.length, 0));
  assert.equal(events.indexOf(c) > events.indexOf(mail), true, 'session-closed after the mail');
});

test('packet records: payload packets show their first line, flags and the direction', () => {
  const frames = toFrames(conversation({ serverPort: 25, steps: SMTP_DIALOGUE }));
  const packets = of(run(frames), 'packet');
  const syn = packets[0] as PacketRecord;
  assert.match(syn.info, /^40000 → 25 \[SYN\] Seq=0 /);
  assert.equal(syn.dir, 'client');
  const ehlo = packets.find((p) => p.info === 'C: EHLO client.example.org');
  assert.ok(ehlo, 'EHLO packet info');
  assert.equal(ehlo.protocol, 'SMTP');
  const greeting = packets.find((p) => p.info.startsWith('S: 220'));
  assert.equal(greeting?.dir, 'server');
});

test('a connection on an unlisted port is not a session unless any-port detection is on', () => {
  const frames = toFrames(conversation({ serverPort: 2525, steps: SMTP_DIALOGUE }));
  const off = run(frames);
  assert.equal(of(off, 'session-opened').length, 0);
  assert.ok(of(off, 'packet').every((p) => p.sessionId === undefined));

  const on = run(frames, { anyPort: true });
  const opened = of(on, 'session-opened');
  assert.equal(opened.length, 1);
  assert.equal(opened[0]?.detectedBy, 'content');
  assert.equal(opened[0]?.protocol, 'smtp');
  assert.deepEqual(
    of(on, 'timeline').filter((t) => t.kind === 'command').map((t) => t.verb),
    ['EHLO', 'AUTH', 'MAIL', 'RCPT', 'DATA', 'QUIT'],
    'the held greeting and commands are replayed into the session',
  );
  assert.equal(of(on, 'mail').length, 1);
  // The packets seen before the content decided still belong to the session, handshake included.
  assert.ok(of(on, 'packet').every((p) => p.sessionId === opened[0]?.sessionId));
  assert.deepEqual(of(on, 'timeline').slice(0, 3).map((t) => t.verb), ['SYN', 'SYN-ACK', 'ACK']);
  assert.deepEqual(of(on, 'packet').map((p) => p.no).slice(0, 5), [1, 2, 3, 4, 5], 'in frame order');
});

test('any-port detection recognises POP3 and ignores other protocols', () => {
  const pop3 = toFrames(
    conversation({
      serverPort: 1110,
      steps: [
        { from: 'server', data: '+OK POP3 ready\r\n' },
        { from: 'client', data: 'USER bob\r\n' },
        { from: 'server', data: '+OK\r\n' },
        { from: 'client', data: 'QUIT\r\n' },
        { from: 'server', data: '+OK bye\r\n' },
      ],
    }),
  );
  const events = run(pop3, { anyPort: true });
  assert.equal(of(events, 'session-opened')[0]?.protocol, 'pop3');

  const http = toFrames(
    conversation({
      serverPort: 8080,
      steps: [
        { from: 'client', data: 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' },
        { from: 'server', data: 'HTTP/1.1 200 OK\r\n\r\n' },
      ],
    }),
  );
  assert.equal(of(run(http, { anyPort: true }), 'session-opened').length, 0);
});

test('new port lists apply to connections that start after the change', () => {
  const first = conversation({ serverPort: 1110, clientPort: 41000, steps: [{ from: 'server', data: '+OK hi\r\n' }] });
  const second = conversation({
    serverPort: 1110,
    clientPort: 41001,
    startTs: 1_700_000_100_000_000,
    steps: [{ from: 'server', data: '+OK hi\r\n' }, { from: 'client', data: 'STAT\r\n' }, { from: 'server', data: '+OK 0 0\r\n' }],
  });
  const frames = toFrames([...first, ...second]);
  const changeAt = first.length + 1;
  const events = run(frames, {}, new Map([[changeAt, { pop3Ports: [110, 1110] }]]));
  const opened = of(events, 'session-opened');
  assert.equal(opened.length, 1, 'only the connection after the change is a session');
  assert.equal(opened[0]?.client.port, 41001);
});

test('non-TCP frames get a packet record without a session', () => {
  // An Ethernet ARP frame and a garbage frame.
  const arp = new Uint8Array(42);
  arp[12] = 0x08;
  arp[13] = 0x06;
  const frames: Frame[] = [
    { no: 1, ts: 1, linkType: LinkType.ETHERNET, data: arp, origLen: 42 },
    { no: 2, ts: 2, linkType: 999, data: new Uint8Array([1, 2, 3]), origLen: 3 },
  ];
  const events = run(frames);
  assert.equal(events.length, 2);
  assert.ok(events.every((e) => e.type === 'packet' && e.sessionId === undefined));
});

test('a session picked up mid-stream is still analysed, and its end is reported', () => {
  const frames = toFrames(conversation({ serverPort: 25, noHandshake: true, close: 'none', steps: SMTP_DIALOGUE.slice(5) }));
  const events = run(frames);
  const open = of(events, 'session-opened')[0];
  assert.equal(open?.sawSyn, false);
  assert.equal(open?.client.port, 40000, 'the side on the SMTP port is the server');
  const closed = of(events, 'session-closed')[0];
  assert.equal(closed?.closeReason, 'end-of-capture');
  assert.equal(of(events, 'mail').length, 1);
});

test('the timeline limit keeps a session bounded and says so', () => {
  const steps: ConversationStep[] = [{ from: 'server', data: '220 hi\r\n' }];
  for (let i = 0; i < 30; i++) {
    steps.push({ from: 'client', data: 'NOOP\r\n' }, { from: 'server', data: '250 ok\r\n' });
  }
  const frames = toFrames(conversation({ serverPort: 25, steps }));
  const timeline = of(run(frames, { limits: { maxTimelineEntries: 20 } }), 'timeline');
  assert.ok(timeline.length <= 22, `bounded timeline, got ${timeline.length}`);
  assert.ok(timeline.some((t) => t.verb === 'TIMELINE_LIMIT'));
});

test('nothing on the wire makes the analyzer throw: random frames', () => {
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const base = toFrames(conversation({ serverPort: 25, steps: SMTP_DIALOGUE }));
  const frames: Frame[] = [];
  for (let i = 0; i < 2000; i++) {
    const src = base[Math.floor(rnd() * base.length)]!;
    const data = src.data.slice();
    const flips = 1 + Math.floor(rnd() * 4);
    for (let k = 0; k < flips; k++) data[Math.floor(rnd() * data.length)] = Math.floor(rnd() * 256);
    const cut = rnd() < 0.2 ? data.subarray(0, Math.floor(rnd() * data.length)) : data;
    frames.push({ no: i + 1, ts: 1_700_000_000_000_000 + i, linkType: LinkType.ETHERNET, data: cut, origLen: data.length });
  }
  const events = run(frames, { anyPort: true });
  assert.equal(of(events, 'packet').length, frames.length);
  const opened = new Set(of(events, 'session-opened').map((e) => e.sessionId));
  const closed = new Set(of(events, 'session-closed').map((e) => e.sessionId));
  assert.deepEqual([...closed].sort(), [...opened].sort(), 'every session opened is closed exactly once');
});

test('frames handed over in one reused Node Buffer (as a file or live capture does) give intact mails', () => {
  const frames = toFrames(conversation({ serverPort: 25, mss: 16, steps: SMTP_DIALOGUE }));
  // Out of order too, so that the reassembler has to keep bytes past the call that handed them over.
  const shuffled = [...frames];
  for (let i = 12; i + 1 < shuffled.length - 8; i += 3) [shuffled[i], shuffled[i + 1]] = [shuffled[i + 1]!, shuffled[i]!];
  const events: AnalyzerEvent[] = [];
  const analyzer = new Analyzer({ smtpPorts: [25], pop3Ports: [] }, (e) => events.push(e));
  const reused = Buffer.alloc(2048);
  for (const f of shuffled) {
    reused.fill(0xee);
    reused.set(f.data);
    analyzer.push({ ...f, data: reused.subarray(0, f.data.length) });
  }
  reused.fill(0xee);
  analyzer.end();
  const mail = of(events, 'mail')[0];
  assert.equal(mail && new TextDecoder().decode(mail.raw), 'Subject: hi\r\n\r\n.leading dot\r\nbody\r\n');
  assert.deepEqual(
    of(events, 'timeline').filter((t) => t.kind === 'command').map((t) => t.verb),
    ['EHLO', 'AUTH', 'MAIL', 'RCPT', 'DATA', 'QUIT'],
  );
});
