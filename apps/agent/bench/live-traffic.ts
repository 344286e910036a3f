/**
 * The traffic side of live-bench.ts, in a process of its own so that generating the load does not
 * take the event loop and the core of the agent and API it measures: an SMTP server (smtp-server)
 * and a POP3 server on loopback, and, per step the parent asks for, SMTP submissions and POP3
 * retrievals started at a given rate with a bounded concurrency. The SMTP client is a small one on
 * node:net by default (EHLO, AUTH LOGIN, MAIL, RCPT, DATA, QUIT, each reply awaited), or
 * nodemailer's (`smtpClient: 'nodemailer'`), which builds every message with MailComposer and
 * took ~2x the CPU per session, so that the generator, not the agent, was the limit on 2 cores.
 * Talks to the parent over IPC: `ready` once both servers listen; on `step` drives the step and
 * answers `done` with what it drove; on `close` stops.
 */
import { connect as netConnect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { cpuSeconds } from '../../api/bench/cpu-time.ts';
import { pop3Message, sendMail, sleep, startPop3Server, startSmtpServer } from '../test/helpers/mail-servers.ts';

export interface TrafficConfig {
  readonly smtpPort: number;
  readonly pop3Port: number;
  readonly concurrency: number;
  /** Share of the sessions that are POP3 retrievals (the rest SMTP). */
  readonly pop3Share: number;
  readonly smtpClient: 'raw' | 'nodemailer';
}

export type TrafficRequest = { readonly type: 'step'; readonly rate: number; readonly seconds: number } | { readonly type: 'close' };
export type TrafficMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly driven: number; readonly failed: number; readonly skipped: number; readonly seconds: number; readonly cpuSeconds: number }
  | { readonly type: 'error'; readonly message: string };

const config = JSON.parse(process.env.MAILSCOPE_BENCH_TRAFFIC ?? '{}') as TrafficConfig;
const send = (m: TrafficMessage): void => {
  process.send?.(m);
};

/**
 * One client dialogue over node:net: the server's greeting, then each of `lines` sent once the
 * whole answer to the one before has come (`complete` tells, given the line it answers: undefined
 * for the greeting), and `check` says what is wrong with an answer (the i-th, greeting 0), if
 * anything. Resolves when the server closes after answering the last line.
 */
function dialogue(
  port: number,
  lines: readonly string[],
  complete: (answer: string, to: string | undefined) => boolean,
  check: (answer: string, i: number) => string | undefined = () => undefined,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    let buf = '';
    let answers = 0;
    socket.setEncoding('latin1');
    socket.on('error', reject);
    socket.on('close', () => (answers > lines.length ? resolve() : reject(new Error(`closed after ${answers} of ${lines.length + 1} answers`))));
    socket.on('data', (chunk: string) => {
      buf += chunk;
      if (!complete(buf, lines[answers - 1])) return;
      const wrong = check(buf, answers);
      if (wrong !== undefined) {
        socket.destroy();
        reject(new Error(wrong));
        return;
      }
      buf = '';
      answers++;
      if (answers <= lines.length) socket.write(lines[answers - 1]!);
    });
  });
}

/** A POP3 retrieval: greeting, USER, PASS, RETR 1, QUIT, each answer awaited. */
function pop3Retr(port: number): Promise<void> {
  // RETR's answer ends with CRLF.CRLF; the other answers with CRLF.
  return dialogue(port, ['USER alice\r\n', 'PASS s3cret\r\n', 'RETR 1\r\n', 'QUIT\r\n'],
    (answer, to) => (to === 'RETR 1\r\n' ? answer.endsWith('\r\n.\r\n') : answer.endsWith('\r\n')));
}

/**
 * One SMTP submission over node:net: the dialogue nodemailer has with smtp-server (EHLO, AUTH
 * LOGIN, MAIL, RCPT, DATA with a small MIME mail, QUIT), each reply awaited, without building a
 * message per mail.
 */
function smtpSubmit(port: number, n: number): Promise<void> {
  const mail = [
    'From: alice@example.com', 'To: bob@example.net', `Subject: Bench ${n}`, `Message-ID: <bench${n}@example.com>`,
    'Date: Fri, 02 Jan 2026 03:04:05 +0000', 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '',
    'Hello Bob,', `mail ${n}`, 'bye', '.', '',
  ].join('\r\n');
  const lines = [
    'EHLO client.example.com\r\n', 'AUTH LOGIN\r\n', `${Buffer.from('alice').toString('base64')}\r\n`, `${Buffer.from('s3cret').toString('base64')}\r\n`,
    'MAIL FROM:<alice@example.com>\r\n', 'RCPT TO:<bob@example.net>\r\n', 'DATA\r\n', mail, 'QUIT\r\n',
  ];
  const expected = ['220', '250', '334', '334', '235', '250', '250', '354', '250', '221'];
  // A reply is complete at its last line: the code followed by a space.
  const lastLine = (answer: string): string => answer.split('\r\n').at(-2) ?? '';
  return dialogue(port, lines, (answer) => /^\d{3} /.test(lastLine(answer)),
    (answer, i) => (lastLine(answer).startsWith(expected[i]!) ? undefined : `SMTP: expected ${expected[i]}, got '${lastLine(answer)}'`));
}

let serial = 0;

/** Starts `rate` sessions a second for `seconds`, at most `concurrency` at once, and waits for them all. */
async function drive(rate: number, seconds: number): Promise<TrafficMessage> {
  const cpu0 = cpuSeconds();
  let inFlight = 0;
  let driven = 0;
  let failed = 0;
  let skipped = 0;
  const running = new Set<Promise<void>>();
  const t0 = performance.now();
  const tickMs = 10;
  let due = 0;
  while (performance.now() - t0 < seconds * 1000) {
    due += (rate * tickMs) / 1000;
    while (due >= 1) {
      due -= 1;
      if (inFlight >= config.concurrency) {
        skipped++;
        continue;
      }
      inFlight++;
      driven++;
      const n = serial++;
      const smtp = (): Promise<void> => (config.smtpClient === 'nodemailer' ? sendMail(config.smtpPort, `Bench ${n}`, `Hello Bob,\r\nmail ${n}\r\nbye\r\n`) : smtpSubmit(config.smtpPort, n));
      const p = (Math.random() < config.pop3Share ? pop3Retr(config.pop3Port) : smtp())
        .catch(() => void failed++)
        .finally(() => {
          inFlight--;
          running.delete(p);
        });
      running.add(p);
    }
    await sleep(tickMs);
  }
  await Promise.all([...running]);
  return { type: 'done', driven, failed, skipped, seconds: (performance.now() - t0) / 1000, cpuSeconds: cpuSeconds() - cpu0 };
}

try {
  const smtp = await startSmtpServer(config.smtpPort);
  const pop3 = await startPop3Server(config.pop3Port, [pop3Message('Fetched over POP3')]);
  process.on('message', (m: TrafficRequest) => {
    if (m.type === 'step') void drive(m.rate, m.seconds).then(send, (e: unknown) => send({ type: 'error', message: String(e) }));
    if (m.type === 'close') void Promise.all([smtp.close(), pop3.close()]).finally(() => process.exit(0));
  });
  send({ type: 'ready' });
} catch (e) {
  send({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  process.exit(1);
}
