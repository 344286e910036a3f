'use client';
/**
 * Stacked bars over time: one bar per bucket of the range, one stack segment per series key.
 * Receives plain rows (pivotSeries); animation is off because the data refreshes while the user
 * watches.
 */
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { BucketRow } from './chart-data';
import { compactNumber, formatBucketRange, formatTick } from './chart-data';
import styles from './charts.module.css';

export interface SeriesDef {
  readonly key: string;
  readonly label: string;
  readonly color: string;
}

interface TipProps {
  readonly active?: boolean;
  readonly label?: unknown;
  readonly payload?: ReadonlyArray<{ readonly dataKey?: unknown; readonly value?: unknown }>;
}

export function TimeBarChart(props: {
  readonly rows: readonly BucketRow[];
  readonly series: readonly SeriesDef[];
  readonly bucketUs: number;
  readonly format?: (n: number) => string;
  /** Width of the value axis, px (byte labels need more). */
  readonly axisWidth?: number;
}) {
  const { rows, series, bucketUs } = props;
  const format = props.format ?? ((n: number) => n.toLocaleString('en-US'));
  const first = rows[0]?.t ?? 0;
  const span = rows.length * bucketUs;
  const Tip = ({ active, label, payload }: TipProps) => {
    if (active !== true || typeof label !== 'number') return null;
    const values = new Map((payload ?? []).map((p) => [String(p.dataKey), Number(p.value)]));
    const total = [...values.values()].reduce((a, b) => a + b, 0);
    return (
      <div className={styles.tooltip}>
        <div className={styles.label}>{formatBucketRange(label, bucketUs)}</div>
        {series.map((s) => (
          <div className={styles.row} key={s.key}>
            <span className={styles.swatch} style={{ background: s.color }} />
            {s.label}
            <span className={styles.value}>{format(values.get(s.key) ?? 0)}</span>
          </div>
        ))}
        {series.length > 1 ? (
          <div className={styles.row}>
            total<span className={styles.value}>{format(total)}</span>
          </div>
        ) : null}
      </div>
    );
  };
  return (
    <ResponsiveContainer width="100%" height="100%" minWidth={0} initialDimension={{ width: 400, height: 180 }}>
      <BarChart data={rows as BucketRow[]} margin={{ top: 4, right: 4, bottom: 0, left: 0 }} barCategoryGap={rows.length > 60 ? 0 : '15%'}>
        <CartesianGrid vertical={false} stroke="#eceff3" />
        <XAxis
          dataKey="t"
          tickFormatter={(v: number) => formatTick(v, span, bucketUs)}
          minTickGap={24}
          tick={{ fontSize: 11 }}
          tickLine={false}
          interval="preserveStartEnd"
          domain={[first, first + span]}
        />
        <YAxis allowDecimals={false} width={props.axisWidth ?? 44} tick={{ fontSize: 11 }} tickLine={false} axisLine={false} tickFormatter={props.format ?? compactNumber} />
        <Tooltip content={Tip} cursor={{ fill: 'rgba(31, 111, 235, .08)' }} isAnimationActive={false} />
        {series.length > 1 ? <Legend iconSize={8} wrapperStyle={{ fontSize: 11 }} itemSorter={null} /> : null}
        {series.map((s) => (
          <Bar key={s.key} dataKey={s.key} name={s.label} stackId="a" fill={s.color} isAnimationActive={false} maxBarSize={24} />
        ))}
      </BarChart>
    </ResponsiveContainer>
  );
}
