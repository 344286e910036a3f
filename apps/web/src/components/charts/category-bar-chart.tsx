'use client';
/**
 * Bars per category: vertical (reply codes, one colour each) or horizontal (top servers / clients,
 * long labels on the left).
 */
import { Bar, BarChart, CartesianGrid, Cell, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { compactNumber } from './chart-data';
import styles from './charts.module.css';

export interface CategoryDatum {
  readonly label: string;
  readonly value: number;
  readonly color: string;
  /** Shown in the tooltip under the label. */
  readonly detail?: string;
}

interface TipProps {
  readonly active?: boolean;
  readonly payload?: ReadonlyArray<{ readonly payload?: unknown }>;
}

export function CategoryBarChart(props: {
  readonly data: readonly CategoryDatum[];
  readonly horizontal?: boolean;
  readonly valueLabel: string;
  /** Width of the label axis when horizontal, px. */
  readonly labelWidth?: number;
}) {
  const { data, horizontal = false } = props;
  const Tip = ({ active, payload }: TipProps) => {
    const d = payload?.[0]?.payload as CategoryDatum | undefined;
    if (active !== true || d === undefined) return null;
    return (
      <div className={styles.tooltip}>
        <div className={styles.label}>{d.label}</div>
        {d.detail === undefined ? null : <div className="muted">{d.detail}</div>}
        <div className={styles.row}>
          <span className={styles.swatch} style={{ background: d.color }} />
          {props.valueLabel}
          <span className={styles.value}>{d.value.toLocaleString('en-US')}</span>
        </div>
      </div>
    );
  };
  const rows = data as CategoryDatum[];
  return (
    <ResponsiveContainer width="100%" height="100%" minWidth={0} initialDimension={{ width: 400, height: 180 }}>
      {horizontal ? (
        <BarChart data={rows} layout="vertical" margin={{ top: 0, right: 8, bottom: 0, left: 0 }} barCategoryGap="20%">
          <CartesianGrid horizontal={false} stroke="#eceff3" />
          <XAxis type="number" allowDecimals={false} tick={{ fontSize: 11 }} tickLine={false} tickFormatter={compactNumber} />
          <YAxis type="category" dataKey="label" width={props.labelWidth ?? 150} tick={{ fontSize: 11, fontFamily: 'var(--mono)' }} tickLine={false} interval={0} />
          <Tooltip content={Tip} cursor={{ fill: 'rgba(31, 111, 235, .08)' }} isAnimationActive={false} />
          <Bar dataKey="value" isAnimationActive={false} maxBarSize={16}>
            {rows.map((d) => <Cell key={d.label} fill={d.color} />)}
          </Bar>
        </BarChart>
      ) : (
        <BarChart data={rows} margin={{ top: 4, right: 4, bottom: 0, left: 0 }}>
          <CartesianGrid vertical={false} stroke="#eceff3" />
          <XAxis dataKey="label" tick={{ fontSize: 11, fontFamily: 'var(--mono)' }} tickLine={false} interval={0} />
          <YAxis allowDecimals={false} width={44} tick={{ fontSize: 11 }} tickLine={false} axisLine={false} tickFormatter={compactNumber} />
          <Tooltip content={Tip} cursor={{ fill: 'rgba(31, 111, 235, .08)' }} isAnimationActive={false} />
          <Bar dataKey="value" isAnimationActive={false} maxBarSize={28}>
            {rows.map((d) => <Cell key={d.label} fill={d.color} />)}
          </Bar>
        </BarChart>
      )}
    </ResponsiveContainer>
  );
}
