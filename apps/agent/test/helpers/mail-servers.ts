/**
 * Real mail traffic on loopback for the live-capture tests: an SMTP server (smtp-server) with
 * AUTH LOGIN that keeps what it received, nodemailer as its client, a small POP3 server on
 * node:net (RFC 1939: USER, PASS, STAT, LIST, RETR, DELE, NOOP, QUIT; no maintained npm package
 * is a POP3 server) and curl's pop3:// as the POP3 client.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { promisify } from 'node:util';
import MailComposer from 'nodemailer/lib/mail-composer';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { SMTPServer } from 'smtp-server';

const execFileP = promisify(execFile);

export interface SmtpFixture {
  readonly port: number;
  /** Each mail's DATA content as smtp-server received it (dot-stuffing removed, final CRLF kept). */
  readonly received: Buffer[];
  close(): Promise<void>;
}

export async function startSmtpServer(port: number): Promise<SmtpFixture> {
  const received: Buffer[] = [];
  const server = new SMTPServer({
    authMethods: ['LOGIN', 'PLAIN'],
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === 'alice' && auth.password === 's3cret') callback(null, { user: 'alice' });
      else callback(new Error('Invalid username or password'));
    },
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push(Buffer.concat(chunks));
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return { port, received, close: () => new Promise<void>((done) => server.close(() => done())) };
}

/**
 * Sends one mail with nodemailer's SMTP client: EHLO, AUTH LOGIN, MAIL, RCPT, DATA, then QUIT
 * (nodemailer's transports close their connection without QUIT, and the tests want the whole dialogue).
 */
export async function sendMail(port: number, subject: string, text: string): Promise<void> {
  const message = await new Promise<Buffer>((resolve, reject) => {
    new MailComposer({
      from: 'alice@example.com',
      to: 'bob@example.net',
      subject,
      text,
      messageId: `<${subject.replace(/[^a-z0-9]/gi, '')}@example.com>`,
      date: new Date('2026-01-02T03:04:05Z'),
    })
      .compile()
      .build((err, built) => (err ? reject(err) : resolve(built)));
  });
  const connection = new SMTPConnection({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, name: 'client.example.com' });
  const call = <T>(fn: (cb: (err: Error | null, value?: T) => void) => void): Promise<T | undefined> =>
    new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
  try {
    await call<void>((cb) => connection.connect(() => cb(null)));
    await call<void>((cb) => connection.login({ user: 'alice', pass: 's3cret', method: 'LOGIN' } as SMTPConnection.Credentials, (err) => cb(err ?? null)));
    await call<SMTPConnection.SentMessageInfo>((cb) => connection.send({ from: 'alice@example.com', to: ['bob@example.net'] }, message, (err, info) => cb(err ?? null, info)));
    await new Promise<void>((resolve) => {
      connection.once('end', () => resolve());
      connection.quit();
    });
  } finally {
    connection.close();
  }
}

export interface Pop3Fixture {
  readonly port: number;
  close(): Promise<void>;
}

/** A POP3 maildrop holding `messages` (each CRLF-terminated); user alice, password s3cret. */
export async function startPop3Server(port: number, messages: readonly Buffer[]): Promise<Pop3Fixture> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let state: 'AUTHORIZATION' | 'TRANSACTION' = 'AUTHORIZATION';
    let user = '';
    let carry = '';
    const deleted = new Set<number>();
    socket.write('+OK mailscope test POP3 server ready\r\n');
    socket.on('data', (chunk: Buffer) => {
      carry += chunk.toString('latin1');
      let i: number;
      while ((i = carry.indexOf('\r\n')) >= 0) {
        const line = carry.slice(0, i);
        carry = carry.slice(i + 2);
        const [verbRaw = '', ...args] = line.split(' ');
        const verb = verbRaw.toUpperCase();
        const n = Number(args[0]);
        const msg = Number.isInteger(n) && n >= 1 && n <= messages.length && !deleted.has(n) ? messages[n - 1] : undefined;
        if (verb === 'QUIT') {
          socket.end('+OK bye\r\n');
          return;
        }
        if (state === 'AUTHORIZATION') {
          if (verb === 'USER') {
            user = args.join(' ');
            socket.write('+OK send PASS\r\n');
          } else if (verb === 'PASS') {
            if (user === 'alice' && args.join(' ') === 's3cret') {
              state = 'TRANSACTION';
              socket.write(`+OK ${messages.length} messages\r\n`);
            } else socket.write('-ERR invalid password\r\n');
          } else socket.write('-ERR not in this state\r\n');
          continue;
        }
        switch (verb) {
          case 'STAT':
            socket.write(`+OK ${messages.length - deleted.size} ${messages.reduce((s, m, k) => s + (deleted.has(k + 1) ? 0 : m.length), 0)}\r\n`);
            break;
          case 'LIST':
            if (args.length > 0) socket.write(msg === undefined ? '-ERR no such message\r\n' : `+OK ${n} ${msg.length}\r\n`);
            else socket.write(`+OK\r\n${messages.map((m, k) => (deleted.has(k + 1) ? '' : `${k + 1} ${m.length}\r\n`)).join('')}.\r\n`);
            break;
          case 'RETR':
            if (msg === undefined) socket.write('-ERR no such message\r\n');
            else {
              const stuffed = msg.toString('latin1').replace(/(^|\r\n)\./g, '$1..');
              socket.write(Buffer.concat([Buffer.from(`+OK ${msg.length} octets\r\n`), Buffer.from(stuffed, 'latin1'), Buffer.from('.\r\n')]));
            }
            break;
          case 'DELE':
            if (msg === undefined) socket.write('-ERR no such message\r\n');
            else {
              deleted.add(n);
              socket.write('+OK deleted\r\n');
            }
            break;
          case 'NOOP':
            socket.write('+OK\r\n');
            break;
          default:
            socket.write('-ERR unknown command\r\n');
        }
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port,
    close: () =>
      new Promise<void>((done) => {
        for (const s of sockets) s.destroy();
        server.close(() => done());
      }),
  };
}

/** Retrieves message `n` with curl's POP3 client (USER / PASS, RETR n, QUIT); resolves with what curl printed. */
export async function curlRetr(port: number, n: number): Promise<Buffer> {
  const { stdout } = await execFileP('curl', ['-s', '--max-time', '10', '-u', 'alice:s3cret', `pop3://127.0.0.1:${port}/${n}`], { encoding: 'buffer' });
  return stdout;
}

/** A small mail as a POP3 maildrop holds it. */
export function pop3Message(subject: string): Buffer {
  return Buffer.from(
    `From: carol@example.org\r\nTo: alice@example.com\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/[^a-z0-9]/gi, '')}@example.org>\r\n\r\nHello Alice,\r\n.a line starting with a dot\r\nbye\r\n`,
  );
}

export const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));
