/**
 * What SMTP and POP3 commands and replies mean, one line each with the RFC that defines them: the
 * text of the UI's tooltips and of the CLI's annotations. Plain data, no behaviour beyond lookup.
 */

/** One reference entry: a one-line meaning and where it is defined. */
export interface ReferenceEntry {
  readonly summary: string;
  readonly rfc: string;
}

/** SMTP commands (verb in upper case). */
export const SMTP_COMMANDS = {
  HELO: { summary: 'Identify the client to the server (basic SMTP)', rfc: 'RFC 5321 §4.1.1.1' },
  EHLO: { summary: 'Identify the client and ask for the server\'s extensions (ESMTP)', rfc: 'RFC 5321 §4.1.1.1' },
  MAIL: { summary: 'Start a mail transaction: MAIL FROM:<reverse-path> with optional parameters', rfc: 'RFC 5321 §4.1.1.2' },
  RCPT: { summary: 'Add a recipient: RCPT TO:<forward-path>', rfc: 'RFC 5321 §4.1.1.3' },
  DATA: { summary: 'Send the message; it ends with a line holding only "."', rfc: 'RFC 5321 §4.1.1.4' },
  BDAT: { summary: 'Send the message in chunks of a stated size (CHUNKING); LAST marks the end', rfc: 'RFC 3030 §2' },
  RSET: { summary: 'Abort the current mail transaction', rfc: 'RFC 5321 §4.1.1.5' },
  VRFY: { summary: 'Ask whether a mailbox exists', rfc: 'RFC 5321 §4.1.1.6' },
  EXPN: { summary: 'Ask for the members of a mailing list', rfc: 'RFC 5321 §4.1.1.7' },
  HELP: { summary: 'Ask for help text', rfc: 'RFC 5321 §4.1.1.8' },
  NOOP: { summary: 'Do nothing; the server answers 250', rfc: 'RFC 5321 §4.1.1.9' },
  QUIT: { summary: 'End the session; the server answers 221 and closes', rfc: 'RFC 5321 §4.1.1.10' },
  STARTTLS: { summary: 'Switch the connection to TLS; what follows is encrypted', rfc: 'RFC 3207 §4' },
  AUTH: { summary: 'Authenticate with a SASL mechanism (PLAIN, LOGIN, CRAM-MD5, XOAUTH2, ...)', rfc: 'RFC 4954 §4' },
  ETRN: { summary: 'Ask the server to start delivering mail queued for a domain', rfc: 'RFC 1985' },
  TURN: { summary: 'Swap client and server roles (obsolete, insecure)', rfc: 'RFC 821 §4.1.1' },
  ATRN: { summary: 'Authenticated TURN: swap roles to receive queued mail', rfc: 'RFC 2645' },
  XCLIENT: { summary: 'Postfix extension: a trusted proxy passes the original client\'s attributes', rfc: 'Postfix XCLIENT_README' },
} as const satisfies Record<string, ReferenceEntry>;

/** POP3 commands (verb in upper case). */
export const POP3_COMMANDS = {
  USER: { summary: 'Name the mailbox to log in to (followed by PASS)', rfc: 'RFC 1939 §7' },
  PASS: { summary: 'Give the password for the mailbox named by USER', rfc: 'RFC 1939 §7' },
  APOP: { summary: 'Log in with an MD5 digest of the greeting\'s timestamp and a shared secret', rfc: 'RFC 1939 §7' },
  AUTH: { summary: 'Authenticate with a SASL mechanism', rfc: 'RFC 5034 §4' },
  STAT: { summary: 'Ask for the number of messages and their total size', rfc: 'RFC 1939 §5' },
  LIST: { summary: 'List message numbers and sizes, or one message\'s size', rfc: 'RFC 1939 §5' },
  RETR: { summary: 'Retrieve a whole message', rfc: 'RFC 1939 §5' },
  DELE: { summary: 'Mark a message for deletion; it goes at QUIT', rfc: 'RFC 1939 §5' },
  NOOP: { summary: 'Do nothing; the server answers +OK', rfc: 'RFC 1939 §5' },
  RSET: { summary: 'Unmark every message marked for deletion', rfc: 'RFC 1939 §5' },
  QUIT: { summary: 'End the session; in TRANSACTION state, deletes the marked messages (UPDATE)', rfc: 'RFC 1939 §6' },
  TOP: { summary: 'Retrieve a message\'s headers and its first N body lines', rfc: 'RFC 1939 §7' },
  UIDL: { summary: 'Ask for the unique id of every message, or of one', rfc: 'RFC 1939 §7' },
  CAPA: { summary: 'Ask for the server\'s capabilities', rfc: 'RFC 2449 §5' },
  STLS: { summary: 'Switch the connection to TLS; what follows is encrypted', rfc: 'RFC 2595 §4' },
  UTF8: { summary: 'Enable UTF-8 mode', rfc: 'RFC 6856 §2' },
} as const satisfies Record<string, ReferenceEntry>;

/** SMTP reply codes (RFC 5321 §4.2 and the extensions that added codes). */
export const SMTP_REPLY_CODES = {
  '211': { summary: 'System status or help reply', rfc: 'RFC 5321 §4.2.3' },
  '214': { summary: 'Help message', rfc: 'RFC 5321 §4.2.3' },
  '220': { summary: 'Service ready (greeting); also: ready to start TLS', rfc: 'RFC 5321 §4.2.3' },
  '221': { summary: 'Service closing the connection', rfc: 'RFC 5321 §4.2.3' },
  '235': { summary: 'Authentication succeeded', rfc: 'RFC 4954 §6' },
  '250': { summary: 'Requested action okay, completed', rfc: 'RFC 5321 §4.2.3' },
  '251': { summary: 'User not local; will forward', rfc: 'RFC 5321 §4.2.3' },
  '252': { summary: 'Cannot verify the user, but will accept the message and attempt delivery', rfc: 'RFC 5321 §4.2.3' },
  '334': { summary: 'Authentication challenge (Base64); the client answers with the next step', rfc: 'RFC 4954 §4' },
  '354': { summary: 'Start mail input; end with <CRLF>.<CRLF>', rfc: 'RFC 5321 §4.2.3' },
  '421': { summary: 'Service not available, closing the connection', rfc: 'RFC 5321 §4.2.3' },
  '432': { summary: 'A password transition is needed', rfc: 'RFC 4954 §6' },
  '450': { summary: 'Mailbox unavailable (busy or temporarily blocked); try again later', rfc: 'RFC 5321 §4.2.3' },
  '451': { summary: 'Local error in processing; action aborted, try again later', rfc: 'RFC 5321 §4.2.3' },
  '452': { summary: 'Insufficient system storage (or too many recipients); try again later', rfc: 'RFC 5321 §4.2.3' },
  '454': { summary: 'Temporary authentication failure, or TLS not available', rfc: 'RFC 4954 §6, RFC 3207 §4' },
  '455': { summary: 'Server unable to accommodate the parameters', rfc: 'RFC 5321 §4.2.3' },
  '500': { summary: 'Syntax error, command unrecognised (or line too long)', rfc: 'RFC 5321 §4.2.3' },
  '501': { summary: 'Syntax error in parameters or arguments', rfc: 'RFC 5321 §4.2.3' },
  '502': { summary: 'Command not implemented', rfc: 'RFC 5321 §4.2.3' },
  '503': { summary: 'Bad sequence of commands', rfc: 'RFC 5321 §4.2.3' },
  '504': { summary: 'Command parameter (or AUTH mechanism) not implemented', rfc: 'RFC 5321 §4.2.3, RFC 4954 §6' },
  '521': { summary: 'Host does not accept mail', rfc: 'RFC 7504 §3' },
  '530': { summary: 'Authentication required (or STARTTLS required first)', rfc: 'RFC 4954 §6, RFC 3207 §4' },
  '534': { summary: 'Authentication mechanism is too weak', rfc: 'RFC 4954 §6' },
  '535': { summary: 'Authentication credentials invalid', rfc: 'RFC 4954 §6' },
  '538': { summary: 'Encryption required for the requested authentication mechanism', rfc: 'RFC 4954 §6' },
  '550': { summary: 'Mailbox unavailable (not found, no access, or rejected by policy)', rfc: 'RFC 5321 §4.2.3' },
  '551': { summary: 'User not local; please try the given forward-path', rfc: 'RFC 5321 §4.2.3' },
  '552': { summary: 'Exceeded storage allocation (message too large or mailbox full)', rfc: 'RFC 5321 §4.2.3' },
  '553': { summary: 'Mailbox name not allowed (syntax)', rfc: 'RFC 5321 §4.2.3' },
  '554': { summary: 'Transaction failed (or, as a greeting, no SMTP service here)', rfc: 'RFC 5321 §4.2.3' },
  '555': { summary: 'MAIL FROM / RCPT TO parameters not recognised or not implemented', rfc: 'RFC 5321 §4.2.3' },
  '556': { summary: 'Domain does not accept mail', rfc: 'RFC 7504 §3' },
} as const satisfies Record<string, ReferenceEntry>;

/** Enhanced status code classes (the first digit of `2.1.5`). */
export const ENHANCED_STATUS_CLASSES = {
  '2': { summary: 'Success', rfc: 'RFC 3463 §3.1' },
  '4': { summary: 'Persistent transient failure: retrying may succeed', rfc: 'RFC 3463 §3.1' },
  '5': { summary: 'Permanent failure: retrying the same way will fail', rfc: 'RFC 3463 §3.1' },
} as const satisfies Record<string, ReferenceEntry>;

/** Enhanced status code subjects (the middle number). */
export const ENHANCED_STATUS_SUBJECTS = {
  '0': { summary: 'Other or undefined status', rfc: 'RFC 3463 §3.2' },
  '1': { summary: 'Addressing status', rfc: 'RFC 3463 §3.2' },
  '2': { summary: 'Mailbox status', rfc: 'RFC 3463 §3.2' },
  '3': { summary: 'Mail system status', rfc: 'RFC 3463 §3.2' },
  '4': { summary: 'Network and routing status', rfc: 'RFC 3463 §3.2' },
  '5': { summary: 'Mail delivery protocol status', rfc: 'RFC 3463 §3.2' },
  '6': { summary: 'Message content or media status', rfc: 'RFC 3463 §3.2' },
  '7': { summary: 'Security or policy status', rfc: 'RFC 3463 §3.2' },
} as const satisfies Record<string, ReferenceEntry>;

/** Common enhanced status details (`subject.detail`, the class left out). */
export const ENHANCED_STATUS_DETAILS = {
  '0.0': { summary: 'Other undefined status', rfc: 'RFC 3463 §3.3' },
  '1.0': { summary: 'Other address status', rfc: 'RFC 3463 §3.4' },
  '1.1': { summary: 'Bad destination mailbox address (no such user)', rfc: 'RFC 3463 §3.4' },
  '1.2': { summary: 'Bad destination system address', rfc: 'RFC 3463 §3.4' },
  '1.3': { summary: 'Bad destination mailbox address syntax', rfc: 'RFC 3463 §3.4' },
  '1.5': { summary: 'Destination address valid', rfc: 'RFC 3463 §3.4' },
  '1.6': { summary: 'Destination mailbox has moved, no forwarding address', rfc: 'RFC 3463 §3.4' },
  '1.7': { summary: 'Bad sender\'s mailbox address syntax', rfc: 'RFC 3463 §3.4' },
  '1.8': { summary: 'Bad sender\'s system address', rfc: 'RFC 3463 §3.4' },
  '2.0': { summary: 'Other or undefined mailbox status', rfc: 'RFC 3463 §3.5' },
  '2.1': { summary: 'Mailbox disabled, not accepting messages', rfc: 'RFC 3463 §3.5' },
  '2.2': { summary: 'Mailbox full', rfc: 'RFC 3463 §3.5' },
  '2.3': { summary: 'Message length exceeds administrative limit', rfc: 'RFC 3463 §3.5' },
  '3.0': { summary: 'Other or undefined mail system status', rfc: 'RFC 3463 §3.6' },
  '3.4': { summary: 'Message too big for system', rfc: 'RFC 3463 §3.6' },
  '4.1': { summary: 'No answer from host', rfc: 'RFC 3463 §3.7' },
  '4.7': { summary: 'Delivery time expired', rfc: 'RFC 3463 §3.7' },
  '5.1': { summary: 'Invalid command', rfc: 'RFC 3463 §3.8' },
  '5.2': { summary: 'Syntax error', rfc: 'RFC 3463 §3.8' },
  '5.3': { summary: 'Too many recipients', rfc: 'RFC 3463 §3.8' },
  '5.4': { summary: 'Invalid command arguments', rfc: 'RFC 3463 §3.8' },
  '6.0': { summary: 'Other or undefined media error', rfc: 'RFC 3463 §3.9' },
  '7.0': { summary: 'Other or undefined security status', rfc: 'RFC 3463 §3.10' },
  '7.1': { summary: 'Delivery not authorized, message refused', rfc: 'RFC 3463 §3.10' },
  '7.8': { summary: 'Authentication credentials invalid', rfc: 'RFC 4954 §6' },
  '7.9': { summary: 'Authentication mechanism is too weak', rfc: 'RFC 4954 §6' },
  '7.11': { summary: 'Encryption required for the requested authentication mechanism', rfc: 'RFC 4954 §6' },
  '7.26': { summary: 'Multiple authentication checks failed (SPF/DKIM/DMARC)', rfc: 'RFC 7372 §3.2' },
} as const satisfies Record<string, ReferenceEntry>;

/** POP3 status indicators and RFC 2449 / RFC 3206 extended response codes (in brackets after -ERR). */
export const POP3_RESPONSES = {
  '+OK': { summary: 'Command succeeded', rfc: 'RFC 1939 §3' },
  '-ERR': { summary: 'Command failed', rfc: 'RFC 1939 §3' },
  '+': { summary: 'SASL continuation: the server\'s challenge (Base64)', rfc: 'RFC 5034 §4' },
  'IN-USE': { summary: 'The mailbox is locked by another session', rfc: 'RFC 2449 §8.1.1' },
  'LOGIN-DELAY': { summary: 'Logged in too recently; wait before logging in again', rfc: 'RFC 2449 §8.1.2' },
  'SYS/TEMP': { summary: 'Temporary system problem; try again later', rfc: 'RFC 3206 §4' },
  'SYS/PERM': { summary: 'Permanent system problem; retrying will not help', rfc: 'RFC 3206 §4' },
  AUTH: { summary: 'Credentials are wrong (not a system problem)', rfc: 'RFC 3206 §5' },
} as const satisfies Record<string, ReferenceEntry>;

/** Mail protocols the reference covers. */
export type ReferenceProtocol = 'smtp' | 'pop3';

function lookup(table: Readonly<Record<string, ReferenceEntry>>, key: string): ReferenceEntry | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/** The entry for a command verb (any case, e.g. `ehlo`), or undefined for an unknown verb. */
export function describeCommand(protocol: ReferenceProtocol, verb: string): ReferenceEntry | undefined {
  return lookup(protocol === 'smtp' ? SMTP_COMMANDS : POP3_COMMANDS, verb.trim().toUpperCase());
}

/**
 * The meaning of an SMTP reply code (`"550"`); an unlisted but well-formed code gets its class's
 * meaning from RFC 5321 §4.2.1 (`2yz` completed, `3yz` intermediate, `4yz` transient failure,
 * `5yz` permanent failure). Undefined when `code` is not three digits 2-5xx.
 */
export function describeSmtpReply(code: string): ReferenceEntry | undefined {
  const known = lookup(SMTP_REPLY_CODES, code);
  if (known !== undefined) return known;
  if (!/^[2-5][0-9][0-9]$/.test(code)) return undefined;
  const classes: Record<string, string> = {
    '2': 'Positive completion: the action was done',
    '3': 'Positive intermediate: send the next part',
    '4': 'Transient negative completion: try again later',
    '5': 'Permanent negative completion: do not retry as is',
  };
  return { summary: classes[code.charAt(0)] ?? 'Unknown', rfc: 'RFC 5321 §4.2.1' };
}

/**
 * The meaning of an enhanced status code (`"5.1.1"`, as at the start of a reply's text): the
 * detail's meaning when listed, else the subject's, prefixed with the class ("Permanent failure:
 * Bad destination mailbox address (no such user)"). Undefined when `status` is not `c.s.d`.
 */
export function describeEnhancedStatus(status: string): ReferenceEntry | undefined {
  const m = /^([245])\.([0-9]{1,3})\.([0-9]{1,3})$/.exec(status.trim());
  if (m === null) return undefined;
  const [, cls = '', subject = '', detail = ''] = m;
  const classEntry = lookup(ENHANCED_STATUS_CLASSES, cls);
  const entry = lookup(ENHANCED_STATUS_DETAILS, `${subject}.${detail}`) ?? lookup(ENHANCED_STATUS_SUBJECTS, subject);
  if (classEntry === undefined) return undefined;
  if (entry === undefined) return classEntry;
  return { summary: `${classEntry.summary.split(':')[0]}: ${entry.summary}`, rfc: entry.rfc };
}
