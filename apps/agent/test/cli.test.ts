import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const BIN = join(HERE, '../bin/mailscope-agent.js');
const CORPUS = join(HERE, '../../../../shared/corpus');

/** The corpus is a fixture: missing means the test fails, loudly, never that it is skipped. */
function corpus(...parts: string[]): string {
  const path = join(CORPUS, ...parts);
  assert.ok(existsSync(path), `corpus file missing: ${path} (expected /work/shared/corpus next to the repo)`);
  return path;
}

function run(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'mailscope-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** tshark's fields.tsv as records keyed by column name. */
function tsharkFields(capture: string): Record<string, string>[] {
  const [header = '', ...lines] = readFileSync(corpus('expected', capture, 'tshark', 'fields.tsv'), 'utf8').split('\n');
  const cols = header.split('\t');
  return lines.filter((l) => l !== '').map((l) => Object.fromEntries(l.split('\t').map((v, i) => [cols[i] ?? '', v])));
}

const ZEEK_SMTP = 'zeek_smtp.pcap';

test('zeek_smtp.pcap: the table lists the SMTP sessions of Zeek\'s smtp.log with the AUTH user tshark decodes', () => {
  const r = run('analyze', corpus('pcaps', ZEEK_SMTP));
  assert.equal(r.code, 0, r.stderr);
  const smtpLog = readFileSync(
    corpus('expected', ZEEK_SMTP, 'zeek', 'scripts.base.protocols.smtp.basic', 'smtp.log'),
    'utf8',
  )
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split('\t'));
  assert.equal(smtpLog.length, 2, 'zeek logged two SMTP transactions');
  const rows = r.stdout.split('\n').filter((l) => /^\s*\d+ +\d{4}-\d\d-\d\d /.test(l));
  assert.equal(rows.length, smtpLog.length);
  for (const [i, fields] of smtpLog.entries()) {
    const [, , origH, origP, respH, respP] = fields;
    assert.ok(rows[i]?.includes(`${origH}:${origP} -> ${respH}:${respP}`), `row ${i + 1}: ${rows[i]}`);
    assert.match(rows[i] ?? '', /SMTP/);
    assert.match(rows[i] ?? '', /delivered/);
  }
  const user = tsharkFields(ZEEK_SMTP).find((f) => f['smtp.auth.username'] !== '')?.['smtp.auth.username'] ?? '';
  assert.ok(user !== '', 'tshark decoded an AUTH user');
  assert.ok(rows[0]?.includes(Buffer.from(user, 'base64').toString('utf8')), rows[0]);
  assert.match(r.stdout, /^2 sessions \(2 SMTP, 0 POP3\), 2 mails, /m);
});

test('sv_pop3.pcap: one POP3 session, the USER tshark saw, and --pop3-ports moves it away', () => {
  const r = run('analyze', corpus('pcaps', 'sv_pop3.pcap'));
  assert.equal(r.code, 0, r.stderr);
  const user = tsharkFields('sv_pop3.pcap').find((f) => f['pop.request.command'] === 'USER')?.['pop.request.parameter'];
  assert.ok(user !== undefined && user !== '');
  assert.match(r.stdout, new RegExp(`POP3 .* ${user.replace(/\./g, '\\.')} +retrieved`));
  const none = run('analyze', corpus('pcaps', 'sv_pop3.pcap'), '--pop3-ports', '1110');
  assert.equal(none.code, 0);
  assert.match(none.stdout, /No SMTP or POP3 sessions found/);
});

test('--session 1 reads as a dialogue: handshake, EHLO/AUTH/MAIL/RCPT/DATA/QUIT, latency, masked password, the mail', () => {
  const r = run('analyze', corpus('pcaps', ZEEK_SMTP), '--session', '1');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Session 1 {2}SMTP {2}10\.10\.1\.4:1470 -> 74\.53\.140\.153:25/);
  assert.match(r.stdout, /C {2}\[SYN\]/);
  for (const verb of ['EHLO', 'AUTH', 'MAIL', 'RCPT', 'DATA', 'QUIT']) {
    assert.match(r.stdout, new RegExp(`C: ${verb}\\b`), verb);
  }
  assert.match(r.stdout, /S: 354 /);
  assert.match(r.stdout, /S: 250 .*\(\d+ ms\)/);
  assert.match(r.stdout, /user gurpartap@patriots\.in {2}password \*\*\*\*/);
  const password = tsharkFields(ZEEK_SMTP).find((f) => f['smtp.auth.password'] !== '')?.['smtp.auth.password'] ?? '';
  assert.ok(password !== '');
  assert.ok(!r.stdout.includes(Buffer.from(password, 'base64').toString('utf8')), 'the password is never printed');
  assert.match(r.stdout, /Subject: {3}SMTP/);
  assert.match(r.stdout, /attachment NEWS\.txt/);
  assert.ok(!r.stdout.includes('\u001b['), 'no colours when stdout is not a terminal');
});

test('--json: every line parses, sessions close, mails carry a summary and no raw bytes, passwords masked', () => {
  const r = run('analyze', corpus('pcaps', ZEEK_SMTP), '--json');
  assert.equal(r.code, 0, r.stderr);
  const events = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(events.filter((e) => e.type === 'packet').length, 125, 'one packet record per frame');
  assert.equal(events.filter((e) => e.type === 'session-closed').length, 2);
  const mails = events.filter((e) => e.type === 'mail');
  assert.equal(mails.length, 2);
  for (const m of mails) {
    assert.equal(m.raw, undefined);
    assert.equal(typeof (m.summary as { subject?: unknown }).subject, 'string');
  }
  const auth = events.find((e) => e.type === 'timeline' && e.kind === 'auth') as { auth?: { password?: string } } | undefined;
  assert.equal(auth?.auth?.password, '****');
  const only = run('analyze', corpus('pcaps', ZEEK_SMTP), '--json', '--session', '2');
  const ids = new Set(only.stdout.trimEnd().split('\n').map((l) => (JSON.parse(l) as { sessionId?: number }).sessionId));
  assert.deepEqual([...ids], [2]);
});

test('--save-mail writes <session>-<index>.eml whose sha256 are the helper_reassembly manifest\'s', (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'mails');
  const r = run('analyze', corpus('pcaps', ZEEK_SMTP), '--save-mail', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`2 mails written to ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  const files = readdirSync(out).sort();
  assert.deepEqual(files, ['1-1.eml', '2-1.eml']);
  const manifest = readFileSync(corpus('expected', ZEEK_SMTP, 'helper_reassembly', 'manifest.tsv'), 'utf8')
    .split('\n')
    .slice(1)
    .filter((l) => l !== '')
    .map((l) => l.split('\t')[8]);
  const ours = files.map((f) => createHash('sha256').update(readFileSync(join(out, f))).digest('hex'));
  assert.deepEqual(ours.sort(), manifest.sort());
});

test('a missing file: one line naming it, exit 1', () => {
  const r = run('analyze', '/nonexistent/dir/capture.pcap');
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'mailscope-agent: /nonexistent/dir/capture.pcap: no such file\n');
  assert.equal(r.stdout, '');
});

test('a text file: "not a pcap or pcapng capture", exit 1', (t) => {
  const file = join(tempDir(t), 'notes.txt');
  writeFileSync(file, 'EHLO this is not a capture\r\n');
  const r = run('analyze', file);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `mailscope-agent: ${file}: not a pcap or pcapng capture\n`);
  assert.equal(r.stdout, '');
});

test('a truncated copy: the sessions found so far, then a warning naming the file, exit 1', (t) => {
  const file = join(tempDir(t), 'cut.pcap');
  writeFileSync(file, readFileSync(corpus('pcaps', ZEEK_SMTP)).subarray(0, 20_000));
  const r = run('analyze', file);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /10\.10\.1\.4:1470 -> 74\.53\.140\.153:25/);
  assert.match(r.stdout, /^1 session \(1 SMTP, 0 POP3\)/m);
  assert.match(r.stderr, new RegExp(`^mailscope-agent: warning: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: truncated at byte \\d+`));
});

test('bad port lists and options exit 2 with the message', () => {
  const r = run('analyze', corpus('pcaps', ZEEK_SMTP), '--smtp-ports', '70000');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--smtp-ports: '70000' is not a port: ports are 1-65535/);
  assert.equal(r.stdout, '');
  const dup = run('analyze', corpus('pcaps', ZEEK_SMTP), '--pop3-ports', '110;110');
  assert.equal(dup.code, 2);
  assert.match(dup.stderr, /port 110 is listed twice/);
  const shared = run('analyze', corpus('pcaps', ZEEK_SMTP), '--pop3-ports', '25');
  assert.equal(shared.code, 2);
  assert.match(shared.stderr, /one protocol only/);
  assert.equal(run('analyze', corpus('pcaps', ZEEK_SMTP), '--session', 'x').code, 2);
  assert.equal(run('analyze', corpus('pcaps', ZEEK_SMTP), '--bogus').code, 2);
  assert.equal(run('analyze').code, 2);
  assert.equal(run('frobnicate').code, 2);
  for (const nice of ['30', 'abc', '-2.5']) {
    const r = run('run', '--api', 'http://127.0.0.1:9', '--token', 't', '--nice', nice);
    assert.equal(r.code, 2, `--nice ${nice}`);
    assert.match(r.stderr, new RegExp(`--nice: '${nice.replace('.', '\\.')}' is not an integer from -20 to 19`));
  }
  // A negative niceness after a space is the option's value, not an option.
  assert.match(run('run', '--api', 'http://127.0.0.1:9', '--token', 't', '--nice', '-21').stderr, /--nice: '-21' is not an integer/);
});

test('--session N of a session that does not exist says which exist, exit 1', () => {
  const r = run('analyze', corpus('pcaps', ZEEK_SMTP), '--session', '9');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no session 9 \(sessions are 1-2\)/);
});

test('--help and analyze --help', () => {
  const main = run('--help');
  assert.equal(main.code, 0);
  assert.match(main.stdout, /analyze FILE/);
  const analyze = run('analyze', '--help');
  assert.equal(analyze.code, 0);
  for (const opt of ['--smtp-ports', '--pop3-ports', '--any-port', '--save-mail', '--session', '--json', 'Exit status']) {
    assert.ok(analyze.stdout.includes(opt), opt);
  }
});
