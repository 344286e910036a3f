/**
 * Judges one engine run of a capture against every expected result the corpus holds for it. Each
 * comparison is a `Check` (expected vs got); what cannot be compared is a `Skip` with the reason.
 * The test asserts the checks; the report prints them. Nothing here knows the right answer by
 * heart: every expected value is read from a third-party file (or helper_reassembly / stats.tsv).
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { AnalyzerSettings } from '../../src/analyzer.ts';
import type { CaptureRun, CapturedMail, CapturedSession } from './run-capture.ts';
import {
  loadArkime,
  loadManifest,
  loadNdpi,
  loadStats,
  loadSuricata,
  loadTsharkCredentials,
  loadTsharkExpert,
  loadZeekExtracted,
  loadZeekLogs,
  loadZeekWeirds,
  zeekSet,
  type SuricataFilter,
  type ZeekRow,
} from './expectations.ts';
import { PCAP_DIR } from './paths.ts';

export interface Check {
  /** Reference the expected value comes from: 'helper_reassembly', 'zeek/<test>/smtp.log', 'arkime/x.test', ... */
  readonly reference: string;
  /** Stable name of the comparison within the capture (KNOWN_DIFFERENCES refer to it). */
  readonly what: string;
  readonly expected: string;
  readonly got: string;
  readonly ok: boolean;
}

export interface Skip {
  readonly reference: string;
  readonly what: string;
  readonly reason: string;
}

export interface CaptureVerdict {
  readonly checks: Check[];
  readonly skips: Skip[];
}

// --- settings per capture -----------------------------------------------------------------------

const DEFAULT_SMTP_PORTS = [25, 587];
const DEFAULT_POP3_PORTS = [110];

/**
 * Captures whose mail servers listen on other ports than the defaults (SMTP 25;587, POP3 110):
 * read from tshark/conv_tcp.txt and the Arkime sessions. Ports a capture uses for something else
 * (465 / 995 implicit TLS, 3378 HTTP CONNECT, 6379 Redis, 1080 SOCKS) stay unlisted on purpose.
 */
export const EXTRA_PORTS: Readonly<Record<string, { smtp?: readonly number[]; pop3?: readonly number[]; why: string }>> = {
  'ark_smtp-decrypted.pcap': { smtp: [2525], why: 'two of its four SMTP sessions are on 2525 (Arkime: port 2525)' },
  'ark_wireshark-bdat.pcap': { smtp: [1224], why: 'the only SMTP session is on 1224 (Arkime: port 1224)' },
};

export function settingsFor(capture: string): AnalyzerSettings {
  const extra = EXTRA_PORTS[capture];
  return {
    smtpPorts: [...DEFAULT_SMTP_PORTS, ...(extra?.smtp ?? [])],
    pop3Ports: [...DEFAULT_POP3_PORTS, ...(extra?.pop3 ?? [])],
    anyPort: false,
  };
}

export function capturePath(capture: string): string {
  return join(PCAP_DIR, capture);
}

/**
 * Captures built to crash parsers (corpus README): the right result is a clean run with at least
 * one anomaly recorded.
 */
export const CRAFTED = new Set([
  'zeek_smtp-bdat-cmd-chunk-size-overflow.pcap',
  'zeek_smtp-bdat-cmd-invalid.pcapng',
  'zeek_smtp-bdat-cmd-negative-chunk-size.pcap',
  'sv_bug-1449-01-stackoverflow.pcap',
  'zeek_pop3-bad-list-retr-crafted.pcap',
  'ark_smtp-moloch-bof.pcap',
  'zeek_mime-header-size-limit.pcap',
]);

// --- helpers over a run -------------------------------------------------------------------------

const list = (xs: readonly string[]): string => (xs.length === 0 ? '(none)' : xs.join(', '));
const sorted = (xs: Iterable<string>): string[] => [...new Set(xs)].sort();

function allMails(run: CaptureRun): { session: CapturedSession; mail: CapturedMail }[] {
  return run.sessions.flatMap((session) => session.mails.map((mail) => ({ session, mail })));
}

/** A session that had a protocol dialogue: at least one command or reply (not only TCP events). */
function hasDialogue(s: CapturedSession): boolean {
  return s.timeline.some((e) => e.kind === 'command' || e.kind === 'reply');
}

function anomalyCodes(run: CaptureRun): string[] {
  return run.sessions.flatMap((s) => s.timeline.filter((e) => e.kind === 'anomaly').map((e) => e.verb));
}

/**
 * Unfolded top-level header values of a raw mail, by lower-case name, in order. Latin-1, as bytes are.
 * 'rfc5322' unfolding removes the line breaks only; 'suricata' also drops the whitespace that starts
 * each continuation line, as Suricata's eve `email` fields show it (sv_smtp-data-rejected:
 * "(helo=COZOXORY.club)by ..." where the mail has "(helo=COZOXORY.club)" CRLF TAB "by ...").
 */
export function rawHeaders(raw: Uint8Array, unfold: 'rfc5322' | 'suricata' = 'rfc5322'): Map<string, string[]> {
  let end = raw.length;
  for (let i = 0; i + 1 < raw.length; i++) {
    if (raw[i] === 0x0a && (raw[i + 1] === 0x0a || (raw[i + 1] === 0x0d && raw[i + 2] === 0x0a))) {
      end = i;
      break;
    }
  }
  const text = Buffer.from(raw.subarray(0, end)).toString('latin1');
  const out = new Map<string, string[]>();
  for (const field of text.split(/\r?\n(?![ \t])/)) {
    const colon = field.indexOf(':');
    if (colon <= 0) continue;
    const name = field.slice(0, colon).trim().toLowerCase();
    const value = field.slice(colon + 1).replace(unfold === 'suricata' ? /\r?\n[ \t]*/g : /\r?\n/g, '').trim();
    out.set(name, [...(out.get(name) ?? []), value]);
  }
  return out;
}

function header(m: CapturedMail, name: string): string | undefined {
  return rawHeaders(m.event.raw).get(name)?.[0];
}

/** Addresses in a printable address list ("Name <a@b>, c@d" -> a@b, c@d), lower-case. */
function addresses(s: string | undefined): string[] {
  if (!s) return [];
  const out: string[] = [];
  for (const m of s.matchAll(/<([^<>]*)>|([^\s,<>"]+@[^\s,<>"]+)/g)) {
    const a = (m[1] ?? m[2] ?? '').trim().toLowerCase();
    if (a) out.push(a);
  }
  return out;
}

const bare = (path: string): string => path.trim().replace(/^<(.*)>$/, '$1');

function sessionByPorts(run: CaptureRun, clientPort: number, serverPort: number): CapturedSession | undefined {
  return run.sessions.find((s) => s.opened.client.port === clientPort && s.opened.server.port === serverPort);
}

// --- the checks ---------------------------------------------------------------------------------

export function judgeCapture(capture: string, run: CaptureRun): CaptureVerdict {
  const checks: Check[] = [];
  const skips: Skip[] = [];
  const check = (reference: string, what: string, expected: unknown, got: unknown): void => {
    const e = typeof expected === 'string' ? expected : JSON.stringify(expected);
    const g = typeof got === 'string' ? got : JSON.stringify(got);
    checks.push({ reference, what, expected: e, got: g, ok: e === g });
  };

  // The engine itself: finished, every session closed, no orphan event.
  check('engine', 'run finished without exception, timeout or out-of-memory', 'finished', run.finished ? 'finished' : (run.error ?? 'failed'));
  check('engine', 'capture file read to the end', 'no capture error', run.captureError ? `${run.captureError.code}: ${run.captureError.message}` : 'no capture error');
  check('engine', 'every opened session closed exactly once', run.sessions.length, run.sessions.filter((s) => s.closed).length);
  check('engine', 'no event for an unknown session', 0, run.orphanEvents);

  const stats = loadStats(capture);
  const smtpSessions = run.sessions.filter((s) => s.opened.protocol === 'smtp' && hasDialogue(s));
  const pop3Sessions = run.sessions.filter((s) => s.opened.protocol === 'pop3' && hasDialogue(s));
  const commands = (verb: string): number =>
    run.sessions.reduce((n, s) => n + s.timeline.filter((e) => e.kind === 'command' && e.verb === verb).length, 0);
  if (stats) {
    check('stats.tsv', 'SMTP sessions with a dialogue', stats.smtp, smtpSessions.length);
    check('stats.tsv', 'POP3 sessions with a dialogue', stats.pop, pop3Sessions.length);
    check('stats.tsv', 'DATA commands', stats.data, commands('DATA'));
    check('stats.tsv', 'RETR commands', stats.retr, commands('RETR'));
    check('stats.tsv', 'TOP commands', stats.top, commands('TOP'));
    skips.push({ reference: 'stats.tsv', what: 'BDAT commands', reason: 'tshark 4.0 does not dissect BDAT (corpus README point 3), so its count is no reference' });
  } else skips.push({ reference: 'stats.tsv', what: 'counts', reason: 'capture missing from stats.tsv' });

  // Anomalies: crafted captures must record some; happy-path ones only TCP-level ones tshark also saw.
  const codes = anomalyCodes(run);
  const weirds = loadZeekWeirds(capture);
  const suricataAnomalies = loadSuricata(capture).some((t) => t.filters.some((f) => f.filter.match['event_type'] === 'anomaly' && f.filter.count > 0));
  const manifest = loadManifest(capture);
  const odd = weirds.length > 0 || suricataAnomalies || (manifest ?? []).some((m) => !m.complete || m.gapBytes > 0);
  if (CRAFTED.has(capture)) {
    check('corpus README (crafted capture)', 'at least one anomaly recorded', 'yes', codes.length > 0 ? 'yes' : 'no anomaly');
  } else if (!odd) {
    const expert = loadTsharkExpert(capture);
    const allowed = (c: string): boolean =>
      c.startsWith('TCP_') && (expert.retransmission || expert.outOfOrder || expert.lost || (stats?.lost ?? 0) > 0);
    check('tshark/expert_note.txt (happy path)', 'no anomaly beyond the TCP problems the capture has', '(none)', list(sorted(codes.filter((c) => !allowed(c)))));
  } else {
    skips.push({ reference: 'anomalies', what: 'happy-path anomaly check', reason: `references flag this capture as irregular (${list(sorted(weirds))}${suricataAnomalies ? '; suricata anomaly events' : ''})` });
  }

  const mails = allMails(run);

  // helper_reassembly: count, then each mail by sha256 (order inside the capture otherwise).
  if (manifest) {
    check('helper_reassembly', 'mails', manifest.length, mails.length);
    const unmatched = [...mails];
    manifest.forEach((exp, i) => {
      const at = unmatched.findIndex((m) => m.mail.event.sha256 === exp.sha256);
      const label = `mail ${i + 1} (stream ${exp.stream}, ${exp.command})`;
      if (at < 0) {
        const ours = mails[i]?.mail.event;
        check('helper_reassembly', `${label} bytes`, `${exp.size} bytes sha256 ${exp.sha256}`, ours ? `${ours.size} bytes sha256 ${ours.sha256}` : 'no such mail');
        return;
      }
      const ours = unmatched.splice(at, 1)[0]!.mail.event;
      check('helper_reassembly', `${label} bytes`, `${exp.size} bytes sha256 ${exp.sha256}`, `${ours.size} bytes sha256 ${ours.sha256}`);
      check('helper_reassembly', `${label} complete`, exp.complete, ours.complete);
      if (/^(\d{3}|\+OK|-ERR)$/.test(exp.finalReply)) check('helper_reassembly', `${label} final reply`, exp.finalReply, ours.finalReply ?? '(none)');
    });
  } else skips.push({ reference: 'helper_reassembly', what: 'mails', reason: 'no manifest for this capture' });

  judgeZeek(capture, run, mails, check, skips);
  judgeArkime(capture, run, check);
  judgeSuricata(capture, run, check, skips);

  // tshark: credentials.
  const creds = loadTsharkCredentials(capture);
  const ourUsers = sorted(
    run.sessions.flatMap((s) => [
      ...(s.closed?.authUser !== undefined ? [s.closed.authUser] : []),
      ...s.timeline.flatMap((e) => (e.auth?.user !== undefined ? [e.auth.user] : [])),
    ]),
  );
  const ourPasswords = sorted(run.sessions.flatMap((s) => s.timeline.flatMap((e) => (e.auth?.password !== undefined ? [e.auth.password] : []))));
  if (creds && (creds.users.length > 0 || creds.passwords.length > 0)) {
    check('tshark/fields.tsv', 'auth users (decoded)', list(creds.users), list(ourUsers));
    check('tshark/fields.tsv', 'auth passwords (decoded)', list(creds.passwords), list(ourPasswords));
  }

  // nDPI: cleartext SMTP / POP3 flows it classified.
  const flows = loadNdpi(capture);
  if (flows.length > 0) {
    // nDPI names a flow after what it became: STARTTLS / STLS flows are SMTPS / POPS. Implicit-TLS
    // flows (465, 995) are on ports outside our lists, so the port decides which flows we must have.
    const settings = settingsFor(capture);
    const port = (ep: string): number => Number(ep.slice(ep.lastIndexOf(':') + 1));
    const mailFlows = flows.filter((f) => (/^SMTP/.test(f.protocol) && settings.smtpPorts.includes(port(f.server))) || (/^POP/.test(f.protocol) && settings.pop3Ports.includes(port(f.server))));
    const expected = sorted(mailFlows.map((f) => `${f.protocol.startsWith('SMTP') ? 'smtp' : 'pop3'} ${f.server}`));
    const got = sorted(run.sessions.filter(hasDialogue).map((s) => `${s.opened.protocol} ${s.opened.server.addr}:${s.opened.server.port}`));
    check('ndpi', 'SMTP/POP3 flows on the listed ports', list(expected), list(got));
  }
  return { checks, skips };
}

type CheckFn = (reference: string, what: string, expected: unknown, got: unknown) => void;

function judgeZeek(capture: string, run: CaptureRun, mails: { session: CapturedSession; mail: CapturedMail }[], check: CheckFn, skips: Skip[]): void {
  for (const log of loadZeekLogs(capture, /^smtp\.log$/)) {
    const ref = `zeek/${log.name}`;
    log.rows.forEach((row, i) => {
      const s = sessionByPorts(run, Number(row['id.orig_p']), Number(row['id.resp_p']));
      const label = `transaction ${i + 1} (${row['id.orig_p']}->${row['id.resp_p']} #${row['trans_depth']})`;
      if (!s) {
        check(ref, `${label} session`, 'an SMTP session', 'no session');
        return;
      }
      if (row['helo'] !== undefined) check(ref, `${label} helo`, row['helo'], s.closed?.helo ?? '(none)');
      if (!carriesMail(row)) return;
      // The n-th mail-carrying row of this session is our n-th mail of it.
      const rowsOfSession = log.rows.filter((r) => r['id.orig_p'] === row['id.orig_p'] && r['id.resp_p'] === row['id.resp_p'] && carriesMail(r));
      const n = rowsOfSession.indexOf(row);
      const m = s.mails[n];
      if (!m) {
        check(ref, `${label} mail`, 'a mail', 'no mail');
        return;
      }
      if (row['mailfrom'] !== undefined) check(ref, `${label} mailfrom`, row['mailfrom'], m.event.envelope?.mailFrom ?? '(none)');
      check(ref, `${label} rcptto`, list(sorted(zeekSet(row['rcptto']))), list(sorted(m.event.envelope?.rcptTo ?? [])));
      for (const [field, name] of [['from', 'from'], ['subject', 'subject']] as const) {
        if (row[field] !== undefined) check(ref, `${label} ${field} header`, row[field], header(m, name) ?? '(none)');
      }
      for (const field of ['to', 'cc'] as const) {
        if (row[field] !== undefined) {
          check(ref, `${label} ${field} header`, list(sorted(zeekSet(row[field]).map((a) => a.trim()))), list(sorted((header(m, field) ?? '').split(',').map((a) => a.trim()).filter((a) => a !== ''))));
        }
      }
      const last = row['last_reply'];
      if (last !== undefined) check(ref, `${label} final reply`, last.slice(0, 3), m.event.finalReply ?? '(none)');
    });
  }
  // Raw mails Zeek extracted, and message/rfc822 entries (size + sha1) of files logs.
  for (const f of loadZeekExtracted(capture, /^extract_files\.mail/)) {
    const ours = mails.find((m) => m.mail.event.sha256 === f.sha256);
    check(`zeek/${f.name}`, 'raw mail extracted by Zeek', `${f.size} bytes sha256 ${f.sha256}`, ours ? `${ours.mail.event.raw.length} bytes sha256 ${ours.mail.event.sha256}` : `no mail with that sha256 (ours: ${list(mails.map((m) => `${m.mail.event.size}/${m.mail.event.sha256.slice(0, 12)}`))})`);
  }
  for (const log of loadZeekLogs(capture, /^files\.(log|cut|log\.cut)$/)) {
    const rfc822 = log.rows.filter((r) => r['mime_type'] === 'message/rfc822' && r['sha1'] !== undefined);
    for (const r of rfc822) {
      const ours = mails.find((m) => sha1(m.mail.event.raw) === r['sha1']);
      check(`zeek/${log.name}`, `message/rfc822 ${r['fuid']}`, `${r['seen_bytes']} bytes sha1 ${r['sha1']}`, ours ? `${ours.mail.event.raw.length} bytes sha1 ${sha1(ours.mail.event.raw)}` : 'no mail with that sha1');
    }
    for (const r of log.rows.filter((x) => x['filename'] !== undefined)) {
      const att = mails.flatMap((m) => m.mail.summary.attachments).find((a) => a.filename === r['filename']);
      // zeek-cut outputs (files.log.cut) may leave seen_bytes out: then only the name is compared.
      const size = r['seen_bytes'] !== undefined ? ` ${r['seen_bytes']} bytes` : '';
      check(`zeek/${log.name}`, `attachment ${r['filename']}`, `present${size}`, att ? `present${size ? ` ${att.size} bytes` : ''}` : 'no such attachment');
    }
  }
  if (loadZeekLogs(capture, /^smtp\.log$/).length === 0 && loadZeekLogs(capture, /.*/).length > 0) {
    skips.push({ reference: 'zeek', what: 'smtp.log', reason: 'Zeek expected results for this capture have no smtp.log (other logs: conn, weird, ssl, ...)' });
  }
}

function carriesMail(r: ZeekRow): boolean {
  return (r['fuids'] ?? '') !== '' || r['subject'] !== undefined || (r['mailfrom'] !== undefined && r['rcptto'] !== undefined && (r['last_reply'] ?? '').startsWith('250'));
}

function sha1(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('hex');
}

function judgeArkime(capture: string, run: CaptureRun, check: CheckFn): void {
  for (const file of loadArkime(capture)) {
    for (const a of file.sessions) {
      const proto = a.protocols.includes('smtp') ? 'smtp' : a.protocols.includes('pop3') ? 'pop3' : undefined;
      if (!proto) continue;
      const label = `${proto} session ${a.srcPort}->${a.dstPort}`;
      const s = sessionByPorts(run, a.srcPort, a.dstPort);
      if (!s) {
        check(file.name, `${label} found`, `a ${proto} session`, 'no session');
        continue;
      }
      if (a.users.length > 0) check(file.name, `${label} user`, list(a.users), list(s.closed?.authUser !== undefined ? [s.closed.authUser] : []));
      const e = a.email;
      if (!e) continue;
      if (e.smtpHello.length > 0) // Arkime lower-cases the EHLO/HELO argument; compare it that way.
        check(file.name, `${label} smtp hello`, list(e.smtpHello), list(s.closed?.helo !== undefined ? [s.closed.helo.toLowerCase()] : []));
      // Arkime's lists are sets over the whole session: compare as sets.
      const ours = s.mails;
      // Arkime keeps the whitespace after "Subject:" (" MIME test"); postal-mime trims it: compare trimmed.
      if (e.subject.length > 0) check(file.name, `${label} subjects`, list(sorted(e.subject.map((x) => x.trim()))), list(sorted(ours.flatMap((m) => (m.summary.subject !== undefined ? [m.summary.subject] : [])))));
      // Arkime's src / dst are session fields: every MAIL FROM / RCPT TO the client sent (refused
      // ones and those of transactions that never carried a mail included, ark_smtp-rcpt-553), plus
      // the mails' From / To / Cc. Our envelope paths of that kind are the MAIL / RCPT commands of
      // the timeline; a mail's envelope keeps only accepted recipients.
      const src = sorted([...envelopePaths(s, 'MAIL'), ...ours.flatMap((m) => [bare(m.event.envelope?.mailFrom ?? '').toLowerCase(), ...addresses(m.summary.from)])]);
      const dst = sorted([...envelopePaths(s, 'RCPT'), ...ours.flatMap((m) => [...(m.event.envelope?.rcptTo ?? []).map((r) => bare(r).toLowerCase()), ...m.summary.to.flatMap(addresses), ...m.summary.cc.flatMap(addresses)])]);
      if (e.src.length > 0) check(file.name, `${label} sender addresses (MAIL FROM + From)`, list(sorted(e.src.map((x) => x.toLowerCase()))), list(src));
      if (e.dst.length > 0) check(file.name, `${label} recipient addresses (RCPT TO + To + Cc)`, list(sorted(e.dst.map((x) => x.toLowerCase()))), list(dst));
      const atts = ours.flatMap((m) => m.summary.attachments);
      if (e.filename.length > 0) check(file.name, `${label} attachment names`, list(sorted(e.filename)), list(sorted(atts.flatMap((x) => (x.filename !== undefined ? [x.filename] : [])))));
      if (e.sha256.length > 0) check(file.name, `${label} attachment sha256`, list(sorted(e.sha256)), list(sorted(atts.map((x) => x.sha256).filter((h) => e.sha256.includes(h)))));
    }
  }
}

/** The paths of a session's MAIL FROM / RCPT TO commands, bare and lower-case (the null sender is ''; Arkime lists it too). */
function envelopePaths(s: CapturedSession, verb: 'MAIL' | 'RCPT'): string[] {
  return s.timeline.flatMap((e) => {
    if (e.kind !== 'command' || e.verb !== verb) return [];
    const m = /^(?:FROM|TO):\s*(<[^>]*>|[^\s<>]+)/i.exec(e.arg);
    return m?.[1] === undefined ? [] : [bare(m[1]).toLowerCase()];
  });
}

// --- suricata-verify ----------------------------------------------------------------------------

/** We judge with the semantics of the newest Suricata the tests know (8.x): older-only checks are skipped. */
const SURICATA_VERSION = [8, 0, 7];

function versionAtLeast(v: string): boolean {
  const p = String(v).split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const a = SURICATA_VERSION[i] ?? 0;
    const b = p[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

function requirementsMet(req: Record<string, unknown> | undefined): string | undefined {
  if (!req) return undefined;
  if (req['lt-version'] !== undefined && versionAtLeast(String(req['lt-version']))) return `only for Suricata < ${String(req['lt-version'])}`;
  if (req['version'] !== undefined && !String(SURICATA_VERSION[0]).startsWith(String(req['version']))) return `only for Suricata ${String(req['version'])}`;
  if (req['min-version'] !== undefined && !versionAtLeast(String(req['min-version']))) return `needs Suricata >= ${String(req['min-version'])}`;
  return undefined;
}

type EveRecord = Record<string, unknown>;

/** Keys of Suricata's eve records this test rebuilds from our events. */
const MODELLED = /^(event_type|src_ip|src_port|dest_ip|dest_port|proto|tx_id|smtp\.(helo|mail_from|rcpt_to\[\d+\])|email\.(from|to\[\d+\]|subject|date|x_mailer|received\[\d+\]|attachment\[\d+\])|fileinfo\.(filename|size|sha256)|pop3\.(request\.(command|args(\[\d+\])?)|response\.(success|status|header|data\[\d+\])))$/;
/** Keys about when Suricata logged a record (packet count, source), not what: not compared. */
const IGNORED = new Set(['pcap_cnt', 'pkt_src']);

function eveRecords(run: CaptureRun): EveRecord[] {
  const out: EveRecord[] = [];
  for (const s of run.sessions) {
    const flow = { src_ip: s.opened.client.addr, src_port: s.opened.client.port, dest_ip: s.opened.server.addr, dest_port: s.opened.server.port, proto: 'TCP' };
    if (s.opened.protocol === 'smtp') {
      const helo = s.closed?.helo;
      const txs: EveRecord[] = s.mails.map((m, i) => {
        const h = rawHeaders(m.event.raw, 'suricata');
        const r: EveRecord = { event_type: 'smtp', ...flow, tx_id: i };
        if (helo !== undefined) r['smtp.helo'] = helo;
        if (m.event.envelope) {
          r['smtp.mail_from'] = m.event.envelope.mailFrom;
          m.event.envelope.rcptTo.forEach((a, j) => (r[`smtp.rcpt_to[${j}]`] = a));
        }
        const first = (n: string): string | undefined => h.get(n)?.[0];
        if (first('from') !== undefined) r['email.from'] = first('from');
        (first('to') ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '').forEach((a, j) => (r[`email.to[${j}]`] = a));
        if (first('subject') !== undefined) r['email.subject'] = first('subject');
        if (first('date') !== undefined) r['email.date'] = first('date');
        if (first('x-mailer') !== undefined) r['email.x_mailer'] = first('x-mailer');
        (h.get('received') ?? []).forEach((v, j) => (r[`email.received[${j}]`] = v));
        m.summary.attachments.forEach((a, j) => (r[`email.attachment[${j}]`] = a.filename ?? ''));
        for (const a of m.summary.attachments) {
          out.push({ event_type: 'fileinfo', ...flow, 'fileinfo.filename': a.filename ?? '', 'fileinfo.size': a.size, 'fileinfo.sha256': a.sha256 });
        }
        return r;
      });
      if (txs.length === 0 && hasDialogue(s)) txs.push({ event_type: 'smtp', ...flow, tx_id: 0, ...(helo !== undefined ? { 'smtp.helo': helo } : {}) });
      out.push(...txs);
    } else {
      // POP3: one record per command and the reply that answered it, and - as Suricata logs the
      // greeting as a transaction of its own, with a response and no request (sv_pop3: 56 records
      // for 55 commands) - one for a reply that comes before any command.
      let tx = 0;
      const t = s.timeline;
      const respond = (r: EveRecord, reply: CapturedSession['timeline'][number]): void => {
        const lines = reply.arg.split('\n');
        r['pop3.response.success'] = reply.verb === '+OK';
        r['pop3.response.status'] = reply.verb === '+OK' ? 'OK' : 'ERR';
        r['pop3.response.header'] = lines[0] ?? '';
        lines.slice(1).forEach((l, j) => (r[`pop3.response.data[${j}]`] = l));
      };
      const greeting = t.find((x) => x.kind === 'reply' || x.kind === 'command');
      if (greeting?.kind === 'reply') {
        const r: EveRecord = { event_type: 'pop3', ...flow, tx_id: tx++ };
        respond(r, greeting);
        out.push(r);
      }
      t.forEach((e, i) => {
        if (e.kind !== 'command') return;
        const r: EveRecord = { event_type: 'pop3', ...flow, tx_id: tx++, 'pop3.request.command': e.verb };
        const args = e.arg.trim() === '' ? [] : e.arg.trim().split(/\s+/);
        r['pop3.request.args'] = args;
        args.forEach((a, j) => (r[`pop3.request.args[${j}]`] = a));
        const reply = t.slice(i + 1).find((x) => x.kind === 'reply' || x.kind === 'command');
        if (reply?.kind === 'reply') respond(r, reply);
        out.push(r);
      });
    }
  }
  return out;
}

function matches(rec: EveRecord, match: Record<string, unknown>): boolean {
  for (const [k, v] of Object.entries(match)) {
    if (IGNORED.has(k)) continue;
    if (k === 'not-has-key') {
      const keys = Array.isArray(v) ? v.map(String) : [String(v)];
      if (keys.some((key) => rec[key] !== undefined)) return false;
      continue;
    }
    if (k === 'smtp.mail_from' || k.startsWith('smtp.rcpt_to[')) {
      // Suricata logs the path as the client wrote it (with or without <>); our envelope is the bare address.
      if (typeof rec[k] !== 'string' || bare(String(v)) !== rec[k]) return false;
      continue;
    }
    if (JSON.stringify(rec[k]) !== JSON.stringify(v)) return false;
  }
  return true;
}

function judgeSuricata(capture: string, run: CaptureRun, check: CheckFn, skips: Skip[]): void {
  const tests = loadSuricata(capture);
  if (tests.length === 0) return;
  const records = eveRecords(run);
  for (const t of tests) {
    const whole = requirementsMet(t.requires);
    for (const { index, filter } of t.filters) {
      const what = `check ${index + 1}: ${describe(filter)}`;
      const notMet = whole ?? requirementsMet(filter.requires);
      if (notMet) {
        skips.push({ reference: t.name, what, reason: notMet });
        continue;
      }
      const unmodelled = Object.keys(filter.match).filter((k) => !IGNORED.has(k) && k !== 'not-has-key' && !MODELLED.test(k));
      const type = filter.match['event_type'];
      if (unmodelled.length > 0 || (type !== undefined && !['smtp', 'fileinfo', 'pop3'].includes(String(type)))) {
        skips.push({ reference: t.name, what, reason: `not modelled: ${list(unmodelled.length > 0 ? unmodelled : [`event_type ${String(type)}`])}` });
        continue;
      }
      check(t.name, what, filter.count, records.filter((r) => matches(r, filter.match)).length);
    }
    for (const o of t.others) skips.push({ reference: t.name, what: `check ${o.index + 1}: ${o.kind}`, reason: `${o.kind} checks need Suricata's own output (${o.text.slice(0, 120)})` });
  }
}

function describe(f: SuricataFilter): string {
  const parts = Object.entries(f.match)
    .filter(([k]) => !IGNORED.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const s = parts.join(' ');
  return `${s.length > 160 ? `${s.slice(0, 157)}...` : s} (count ${f.count})`;
}
