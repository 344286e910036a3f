/**
 * Golden files: each synthetic dialogue of fixtures/dialogues/ is replayed through the whole
 * pipeline (capture reader, Analyzer, mail summary) and its events, normalised to what a person
 * reviews, are compared with the committed `<name>.expected.json`. The captures themselves must be
 * what `fixtures/make-dialogues.ts` generates.
 *
 * After a deliberate change: UPDATE_GOLDEN=1 node --import tsx --test test/dialogues.test.ts,
 * then read the diff of the JSON files before committing it.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { Analyzer } from '../src/analyzer.ts';
import { CaptureReader } from '../src/capture-reader.ts';
import type { AnalyzerEvent } from '../src/events.ts';
import { summarizeMail } from '../src/mail-summary.ts';
import { writePcap } from '../src/pcap-writer.ts';
import { LinkType } from '../src/types.ts';
import { DIALOGUES_DIR, dialogues, type Dialogue } from '../fixtures/make-dialogues.ts';

async function replay(d: Dialogue, file: Uint8Array): Promise<unknown> {
  const events: AnalyzerEvent[] = [];
  const analyzer = new Analyzer({ smtpPorts: d.smtpPorts, pop3Ports: d.pop3Ports, anyPort: d.anyPort }, (e) => events.push(e));
  const reader = new CaptureReader();
  // Odd-sized chunks: the reader's carry-over is part of what is replayed.
  for (let i = 0; i < file.length; i += 777) reader.push(file.subarray(i, i + 777), (f) => analyzer.push(f));
  assert.equal(reader.end(), undefined);
  analyzer.end();

  const out: unknown[] = [];
  let packets = 0;
  let inSessions = 0;
  for (const e of events) {
    switch (e.type) {
      case 'packet':
        packets++;
        if (e.sessionId !== undefined) inSessions++;
        break;
      case 'session-opened':
        out.push({ opened: e.sessionId, protocol: e.protocol, client: `${e.client.addr}:${e.client.port}`, server: `${e.server.addr}:${e.server.port}`, sawSyn: e.sawSyn, detectedBy: e.detectedBy });
        break;
      case 'timeline': {
        const latency = e.latencyUs === undefined ? '' : ` (${(e.latencyUs / 1000).toFixed(1)} ms)`;
        const auth = e.auth ? ` ${JSON.stringify(e.auth)}` : '';
        out.push(`${e.sessionId}.${e.seq} ${e.dir === 'client' ? 'C' : 'S'} ${e.kind} ${e.verb} ${e.arg}${auth}${latency} #${e.frames.join(',')}`);
        break;
      }
      case 'mail': {
        const s = await summarizeMail(e.raw);
        out.push({
          mail: `${e.sessionId}.${e.index}`,
          command: e.command,
          messageNumber: e.messageNumber,
          envelope: e.envelope,
          size: e.size,
          sha256: e.sha256,
          complete: e.complete,
          finalReply: e.finalReply,
          subject: s.subject,
          from: s.from,
          to: s.to,
          attachments: s.attachments,
        });
        break;
      }
      case 'session-closed': {
        const { type: _t, startTs: _s, endTs: _e, client: _c, server: _v, ...rest } = e;
        out.push({ closed: rest });
        break;
      }
    }
  }
  return { about: d.about, packets, inSessions, events: out };
}

for (const d of dialogues()) {
  test(`golden: ${d.name}`, async () => {
    const generated = writePcap(LinkType.ETHERNET, d.frames);
    const committed = readFileSync(new URL(`${d.name}.pcap`, DIALOGUES_DIR));
    assert.ok(Buffer.from(generated).equals(committed), `${d.name}.pcap differs from what make-dialogues.ts writes: run it`);
    const got = await replay(d, committed);
    const expectedFile = new URL(`${d.name}.expected.json`, DIALOGUES_DIR);
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(expectedFile, `${JSON.stringify(got, null, 2)}\n`);
    const expected: unknown = JSON.parse(readFileSync(expectedFile, 'utf8'));
    assert.deepEqual(JSON.parse(JSON.stringify(got)), expected);
  });
}
