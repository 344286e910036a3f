/**
 * Loaders for the corpus's expected results (corpus README): helper_reassembly manifests, Zeek TSV
 * logs and extracted files, tshark fields and expert notes, Arkime session JSON, suricata-verify
 * test.yaml checks, nDPI flow lists and stats.tsv. Each returns plain data; judging is checks.ts's job.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { CORPUS_DIR, EXPECTED_DIR } from './paths.ts';

function dir(capture: string, ...parts: string[]): string {
  return join(EXPECTED_DIR, capture, ...parts);
}

function subdirs(path: string): string[] {
  if (!existsSync(path)) return [];
  return readdirSync(path)
    .filter((d) => statSync(join(path, d)).isDirectory())
    .sort();
}

function readTsv(path: string): Record<string, string>[] {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0);
  const header = (lines.shift() ?? '').split('\t');
  return lines.map((l) => {
    const cells = l.split('\t');
    const row: Record<string, string> = {};
    header.forEach((h, i) => (row[h] = cells[i] ?? ''));
    return row;
  });
}

// --- helper_reassembly/manifest.tsv -------------------------------------------------------------

export interface ManifestMail {
  readonly stream: number;
  readonly proto: 'smtp' | 'pop3';
  /** "DATA", "BDAT", "BDAT(no LAST)", "RETR 5", "TOP 6 0". */
  readonly command: string;
  readonly complete: boolean;
  /** Final reply as the helper read it: "250", "+OK", "none", "?" (server side missing), "4.7". */
  readonly finalReply: string;
  readonly gapBytes: number;
  readonly size: number;
  readonly sha256: string;
  readonly from: string;
  readonly subject: string;
}

export function loadManifest(capture: string): ManifestMail[] | undefined {
  const path = dir(capture, 'helper_reassembly', 'manifest.tsv');
  if (!existsSync(path)) return undefined;
  return readTsv(path).map((r) => ({
    stream: Number(r['tcp.stream']),
    proto: r['proto'] === 'pop3' ? 'pop3' : 'smtp',
    command: r['command'] ?? '',
    complete: r['complete'] === 'yes',
    finalReply: r['final_reply'] ?? '',
    gapBytes: Number(r['gap_bytes']),
    size: Number(r['size']),
    sha256: r['sha256'] ?? '',
    from: r['from'] ?? '',
    subject: r['subject'] ?? '',
  }));
}

// --- Zeek logs ----------------------------------------------------------------------------------

/** A Zeek TSV log row: `undefined` for the unset field `-`, `[]` for `(empty)` sets. */
export type ZeekRow = Record<string, string | undefined>;

export interface ZeekLog {
  /** `<test>/<file>` relative to the capture's zeek/ folder. */
  readonly name: string;
  readonly rows: ZeekRow[];
}

/** Parses a Zeek ASCII log (`#fields` header) or a zeek-cut output (first non-# line is the header). */
export function parseZeekLog(text: string): ZeekRow[] {
  const lines = text.split('\n');
  let fields: string[] | undefined;
  const rows: ZeekRow[] = [];
  for (const line of lines) {
    if (line.startsWith('#fields\t')) {
      fields = line.split('\t').slice(1);
      continue;
    }
    if (line.startsWith('#') || line.length === 0) continue;
    const cells = line.split('\t');
    if (!fields) {
      fields = cells;
      continue;
    }
    const row: ZeekRow = {};
    fields.forEach((f, i) => {
      const v = cells[i];
      row[f] = v === '-' ? undefined : v === '(empty)' ? '' : v;
    });
    rows.push(row);
  }
  return rows;
}

/** Zeek `set[string]` / `vector[string]` value as a list. */
export function zeekSet(v: string | undefined): string[] {
  if (v === undefined || v === '') return [];
  return v.split(',');
}

/** Every Zeek log of a capture whose file name matches `pattern` (smtp.log, files.log, files.cut, ...). */
export function loadZeekLogs(capture: string, pattern: RegExp): ZeekLog[] {
  const root = dir(capture, 'zeek');
  const out: ZeekLog[] = [];
  for (const test of subdirs(root)) {
    for (const f of readdirSync(join(root, test)).sort()) {
      if (pattern.test(f)) out.push({ name: `${test}/${f}`, rows: parseZeekLog(readFileSync(join(root, test, f), 'utf8')) });
    }
  }
  return out;
}

export interface ZeekExtractedFile {
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
}

/** Files Zeek extracted (`extract_files.mail*` = raw mails, `thefile*` = MIME entity bodies). */
export function loadZeekExtracted(capture: string, pattern: RegExp): ZeekExtractedFile[] {
  const root = dir(capture, 'zeek');
  const out: ZeekExtractedFile[] = [];
  for (const test of subdirs(root)) {
    for (const f of readdirSync(join(root, test)).sort()) {
      if (!pattern.test(f)) continue;
      const bytes = readFileSync(join(root, test, f));
      out.push({ name: `${test}/${f}`, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    }
  }
  return out;
}

/** Zeek's weird.log names (protocol violations Zeek flagged), all tests of the capture. */
export function loadZeekWeirds(capture: string): string[] {
  return loadZeekLogs(capture, /^weird\.log$/)
    .flatMap((l) => l.rows.map((r) => r['name'] ?? ''))
    .filter((n) => n !== '');
}

// --- tshark -------------------------------------------------------------------------------------

export interface TsharkCredentials {
  /** Users per tcp.stream, decoded (AUTH LOGIN base64, AUTH PLAIN initial response, POP3 USER). */
  readonly users: string[];
  readonly passwords: string[];
}

function b64(s: string): string {
  return Buffer.from(s, 'base64').toString('utf8');
}

/**
 * Credentials tshark saw. tshark 4.0 shows AUTH LOGIN's user and password still base64-encoded
 * (smtp.auth.username/password), does not split AUTH PLAIN's initial response (it stays in
 * smtp.req.parameter), and shows POP3 USER/PASS as command parameters.
 */
export function loadTsharkCredentials(capture: string): TsharkCredentials | undefined {
  const path = dir(capture, 'tshark', 'fields.tsv');
  if (!existsSync(path)) return undefined;
  const users = new Set<string>();
  const passwords = new Set<string>();
  for (const r of readTsv(path)) {
    const u = r['smtp.auth.username'];
    const p = r['smtp.auth.password'];
    if (u) users.add(b64(u));
    if (p) passwords.add(b64(p));
    const verb = (r['smtp.req.command'] ?? '').toUpperCase();
    const param = r['smtp.req.parameter'] ?? '';
    const plain = /^PLAIN\s+(\S+)$/i.exec(param);
    if (verb === 'AUTH' && plain?.[1] !== undefined) {
      const parts = b64(plain[1]).split('\0');
      if (parts.length === 3 && parts[1]) {
        users.add(parts[1]);
        if (parts[2]) passwords.add(parts[2]);
      }
    }
    const pop = (r['pop.request.command'] ?? '').toUpperCase();
    const popArg = r['pop.request.parameter'] ?? '';
    if (pop === 'USER' && popArg) users.add(popArg);
    if (pop === 'PASS' && popArg) passwords.add(popArg);
  }
  return { users: [...users].sort(), passwords: [...passwords].sort() };
}

/** Which transport problems tshark's expert info reports (so a TCP-level anomaly of ours is legitimate). */
export interface TsharkExpert {
  readonly retransmission: boolean;
  readonly outOfOrder: boolean;
  /** "previous segment not captured" or "ACKed segment that wasn't captured". */
  readonly lost: boolean;
}

export function loadTsharkExpert(capture: string): TsharkExpert {
  const path = dir(capture, 'tshark', 'expert_note.txt');
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  return {
    retransmission: /retransmission/i.test(text),
    outOfOrder: /out-of-order/i.test(text),
    lost: /segment not captured|segment that wasn't captured/i.test(text),
  };
}

// --- Arkime ---------------------------------------------------------------------------------------

export interface ArkimeSession {
  readonly protocols: string[];
  readonly srcPort: number;
  readonly dstPort: number;
  readonly users: string[];
  readonly email?: {
    readonly subject: string[];
    readonly src: string[];
    readonly dst: string[];
    readonly filename: string[];
    readonly sha256: string[];
    readonly md5: string[];
    readonly smtpHello: string[];
  };
}

export function loadArkime(capture: string): { name: string; sessions: ArkimeSession[] }[] {
  const root = dir(capture, 'arkime');
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((f) => f.endsWith('.test'))
    .sort()
    .map((f) => {
      const text = readFileSync(join(root, f), 'utf8');
      // Arkime's .test files are JSON, sometimes after a line of comments: start at the first brace.
      const json = JSON.parse(text.slice(text.indexOf('{'))) as { sessions3?: { body: Record<string, unknown> }[] };
      const sessions = (json.sessions3 ?? []).map(({ body }): ArkimeSession => {
        const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
        const email = body['email'] as Record<string, unknown> | undefined;
        return {
          protocols: list(body['protocol']),
          srcPort: Number((body['source'] as { port?: number } | undefined)?.port),
          dstPort: Number((body['destination'] as { port?: number } | undefined)?.port),
          users: list(body['user']),
          ...(email
            ? {
                email: {
                  subject: list(email['subject']),
                  src: list(email['src']),
                  dst: list(email['dst']),
                  filename: list(email['filename']),
                  sha256: list(email['sha256']),
                  md5: list(email['md5']),
                  smtpHello: list(email['smtpHello']),
                },
              }
            : {}),
        };
      });
      return { name: `arkime/${f}`, sessions };
    });
}

// --- suricata-verify ----------------------------------------------------------------------------

export interface SuricataFilter {
  readonly count: number;
  readonly match: Record<string, unknown>;
  readonly requires?: Record<string, unknown>;
}

export interface SuricataTest {
  readonly name: string;
  readonly requires?: Record<string, unknown>;
  /** `filter` checks in file order; `index` is the position among all checks (for naming). */
  readonly filters: { index: number; filter: SuricataFilter }[];
  /** Other checks (`shell`, `stats`), kept as text for the report. */
  readonly others: { index: number; kind: string; text: string }[];
}

export function loadSuricata(capture: string): SuricataTest[] {
  const root = dir(capture, 'suricata');
  return subdirs(root)
    .filter((t) => existsSync(join(root, t, 'test.yaml')))
    .map((t) => {
      const doc = yaml.load(readFileSync(join(root, t, 'test.yaml'), 'utf8')) as {
        requires?: Record<string, unknown>;
        checks?: Record<string, unknown>[];
      };
      const filters: SuricataTest['filters'][number][] = [];
      const others: SuricataTest['others'][number][] = [];
      (doc.checks ?? []).forEach((c, index) => {
        const f = c['filter'] as SuricataFilter | undefined;
        if (f) filters.push({ index, filter: { count: Number(f.count), match: f.match ?? {}, ...(f.requires ? { requires: f.requires } : {}) } });
        else {
          const kind = Object.keys(c)[0] ?? '?';
          others.push({ index, kind, text: JSON.stringify(c[kind]) });
        }
      });
      return { name: `suricata/${t}`, ...(doc.requires ? { requires: doc.requires } : {}), filters, others };
    });
}

// --- nDPI ---------------------------------------------------------------------------------------

export interface NdpiFlow {
  readonly client: string;
  readonly server: string;
  /** Application protocol as nDPI names it: "SMTP", "POP3", "SMTPS", "IMAP", ... (after the master "X."). */
  readonly protocol: string;
  readonly line: string;
}

/** nDPI's flow lines: `  1\tTCP 10.0.0.1:1234 <-> 10.0.0.2:25 [proto: 3/SMTP][...]`. */
export function loadNdpi(capture: string): NdpiFlow[] {
  const root = dir(capture, 'ndpi');
  if (!existsSync(root)) return [];
  const flows: NdpiFlow[] = [];
  for (const f of readdirSync(root).sort()) {
    for (const line of readFileSync(join(root, f), 'utf8').split('\n')) {
      const m = /^\s*\d+\s+TCP\s+(\S+)\s+<?->\s+(\S+)\s+(?:\[VLAN: \d+\])?\[proto:\s*[\d.]+\/([^\]]+)\]/.exec(line);
      // IPv6 endpoints are written "[addr]:port"; ours are "addr:port".
      const ep = (e: string): string => e.replace(/^\[(.*)\]:(\d+)$/, '$1:$2');
      if (m?.[1] && m[2] && m[3]) flows.push({ client: ep(m[1]), server: ep(m[2]), protocol: m[3], line: line.trim() });
    }
  }
  return flows;
}

// --- stats.tsv ----------------------------------------------------------------------------------

export interface CaptureStats {
  readonly tcp: number;
  readonly smtp: number;
  readonly pop: number;
  readonly imap: number;
  readonly data: number;
  readonly bdat: number;
  readonly retr: number;
  readonly top: number;
  readonly auth: string;
  readonly tls: boolean;
  readonly retrans: number;
  readonly ooo: number;
  readonly lost: number;
}

let statsCache: Map<string, CaptureStats> | undefined;

export function loadStats(capture: string): CaptureStats | undefined {
  if (!statsCache) {
    statsCache = new Map();
    for (const r of readTsv(join(CORPUS_DIR, 'stats.tsv'))) {
      const n = (k: string): number => Number(r[k] ?? 'NaN');
      statsCache.set(r['name'] ?? '', {
        tcp: n('tcp'),
        smtp: n('smtp'),
        pop: n('pop'),
        imap: n('imap'),
        data: n('data'),
        bdat: n('bdat'),
        retr: n('retr'),
        top: n('top'),
        auth: r['auth'] ?? '',
        tls: r['tls'] === 'True',
        retrans: n('retrans'),
        ooo: n('ooo'),
        lost: n('lost'),
      });
    }
  }
  return statsCache.get(capture);
}
