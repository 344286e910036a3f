/**
 * Any-port detection: decides from the first bytes of each direction whether a connection on an
 * unlisted port speaks SMTP or POP3. The server's greeting decides when it is there (both protocols
 * greet first); a client that talks first is judged by its first command.
 */
import type { MailProtocol } from './session.ts';

export type DetectVerdict = MailProtocol | 'unknown' | 'not-mail';

const SMTP_CLIENT_VERBS = ['EHLO', 'HELO', 'LHLO'] as const;
const POP3_CLIENT_VERBS = ['USER', 'CAPA', 'APOP', 'STLS'] as const;

/** The first complete line of `bytes` as ASCII (at most 512 bytes), or undefined when incomplete. */
function firstLine(bytes: Uint8Array): string | undefined {
  const lf = bytes.indexOf(0x0a);
  if (lf === -1) return undefined;
  let s = '';
  const end = Math.min(lf, 512);
  for (let i = 0; i < end; i++) s += String.fromCharCode(bytes[i]!);
  return s.replace(/\r$/, '');
}

/**
 * `client` and `server` are the first bytes each side sent (possibly empty or partial).
 * Returns 'unknown' while more bytes could still decide.
 */
export function detectMailProtocol(client: Uint8Array, server: Uint8Array): DetectVerdict {
  const greeting = firstLine(server);
  if (greeting !== undefined) {
    // RFC 5321 §4.2: "220 " or "220-" opens, "554 " refuses; RFC 1939: "+OK" or "-ERR".
    if (/^(220|554|421)[ -]/.test(greeting) || /^(220|554|421)$/.test(greeting)) return 'smtp';
    if (/^(\+OK|-ERR)( |$)/i.test(greeting)) return 'pop3';
    return 'not-mail';
  }
  const command = firstLine(client);
  if (command !== undefined) {
    const verb = command.split(' ', 1)[0]!.toUpperCase();
    if ((SMTP_CLIENT_VERBS as readonly string[]).includes(verb)) return 'smtp';
    if ((POP3_CLIENT_VERBS as readonly string[]).includes(verb)) return 'pop3';
    return 'not-mail';
  }
  return 'unknown';
}
