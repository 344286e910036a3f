/**
 * Text the CLI prints: the session table, a session's dialogue, NDJSON lines. Pure functions of the
 * engine's events (events.ts); colour is a parameter, decided by the caller from the terminal.
 */
import type {
  AnalyzerEvent,
  MailEvent,
  SessionClosedEvent,
  SessionOpenedEvent,
  TimelineEvent,
} from '@mailscope/protocols/events';
import type { Endpoint } from '@mailscope/protocols/session';

/** What a password looks like in every output of the CLI. */
export const MASK = '****';

/** ANSI styling, or none. */
export interface Style {
  readonly dim: (s: string) => string;
  readonly bold: (s: string) => string;
  readonly red: (s: string) => string;
  readonly green: (s: string) => string;
  readonly yellow: (s: string) => string;
  readonly cyan: (s: string) => string;
}

const sgr =
  (open: number, close: number) =>
  (s: string): string =>
    `\u001b[${open}m${s}\u001b[${close}m`;

/** Styling for a terminal. */
export const ANSI: Style = {
  dim: sgr(2, 22),
  bold: sgr(1, 22),
  red: sgr(31, 39),
  green: sgr(32, 39),
  yellow: sgr(33, 39),
  cyan: sgr(36, 39),
};

const id = (s: string): string => s;
/** No styling (output is a file or a pipe). */
export const PLAIN: Style = { dim: id, bold: id, red: id, green: id, yellow: id, cyan: id };

/** `2013-12-17 14:50:16.123` (UTC) from µs since the epoch. */
export function formatTime(ts: number): string {
  const iso = new Date(Math.floor(ts / 1000)).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

/** `192.0.2.1:25`, `[2001:db8::1]:25`. */
export function formatEndpoint(e: Endpoint): string {
  return e.addr.includes(':') ? `[${e.addr}]:${e.port}` : `${e.addr}:${e.port}`;
}

/** Seconds since `startTs` as `+1.234s`. */
export function formatOffset(ts: number, startTs: number): string {
  return `+${((ts - startTs) / 1_000_000).toFixed(3)}s`;
}

/** `1.2 ms`, `350 ms`, `2.41 s`. */
export function formatLatency(us: number): string {
  const ms = us / 1000;
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/** `#7` or `#7-9` or `#7,12` for a unit's frames. */
export function formatFrames(frames: readonly number[]): string {
  const first = frames[0];
  const last = frames[frames.length - 1];
  if (first === undefined || last === undefined) return '';
  if (frames.length === 1) return `#${first}`;
  if (last - first === frames.length - 1) return `#${first}-${last}`;
  // A mail in transfer spans up to thousands of frames; the first and last say where to look.
  return frames.length <= 4 ? `#${frames.join(',')}` : `#${first}..${last} (${frames.length} frames)`;
}

function pad(s: string, width: number): string {
  return s.length >= width ? s : s + ' '.repeat(width - s.length);
}

function padStart(s: string, width: number): string {
  return s.length >= width ? s : ' '.repeat(width - s.length) + s;
}

/** A session as the table shows it: opened, and closed once the engine closed it. */
export interface SessionRow {
  readonly opened: SessionOpenedEvent;
  readonly closed?: SessionClosedEvent;
}

const TABLE_HEADER = ['#', 'time (UTC)', 'proto', 'client -> server', 'user', 'outcome', 'mails', 'packets'] as const;

/**
 * The session table, one line per session in id order, then a totals line. Columns: id, start
 * time, protocol, client -> server, auth user (`-` when none; `(failed)` when refused), outcome,
 * mails, packets (client+server).
 */
export function formatSessionTable(rows: readonly SessionRow[], style: Style = PLAIN): string {
  const cells = rows.map((r) => {
    const c = r.closed;
    const user = c?.authUser === undefined ? '-' : c.authSuccess === false ? `${c.authUser} (failed)` : c.authUser;
    return [
      String(r.opened.sessionId),
      formatTime(r.opened.startTs),
      r.opened.protocol.toUpperCase(),
      `${formatEndpoint(r.opened.client)} -> ${formatEndpoint(r.opened.server)}`,
      user,
      c?.outcome ?? 'open',
      String(c?.mails ?? 0),
      String(c === undefined ? 0 : c.packets.client + c.packets.server),
    ];
  });
  const widths = TABLE_HEADER.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]?.length ?? 0)));
  const numeric = new Set([0, 6, 7]);
  const line = (row: readonly string[]): string =>
    row
      .map((cell, i) => (numeric.has(i) ? padStart(cell, widths[i] ?? 0) : pad(cell, widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const out = [style.bold(line(TABLE_HEADER))];
  for (const [i, row] of cells.entries()) {
    const outcome = rows[i]?.closed?.outcome;
    const text = line(row);
    out.push(outcome === 'auth-failed' || outcome === 'rejected' || outcome === 'aborted' ? style.red(text) : text);
  }
  return out.join('\n');
}

/** Totals over the sessions, e.g. `3 sessions (2 SMTP, 1 POP3), 4 mails, 118 packets, 2 anomalies`. */
export function formatTotals(rows: readonly SessionRow[], frames: number): string {
  let smtp = 0;
  let pop3 = 0;
  let mails = 0;
  let packets = 0;
  let anomalies = 0;
  for (const r of rows) {
    if (r.opened.protocol === 'smtp') smtp++;
    else pop3++;
    mails += r.closed?.mails ?? 0;
    packets += r.closed === undefined ? 0 : r.closed.packets.client + r.closed.packets.server;
    anomalies += r.closed?.anomalies ?? 0;
  }
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  return (
    `${plural(rows.length, 'session')} (${smtp} SMTP, ${pop3} POP3), ${plural(mails, 'mail')}, ` +
    `${plural(packets, 'packet')} in sessions of ${plural(frames, 'frame')} read, ${plural(anomalies, 'anomaly').replace('anomalys', 'anomalies')}`
  );
}

function replyStyle(verb: string, style: Style): (s: string) => string {
  if (verb.startsWith('4') || verb.startsWith('5') || verb === '-ERR') return style.red;
  return style.green;
}

/** One timeline entry as dialogue lines (a multi-line reply gives one line per reply line). */
export function formatTimelineEntry(e: TimelineEvent, startTs: number, style: Style = PLAIN): string[] {
  const head = `${padStart(formatOffset(e.ts, startTs), 10)}  ${pad(formatFrames(e.frames), 9)} `;
  const cont = ' '.repeat(head.length);
  const side = e.dir === 'client' ? 'C:' : 'S:';
  switch (e.kind) {
    case 'tcp':
      return [style.dim(`${head}${e.dir === 'client' ? 'C ' : 'S '} [${e.verb}]${e.arg === '' ? '' : ` ${e.arg}`}`)];
    case 'command':
      return [style.cyan(`${head}C: ${e.verb}${e.arg === '' ? '' : ` ${e.arg}`}`)];
    case 'reply': {
      const lines = e.arg.split('\n');
      const latency = e.latencyUs === undefined ? '' : style.dim(`  (${formatLatency(e.latencyUs)})`);
      const paint = replyStyle(e.verb, style);
      const isSmtpCode = /^[0-9]{3}$/.test(e.verb);
      return lines.map((text, i) => {
        const last = i === lines.length - 1;
        const prefix = isSmtpCode ? `${e.verb}${last ? ' ' : '-'}` : i === 0 ? `${e.verb} ` : '';
        const body = `${i === 0 ? head : cont}${side} ${prefix}${text}`.trimEnd();
        return paint(body) + (i === 0 ? latency : '');
      });
    }
    case 'auth': {
      const a = e.auth;
      const parts = [`AUTH ${a?.mechanism ?? e.verb}`];
      if (a?.user !== undefined) parts.push(`user ${a.user}`);
      if (a?.password !== undefined) parts.push(`password ${MASK}`);
      if (a?.success !== undefined) parts.push(a.success ? '(accepted)' : '(refused)');
      const text = `${head}${side} ${parts.join('  ')}`;
      return [a?.success === false ? style.red(text) : style.bold(text)];
    }
    case 'data':
      return [style.dim(`${head}${side} [data] ${e.verb === '' ? '' : `${e.verb} `}${e.arg}`.trimEnd())];
    case 'tls':
      return [style.yellow(`${head}-- ${e.verb} ${e.arg}`.trimEnd())];
    case 'anomaly':
      return [style.yellow(style.bold(`${head}!! ${e.verb}: ${e.arg}`))];
  }
}

/** One mail of a session: envelope, headers, size, hash, attachments. */
export function formatMail(m: MailEvent, style: Style = PLAIN): string[] {
  const s = m.summary;
  const state = m.complete ? 'complete' : style.red('incomplete');
  const reply = m.finalReply === undefined ? '' : `, final reply ${m.finalReply}`;
  const out = [
    style.bold(`Mail ${m.index}`) + ` (${m.direction} by ${m.command}${m.messageNumber === undefined ? '' : ` ${m.messageNumber}`}): ` +
      `${m.size} bytes, ${state}${reply}`,
  ];
  if (m.envelope !== undefined) {
    out.push(`  MAIL FROM: ${m.envelope.mailFrom}`);
    if (m.envelope.rcptTo.length > 0) out.push(`  RCPT TO:   ${m.envelope.rcptTo.join(', ')}`);
  }
  if (s !== undefined) {
    if (s.parseError !== undefined) out.push(style.yellow(`  (headers unreadable: ${s.parseError})`));
    out.push(`  From:      ${s.from ?? '-'}`);
    out.push(`  To:        ${s.to.length > 0 ? s.to.join(', ') : '-'}`);
    if (s.cc.length > 0) out.push(`  Cc:        ${s.cc.join(', ')}`);
    out.push(`  Subject:   ${s.subject ?? '-'}`);
    if (s.date !== undefined) out.push(`  Date:      ${s.date}`);
    for (const a of s.attachments) {
      out.push(`  attachment ${a.filename ?? '(unnamed)'}  ${a.contentType}  ${a.size} bytes  sha256 ${a.sha256}`);
    }
  }
  out.push(style.dim(`  sha256 ${m.sha256}`));
  return out;
}

/** Everything `--session N` prints for one session, from its events in order. */
export function formatSessionDialogue(events: readonly AnalyzerEvent[], style: Style = PLAIN): string {
  const opened = events.find((e): e is SessionOpenedEvent => e.type === 'session-opened');
  const closed = events.find((e): e is SessionClosedEvent => e.type === 'session-closed');
  if (opened === undefined) return '';
  const out: string[] = [];
  out.push(
    style.bold(
      `Session ${opened.sessionId}  ${opened.protocol.toUpperCase()}  ${formatEndpoint(opened.client)} -> ${formatEndpoint(opened.server)}  ` +
        `${formatTime(opened.startTs)} UTC`,
    ),
  );
  if (closed !== undefined) {
    const auth =
      closed.authUser === undefined
        ? 'no auth'
        : `user ${closed.authUser}${closed.authMechanism === undefined ? '' : ` (${closed.authMechanism}`}` +
          `${closed.authSuccess === undefined ? '' : closed.authSuccess ? ', accepted' : ', refused'}${closed.authMechanism === undefined ? '' : ')'}`;
    out.push(
      `  outcome ${closed.outcome}, ${auth}, ${closed.mails} mail${closed.mails === 1 ? '' : 's'}, ` +
        `packets ${closed.packets.client} C / ${closed.packets.server} S, bytes ${closed.bytes.client} C / ${closed.bytes.server} S, ` +
        `closed by ${closed.closeReason} after ${((closed.endTs - closed.startTs) / 1_000_000).toFixed(3)}s`,
    );
    const trouble = [
      closed.retransmissions > 0 ? `${closed.retransmissions} retransmissions` : '',
      closed.gaps > 0 ? `${closed.gaps} gaps (${closed.gapBytes} bytes missing)` : '',
      closed.anomalies > 0 ? `${closed.anomalies} anomalies` : '',
      closed.encrypted ? 'encrypted after STARTTLS/STLS' : '',
      opened.sawSyn ? '' : 'picked up mid-stream (no SYN)',
    ].filter((t) => t !== '');
    if (trouble.length > 0) out.push(style.yellow(`  ${trouble.join(', ')}`));
  }
  out.push('');
  for (const e of events) {
    if (e.type === 'timeline') out.push(...formatTimelineEntry(e, opened.startTs, style));
  }
  const mails = events.filter((e): e is MailEvent => e.type === 'mail');
  for (const m of mails) {
    out.push('');
    out.push(...formatMail(m, style));
  }
  return out.join('\n');
}

/**
 * One NDJSON line for an event: mail bytes left out (`raw` omitted; `--save-mail` writes them),
 * every password replaced by `****`.
 */
export function toJsonLine(e: AnalyzerEvent): string {
  if (e.type === 'mail') {
    const { raw: _raw, ...rest } = e;
    return JSON.stringify(rest);
  }
  if (e.type === 'timeline' && e.auth?.password !== undefined) {
    return JSON.stringify({ ...e, auth: { ...e.auth, password: MASK } });
  }
  return JSON.stringify(e);
}
