/**
 * The mail-module settings (ARCHITECTURE.md, "Mail-module settings"): what the agent captures and
 * whether the mails are kept. One validator for every edge that receives them (API body, socket
 * payload, settings form, CLI), so all of them refuse the same things with the same words.
 */
import { formatPortList, parsePortList } from './port-list.ts';

export interface MailModuleSettings {
  /** Keep each reconstructed mail's raw bytes (downloadable); false keeps only its summary. */
  readonly saveMail: boolean;
  /** Absolute folder on the API host where saved mails are also written as `.eml`; null = none. */
  readonly saveLocation: string | null;
  /** Ports classified as SMTP, 1-65535, no duplicates, none shared with `pop3Ports`. */
  readonly smtpPorts: readonly number[];
  /** Ports classified as POP3, same rules. */
  readonly pop3Ports: readonly number[];
  /** BPF expression ANDed with the port filter; '' = none. */
  readonly captureFilter: string;
  /** Classify mail sessions by content (greeting, first command) on ports not listed. */
  readonly anyPort: boolean;
}

/** Settings of a fresh install: SMTP on 25 and 587, POP3 on 110, nothing saved, no filter. */
export const DEFAULT_MAIL_SETTINGS: MailModuleSettings = {
  saveMail: false,
  saveLocation: null,
  smtpPorts: [25, 587],
  pop3Ports: [110],
  captureFilter: '',
  anyPort: false,
};

/** Longest capture filter accepted; real BPF expressions are a few hundred characters at most. */
export const MAX_CAPTURE_FILTER_CHARS = 2048;
/** Longest save location accepted (Linux PATH_MAX). */
export const MAX_SAVE_LOCATION_CHARS = 4096;

export type MailSettingsField = keyof MailModuleSettings;

/** Either the settings, normalised, or one message per field that is wrong (a form shows each next to its field). */
export type MailSettingsValidation =
  | { readonly ok: true; readonly settings: MailModuleSettings }
  | { readonly ok: false; readonly errors: Partial<Record<MailSettingsField | 'settings', string>> };

const FIELDS: readonly MailSettingsField[] = ['saveMail', 'saveLocation', 'smtpPorts', 'pop3Ports', 'captureFilter', 'anyPort'];

/**
 * Validates untrusted settings. Every field is required; unknown fields are refused (a typo must not
 * be silently ignored). Accepted forms:
 * - `saveMail`, `anyPort`: booleans.
 * - `saveLocation`: null, '' (= null), or an absolute path - POSIX `/var/mail`, Windows `C:\mail`
 *   or UNC `\\host\share` - without `..` segments or control characters; surrounding blanks trimmed.
 * - `smtpPorts`, `pop3Ports`: a port-list text (`25;587`, see `parsePortList`) or an array of
 *   integers; either may be empty, but a port may belong to one protocol only, and with both empty
 *   any-port detection must be on (else nothing would be captured).
 * - `captureFilter`: text of at most 2048 characters, no NUL or other control characters except
 *   tab / CR / LF; trimmed. Its BPF syntax is checked by the agent that compiles it.
 * Never throws.
 */
export function validateMailSettings(input: unknown): MailSettingsValidation {
  const errors: Partial<Record<MailSettingsField | 'settings', string>> = {};
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, errors: { settings: 'settings must be an object' } };
  }
  const record = input as Record<string, unknown>;
  const unknown = Object.keys(record).filter((k) => !(FIELDS as readonly string[]).includes(k));
  if (unknown.length > 0) errors.settings = `unknown setting${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`;
  for (const field of FIELDS) if (!(field in record)) errors[field] = 'is required';

  const saveMail = record.saveMail;
  if ('saveMail' in record && typeof saveMail !== 'boolean') errors.saveMail = 'must be true or false';
  const anyPort = record.anyPort;
  if ('anyPort' in record && typeof anyPort !== 'boolean') errors.anyPort = 'must be true or false';

  let saveLocation: string | null = null;
  if ('saveLocation' in record) {
    const checked = checkSaveLocation(record.saveLocation);
    if (typeof checked === 'object' && checked !== null) errors.saveLocation = checked.error;
    else saveLocation = checked;
  }

  let captureFilter = '';
  if ('captureFilter' in record) {
    const raw = record.captureFilter;
    if (typeof raw !== 'string') errors.captureFilter = 'must be text (a BPF expression) or empty';
    else if (raw.length > MAX_CAPTURE_FILTER_CHARS) errors.captureFilter = `is too long (${raw.length} characters, at most ${MAX_CAPTURE_FILTER_CHARS})`;
    // eslint-disable-next-line no-control-regex
    else if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(raw)) errors.captureFilter = 'must not contain NUL or other control characters';
    else captureFilter = raw.trim();
  }

  const smtp = 'smtpPorts' in record ? checkPorts(record.smtpPorts) : undefined;
  const pop3 = 'pop3Ports' in record ? checkPorts(record.pop3Ports) : undefined;
  if (smtp !== undefined && !smtp.ok) errors.smtpPorts = smtp.error;
  if (pop3 !== undefined && !pop3.ok) errors.pop3Ports = pop3.error;
  if (smtp?.ok === true && pop3?.ok === true) {
    const shared = pop3.ports.filter((p) => smtp.ports.includes(p));
    if (shared.length > 0) {
      errors.pop3Ports = `port${shared.length > 1 ? 's' : ''} ${formatPortList(shared)} ${shared.length > 1 ? 'are' : 'is'} also listed as SMTP: a port may belong to one protocol only`;
    } else if (smtp.ports.length === 0 && pop3.ports.length === 0 && anyPort === false) {
      errors.smtpPorts = 'no SMTP or POP3 port listed and any-port detection is off: nothing would be captured';
    }
  }

  if (Object.keys(errors).length > 0 || smtp?.ok !== true || pop3?.ok !== true) return { ok: false, errors };
  return {
    ok: true,
    settings: {
      saveMail: saveMail as boolean,
      saveLocation,
      smtpPorts: smtp.ports,
      pop3Ports: pop3.ports,
      captureFilter,
      anyPort: anyPort as boolean,
    },
  };
}

function checkPorts(value: unknown): { ok: true; ports: number[] } | { ok: false; error: string } {
  if (typeof value === 'string') return parsePortList(value, { allowEmpty: true });
  if (!Array.isArray(value)) return { ok: false, error: 'must be a port list such as 25;587 or an array of ports' };
  if (value.some((p) => typeof p !== 'number' || !Number.isInteger(p))) {
    const bad = value.find((p) => typeof p !== 'number' || !Number.isInteger(p));
    return { ok: false, error: `'${String(bad)}' is not a port: ports are whole numbers 1-65535` };
  }
  return parsePortList((value as number[]).join(';'), { allowEmpty: true });
}

function checkSaveLocation(value: unknown): string | null | { error: string } {
  if (value === null) return null;
  if (typeof value !== 'string') return { error: 'must be an absolute folder path or empty' };
  const path = value.trim();
  if (path === '') return null;
  if (path.length > MAX_SAVE_LOCATION_CHARS) return { error: `is too long (${path.length} characters, at most ${MAX_SAVE_LOCATION_CHARS})` };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return { error: 'must not contain NUL or other control characters' };
  const absolute = path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path) || path.startsWith('\\\\');
  if (!absolute) return { error: `'${path}' is not an absolute path (e.g. /var/lib/mailscope/mail)` };
  if (path.split(/[\\/]/).includes('..')) return { error: "must not contain '..' segments" };
  return path;
}
