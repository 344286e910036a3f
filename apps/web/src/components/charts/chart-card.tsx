'use client';
import type { ReactNode } from 'react';
import styles from './charts.module.css';

/**
 * A chart's frame: title, an optional note on the right, and either the chart or a one-line
 * empty state (an empty axis says less than a sentence).
 */
export function ChartCard(props: {
  readonly testId: string;
  readonly title: ReactNode;
  readonly note?: ReactNode;
  readonly empty: string | null;
  readonly loading?: boolean;
  readonly height?: number;
  readonly children: ReactNode;
}) {
  const height = props.height ?? 180;
  return (
    <section className={`card ${styles.card}`} data-testid={props.testId} aria-busy={props.loading === true}>
      <header className={styles.head}>
        <h3>{props.title}</h3>
        {props.note === undefined ? null : <span className="muted small">{props.note}</span>}
      </header>
      <div className={styles.body} style={{ height }}>
        {props.empty === null ? props.children : <div className={styles.empty}>{props.empty}</div>}
      </div>
    </section>
  );
}
