'use client';
/** The `captureId` filter as a removable chip naming the capture (its file, or the agent and interface). */
import { useEffect, useState } from 'react';
import { api, ApiError } from '@/lib/api';
import { FilterChip } from './FilterFields';

interface Capture {
  readonly id: string;
  readonly source: 'live' | 'upload';
  readonly fileName: string | null;
  readonly agentName: string | null;
  readonly interface: string | null;
  readonly startedAt: string;
}

export function CaptureChip({ captureId, invalid, what, onRemove }: {
  readonly captureId: string;
  /** The id is not a uuid: it is not sent. */
  readonly invalid: boolean;
  /** 'sessions' / 'packets', for the tooltip. */
  readonly what: string;
  readonly onRemove: () => void;
}) {
  const [loaded, setLoaded] = useState<{ id: string; capture: Capture | null; missing: boolean } | null>(null);
  useEffect(() => {
    if (invalid) return;
    let stop = false;
    api<Capture>(`/captures/${captureId}`).then(
      (c) => !stop && setLoaded({ id: captureId, capture: c, missing: false }),
      (e: unknown) => !stop && setLoaded({ id: captureId, capture: null, missing: e instanceof ApiError && e.status === 404 }),
    );
    return () => {
      stop = true;
    };
  }, [captureId, invalid]);

  const short = <span className="mono">{captureId.slice(0, 8)}</span>;
  const c = loaded?.id === captureId ? loaded.capture : null;
  let label;
  if (invalid) label = <>capture “{captureId.slice(0, 40)}” is not a capture id: ignored</>;
  else if (loaded?.id === captureId && loaded.missing) label = <>capture {short} does not exist (deleted?)</>;
  else if (c === null) label = <>capture {short}</>;
  else if (c.source === 'upload') label = <>file {c.fileName ?? short}</>;
  else label = <>live capture {c.agentName === null ? '' : `on ${c.agentName}`}{c.interface === null ? '' : ` (${c.interface})`}, {new Date(c.startedAt).toLocaleString()}</>;
  return (
    <FilterChip
      testId="filter-capture"
      invalid={invalid || (loaded?.id === captureId && loaded.missing)}
      label={label}
      title={`Only ${what} of capture ${captureId}`}
      onRemove={onRemove}
    />
  );
}
