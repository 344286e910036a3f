'use client';
/**
 * The mail-module settings (GET / PUT /api/settings). The form checks what is typed with the same
 * validator the API runs (validateMailSettings from @mailscope/shared), so the messages at each
 * field are the API's own words before anything is sent; whatever the API still refuses comes back
 * per field (ApiError.fields) and is shown at that field too.
 */
import { validateMailSettings, type MailModuleSettings, type MailSettingsField } from '@mailscope/shared/mail-settings';
import { useEffect, useMemo, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, api, errorMessage } from '@/lib/api';
import { formatTime } from '@/lib/format';
import styles from './settings.module.css';

interface SettingsResponse {
  readonly settings: MailModuleSettings;
  readonly text: { readonly smtpPorts: string; readonly pop3Ports: string };
  readonly updatedAt: string | null;
  readonly updatedBy: string | null;
}

/** What the inputs hold: port lists and the folder as typed. */
interface FormValues {
  saveMail: boolean;
  saveLocation: string;
  smtpPorts: string;
  pop3Ports: string;
  captureFilter: string;
  anyPort: boolean;
}

type Errors = Partial<Record<MailSettingsField | 'settings', string>>;

function toForm(r: SettingsResponse): FormValues {
  return {
    saveMail: r.settings.saveMail,
    saveLocation: r.settings.saveLocation ?? '',
    smtpPorts: r.text.smtpPorts,
    pop3Ports: r.text.pop3Ports,
    captureFilter: r.settings.captureFilter,
    anyPort: r.settings.anyPort,
  };
}

function sameSettings(a: MailModuleSettings, b: MailModuleSettings): boolean {
  return (
    a.saveMail === b.saveMail &&
    a.saveLocation === b.saveLocation &&
    a.captureFilter === b.captureFilter &&
    a.anyPort === b.anyPort &&
    a.smtpPorts.join(';') === b.smtpPorts.join(';') &&
    a.pop3Ports.join(';') === b.pop3Ports.join(';')
  );
}

const HELP: Record<MailSettingsField, ReactNode> = {
  saveMail: 'Keep each mail’s bytes so admins can read its body and download the .eml and attachments; off keeps only its summary (addresses, subject, size, hash).',
  saveLocation: 'An absolute folder on the API host where saved mails are also written as .eml files (e.g. /var/lib/mailscope/mail); empty = the database only.',
  smtpPorts: 'TCP ports whose traffic is read as SMTP, separated by ; (e.g. 25;587;2525). Empty is allowed when any-port detection is on.',
  pop3Ports: 'TCP ports whose traffic is read as POP3, separated by ; (e.g. 110;1110). A port belongs to one protocol only.',
  captureFilter: 'A BPF expression the agents AND with the port filter, e.g. host 192.0.2.10 (tcpdump syntax); empty = none. The agent checks its syntax when it compiles it.',
  anyPort: 'Also recognise SMTP and POP3 on unlisted ports by their content (greeting, first command); costs CPU on busy links.',
};

function FieldError({ field, errors }: { field: MailSettingsField; errors: Errors }) {
  const e = errors[field];
  if (e === undefined) return null;
  return (
    <span className="field-error" id={`field-error-${field}`} data-testid={`field-error-${field}`} role="alert">
      {e}
    </span>
  );
}

export function MailSettingsForm({ onDirtyChange }: { onDirtyChange?: (dirty: boolean) => void }) {
  const [saved, setSaved] = useState<SettingsResponse | null>(null);
  const [form, setForm] = useState<FormValues | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [serverErrors, setServerErrors] = useState<Errors>({});
  const [saveError, setSaveError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [savedAt, setSavedAt] = useState<number | null>(null);
  const [tried, setTried] = useState(false);

  useEffect(() => {
    api<SettingsResponse>('/settings').then(
      (r) => {
        setSaved(r);
        setForm(toForm(r));
      },
      (e: unknown) => setLoadError(errorMessage(e)),
    );
  }, []);

  const result = useMemo(() => (form === null ? null : validateMailSettings({ ...form })), [form]);
  const clientErrors: Errors = result !== null && !result.ok ? result.errors : {};
  // The API's word wins at a field until that field changes (set() drops it).
  const errors: Errors = { ...clientErrors, ...serverErrors };
  const dirty = form !== null && saved !== null && (result === null || !result.ok || !sameSettings(result.settings, saved.settings));

  useEffect(() => {
    onDirtyChange?.(dirty);
  }, [dirty, onDirtyChange]);
  useEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [dirty]);

  if (loadError !== null) return <div className="alert error" role="alert">Cannot load the settings: {loadError}</div>;
  if (form === null || saved === null) return <div className="muted">Loading the settings…</div>;

  const set = <K extends keyof FormValues>(key: K, value: FormValues[K]) => {
    setForm((f) => (f === null ? f : { ...f, [key]: value }));
    setServerErrors((e) => {
      if (e[key] === undefined && e.settings === undefined) return e;
      const n = { ...e };
      delete n[key];
      delete n.settings;
      return n;
    });
    setSavedAt(null);
    setSaveError(null);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTried(true);
    if (result === null || !result.ok) return;
    setBusy(true);
    setSaveError(null);
    try {
      const r = await api<SettingsResponse>('/settings', {
        method: 'PUT',
        json: { ...form, saveLocation: form.saveLocation.trim() === '' ? null : form.saveLocation },
      });
      setSaved(r);
      setForm(toForm(r));
      setServerErrors({});
      setTried(false);
      setSavedAt(Date.now());
    } catch (err) {
      if (err instanceof ApiError && Object.keys(err.fields).length > 0) setServerErrors(err.fields as Errors);
      setSaveError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const invalid = (f: MailSettingsField) => (errors[f] !== undefined ? true : undefined);
  const describedBy = (f: MailSettingsField) => `help-${f}${errors[f] !== undefined ? ` field-error-${f}` : ''}`;
  const text = (field: 'saveLocation' | 'smtpPorts' | 'pop3Ports', label: string, placeholder: string, extra?: ReactNode) => (
    <label className={field === 'saveLocation' ? styles.full : undefined}>
      {label}
      <input
        type="text"
        name={field}
        data-testid={`settings-${field}`}
        value={form[field]}
        placeholder={placeholder}
        spellCheck={false}
        autoComplete="off"
        aria-invalid={invalid(field)}
        aria-describedby={describedBy(field)}
        onChange={(e) => set(field, e.target.value)}
      />
      <span className="field-help" id={`help-${field}`}>
        {HELP[field]}
        {extra}
      </span>
      <FieldError field={field} errors={errors} />
    </label>
  );
  const check = (field: 'saveMail' | 'anyPort', label: string) => (
    <div className={styles.check}>
      <label>
        <input
          type="checkbox"
          name={field}
          data-testid={`settings-${field}`}
          checked={form[field]}
          aria-describedby={describedBy(field)}
          onChange={(e) => set(field, e.target.checked)}
        />
        {label}
      </label>
      <span className="field-help" id={`help-${field}`}>
        {HELP[field]}
      </span>
      <FieldError field={field} errors={errors} />
    </div>
  );

  const errorCount = Object.keys(errors).length;

  return (
    <form className={`card ${styles.form}`} onSubmit={(e) => void submit(e)} noValidate data-testid="settings-mail-form">
      <div>
        <h2>Mail module</h2>
        <p className="muted small" style={{ margin: 0 }}>
          What the agents capture and whether the mails are kept. Connected agents get a change at once; captures already running keep their ports until
          restarted.
        </p>
      </div>
      <div className={styles.fields}>
        <div className={styles.full}>{check('saveMail', 'Save Mail')}</div>
        {text('saveLocation', 'Save location', 'empty: the database only', !form.saveMail && form.saveLocation.trim() !== '' ? ' Used only while Save Mail is on.' : undefined)}
        {text('smtpPorts', 'SMTP ports', '25;587')}
        {text('pop3Ports', 'POP3 ports', '110;1110')}
        <label className={styles.full}>
          Capture filter (BPF)
          <textarea
            name="captureFilter"
            data-testid="settings-captureFilter"
            rows={1}
            value={form.captureFilter}
            placeholder="e.g. host 192.0.2.10 and not net 10.0.0.0/8"
            spellCheck={false}
            aria-invalid={invalid('captureFilter')}
            aria-describedby={describedBy('captureFilter')}
            onChange={(e) => set('captureFilter', e.target.value)}
          />
          <span className="field-help" id="help-captureFilter">
            {HELP.captureFilter}
          </span>
          <FieldError field="captureFilter" errors={errors} />
        </label>
        <div className={styles.full}>{check('anyPort', 'Any-port detection')}</div>
      </div>
      {errors.settings !== undefined && (
        <div className="alert error" data-testid="field-error-settings">
          {errors.settings}
        </div>
      )}
      <div className={styles.saveBar}>
        <button type="submit" className="primary" data-testid="settings-save" disabled={busy}>
          {busy ? 'Saving…' : 'Save'}
        </button>
        {dirty && (
          <span className="badge warn" data-testid="settings-dirty">
            unsaved changes
          </span>
        )}
        {!dirty && savedAt !== null && (
          <span className="badge ok" data-testid="settings-saved" role="status">
            saved at {formatTime(savedAt * 1000, false).slice(11)}: agents have the new settings
          </span>
        )}
        {tried && errorCount > 0 && saveError === null && (
          <span className="error small">
            Not saved: fix the field{errorCount === 1 ? '' : 's'} marked in red.
          </span>
        )}
        {saveError !== null && (
          <span className="error small" role="alert">
            Not saved: {saveError}
          </span>
        )}
        <span className="spacer" />
        {saved.updatedAt !== null && (
          <span className={`muted small ${styles.lastChanged}`}>last changed {formatTime(Date.parse(saved.updatedAt) * 1000, false)}</span>
        )}
      </div>
    </form>
  );
}
