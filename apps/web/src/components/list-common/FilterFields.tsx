'use client';
/** Filter controls of the list pages: a debounced text / datetime field with its error, a select, a removable chip. */
import { useEffect, useRef, useState, type ReactNode } from 'react';
import styles from './list.module.css';
import { microsToLocal, parseLocalTime } from './validate';

/** Typing pause before a field's value goes to the URL (and the list reloads). */
export const TYPING_DEBOUNCE_MS = 300;

export type ParseResult = { readonly ok: true; readonly value: string } | { readonly ok: false; readonly error: string };

export interface DebouncedFieldProps {
  readonly label: string;
  readonly testId: string;
  /** The committed value (from the URL). */
  readonly value: string;
  /** Draft text -> the value to commit, or why it cannot be. */
  readonly parse: (draft: string) => ParseResult;
  /** Committed value -> the text shown (default: as is). */
  readonly toDraft?: (value: string) => string;
  readonly onCommit: (value: string) => void;
  /** An error about the committed value found by the page (e.g. a range the wrong way round). */
  readonly externalError?: string | undefined;
  readonly type?: 'text' | 'search' | 'datetime-local';
  readonly placeholder?: string;
  readonly title?: string;
  readonly width?: number;
  readonly inputMode?: 'numeric' | 'text';
}

/**
 * An input whose value is committed 300 ms after the user stops typing (Enter and leaving the
 * field commit at once), and only when `parse` accepts it: an invalid value stays in the field
 * with its error and is not sent. A committed value changed from outside (Back, "clear filters")
 * replaces the draft.
 */
export function DebouncedField(props: DebouncedFieldProps) {
  const { value, parse, onCommit } = props;
  const toDraft = props.toDraft ?? ((v: string) => v);
  const [draft, setDraft] = useState(() => toDraft(value));
  const [error, setError] = useState<string | null>(null);
  const committed = useRef(value);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const partial = useRef(false);

  useEffect(() => {
    if (value === committed.current) return;
    // Changed from outside: show it, drop a pending commit of the old draft.
    committed.current = value;
    if (timer.current !== null) clearTimeout(timer.current);
    partial.current = false;
    setDraft(toDraft(value));
    setError(null);
    // toDraft is a pure formatter passed inline.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);

  useEffect(() => () => {
    if (timer.current !== null) clearTimeout(timer.current);
  }, []);

  const commit = (text: string) => {
    if (timer.current !== null) clearTimeout(timer.current);
    timer.current = null;
    if (partial.current) {
      setError('incomplete: fill in every part');
      return;
    }
    const r = parse(text.trim());
    if (!r.ok) {
      setError(r.error);
      return;
    }
    setError(null);
    if (r.value === committed.current) return;
    committed.current = r.value;
    onCommit(r.value);
  };

  const shown = error ?? props.externalError ?? null;
  const errorId = `${props.testId}-error`;
  return (
    <label className={styles.field} title={props.title}>
      {props.label}
      <input
        data-testid={props.testId}
        type={props.type ?? 'text'}
        value={draft}
        placeholder={props.placeholder}
        inputMode={props.inputMode}
        style={props.width === undefined ? undefined : { width: props.width }}
        aria-invalid={shown !== null}
        aria-describedby={shown !== null ? errorId : undefined}
        onChange={(e) => {
          const text = e.target.value;
          // A date being typed reads as '' until every part is there: not a cleared filter.
          partial.current = e.target.validity.badInput;
          setDraft(text);
          if (timer.current !== null) clearTimeout(timer.current);
          timer.current = setTimeout(() => commit(text), TYPING_DEBOUNCE_MS);
        }}
        onBlur={() => {
          if (timer.current !== null) commit(draft);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter') commit(draft);
        }}
      />
      {shown !== null && (
        <span id={errorId} className={`field-error ${styles.fieldError}`} role="alert">
          {shown}
        </span>
      )}
    </label>
  );
}

export function SelectField<V extends string>(props: {
  readonly label: string;
  readonly testId: string;
  readonly value: V | '';
  readonly options: readonly { readonly value: V; readonly label: string; readonly title?: string }[];
  readonly anyLabel?: string;
  readonly onChange: (value: V | '') => void;
  readonly error?: string | undefined;
  readonly width?: number;
}) {
  return (
    <label className={styles.field}>
      {props.label}
      <select
        data-testid={props.testId}
        value={props.value}
        style={props.width === undefined ? undefined : { width: props.width }}
        aria-invalid={props.error !== undefined}
        onChange={(e) => props.onChange(e.target.value as V | '')}
      >
        <option value="">{props.anyLabel ?? 'any'}</option>
        {props.options.map((o) => (
          <option key={o.value} value={o.value} title={o.title}>
            {o.label}
          </option>
        ))}
      </select>
      {props.error !== undefined && <span className={`field-error ${styles.fieldError}`} role="alert">{props.error}</span>}
    </label>
  );
}

/** A filter that is set but has no field of its own (a capture, a session), removable. */
export function FilterChip(props: { readonly label: ReactNode; readonly title?: string; readonly onRemove: () => void; readonly testId?: string; readonly invalid?: boolean }) {
  return (
    <span className={`${styles.chip} ${props.invalid === true ? styles.chipInvalid : ''}`} title={props.title} data-testid={props.testId}>
      {props.label}
      <button type="button" onClick={props.onRemove} aria-label="remove this filter" title="remove this filter">
        ×
      </button>
    </span>
  );
}

/**
 * From / To of a list's time range (datetime-local in the browser's zone <-> µs in the URL), the
 * clear button when a filter is set: the same on every list.
 */
export function TimeRangeFields(props: {
  readonly from: string;
  readonly to: string;
  readonly errors: { readonly from?: string | undefined; readonly to?: string | undefined };
  readonly onCommit: (change: { from: string } | { to: string }) => void;
  /** What the bounds apply to, for the tooltips: 'Sessions that started'. */
  readonly subject?: string;
}) {
  const { subject } = props;
  return (
    <>
      <DebouncedField
        label="From"
        testId="filter-from"
        type="datetime-local"
        value={props.from}
        toDraft={microsToLocal}
        parse={parseLocalTime}
        onCommit={(v) => props.onCommit({ from: v })}
        externalError={props.errors.from}
        title={subject === undefined ? undefined : `${subject} at or after this time (your time zone)`}
      />
      <DebouncedField
        label="To"
        testId="filter-to"
        type="datetime-local"
        value={props.to}
        toDraft={microsToLocal}
        parse={parseLocalTime}
        onCommit={(v) => props.onCommit({ to: v })}
        externalError={props.errors.to}
        title={subject === undefined ? undefined : `${subject} at or before this time (your time zone)`}
      />
    </>
  );
}

export function ClearFilters({ onClear }: { readonly onClear: () => void }) {
  return (
    <div className={styles.filterActions}>
      <button type="button" className="link" onClick={onClear} data-testid="filters-clear">
        Clear filters
      </button>
    </div>
  );
}

/** The first page failed: why, and a retry. */
export function LoadError({ what, error, onRetry }: { readonly what: string; readonly error: string; readonly onRetry: () => void }) {
  return (
    <div className="alert error" role="alert" style={{ marginBottom: 8 }}>
      Could not load the {what}: {error}{' '}
      <button type="button" onClick={onRetry}>
        Retry
      </button>
    </div>
  );
}
