/**
 * The demo capture `npm start -- --demo` imports: the committed file is what demo/make-demo.ts
 * writes, and the engine finds in it what the README and the generator promise.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Analyzer } from '@mailscope/protocols/analyzer';
import { CaptureReader } from '@mailscope/protocols/capture-reader';
import type { AnalyzerEvent } from '@mailscope/protocols/events';
import { demoCapture } from '../demo/make-demo.ts';

const FILE = new URL('../demo/mailscope-demo.pcap', import.meta.url);

test('demo/mailscope-demo.pcap is what demo/make-demo.ts generates (run npm run demo-capture after changing it)', () => {
  assert.deepEqual(new Uint8Array(readFileSync(FILE)), demoCapture());
});

test('the demo capture holds a delivered submission, a refused relay, a failed AUTH and a POP3 retrieval', () => {
  const events: AnalyzerEvent[] = [];
  const analyzer = new Analyzer({ smtpPorts: [25, 587], pop3Ports: [110], anyPort: false }, (e) => events.push(e));
  const reader = new CaptureReader();
  reader.push(new Uint8Array(readFileSync(FILE)), (f) => analyzer.push(f));
  assert.equal(reader.end(), undefined);
  analyzer.end();
  const closed = events.flatMap((e) => (e.type === 'session-closed' ? [e.outcome] : []));
  assert.deepEqual(closed, ['delivered', 'rejected', 'auth-failed', 'retrieved']);
  const mails = events.filter((e) => e.type === 'mail');
  assert.equal(mails.length, 2);
  const anomalies = events.filter((e) => e.type === 'timeline' && e.kind === 'anomaly');
  assert.deepEqual(anomalies, [], 'a clean demo: no anomaly');
  // Small enough to commit and to upload in a blink.
  assert.ok(readFileSync(FILE).length < 64 * 1024);
});
