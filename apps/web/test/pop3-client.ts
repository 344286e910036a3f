/**
 * A small real POP3 client (RFC 1939) over node:net for spec 3. curl's pop3:// sends CAPA, USER,
 * PASS, then one of RETR / LIST / DELE (-X) per connection and never STAT, so it cannot produce
 * the whole dialogue USER PASS STAT LIST RETR DELE QUIT in one session; this client does, and
 * checks every reply.
 */
import { connect } from 'node:net';

export interface Pop3Result {
  /** Each command with the first line of its reply. */
  readonly transcript: string[];
  /** Message 1 as RETR returned it (dot-stuffing removed, without the final '.'). */
  readonly retrieved: Buffer;
}

export async function pop3Dialogue(port: number, user: string, password: string): Promise<Pop3Result> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.setTimeout(10_000, () => socket.destroy(new Error('POP3 server silent for 10 s')));
  let buffer = Buffer.alloc(0);
  let waiter: (() => void) | undefined;
  let failure: Error | undefined;
  socket.on('data', (c: Buffer) => {
    buffer = Buffer.concat([buffer, c]);
    waiter?.();
  });
  socket.on('error', (e) => {
    failure = e;
    waiter?.();
  });
  socket.on('close', () => {
    failure ??= new Error('connection closed');
    waiter?.();
  });

  /** Resolves with the bytes up to and including `terminator` once they have arrived. */
  const readUntil = async (terminator: string): Promise<Buffer> => {
    for (;;) {
      const i = buffer.indexOf(terminator);
      if (i >= 0) {
        const out = buffer.subarray(0, i + terminator.length);
        buffer = buffer.subarray(i + terminator.length);
        return out;
      }
      if (failure !== undefined) throw failure;
      await new Promise<void>((r) => {
        waiter = r;
      });
      waiter = undefined;
    }
  };
  const transcript: string[] = [];
  /** The first line of what is buffered, once complete, without consuming it. */
  const peekLine = async (): Promise<string> => {
    for (;;) {
      const i = buffer.indexOf('\r\n');
      if (i >= 0) return buffer.subarray(0, i).toString('latin1');
      if (failure !== undefined) throw failure;
      await new Promise<void>((r) => {
        waiter = r;
      });
      waiter = undefined;
    }
  };
  const command = async (line: string, multiLine = false): Promise<Buffer> => {
    socket.write(`${line}\r\n`);
    const status = await peekLine();
    transcript.push(`${line.startsWith('PASS ') ? 'PASS ****' : line} -> ${status}`);
    if (!status.startsWith('+OK')) throw new Error(`POP3 ${line.split(' ')[0]}: ${status}`);
    if (!multiLine) {
      await readUntil('\r\n');
      return Buffer.alloc(0);
    }
    // status CRLF, the lines (each CRLF-terminated, dot-stuffed), '.' CRLF.
    const all = await readUntil('\r\n.\r\n');
    const body = all.subarray(Buffer.byteLength(status, 'latin1') + 2, all.length - 3);
    return Buffer.from(body.toString('latin1').replace(/(^|\r\n)\.\./g, '$1.'), 'latin1');
  };

  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  const greeting = (await readUntil('\r\n')).toString('latin1').trimEnd();
  if (!greeting.startsWith('+OK')) throw new Error(`POP3 greeting: ${greeting}`);
  await command(`USER ${user}`);
  await command(`PASS ${password}`);
  await command('STAT');
  await command('LIST', true);
  const retrieved = await command('RETR 1', true);
  await command('DELE 1');
  await command('QUIT');
  await new Promise<void>((resolve) => {
    if (socket.closed) resolve();
    else socket.once('close', () => resolve());
  });
  return { transcript, retrieved };
}
