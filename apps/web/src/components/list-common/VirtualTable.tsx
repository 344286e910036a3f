'use client';
/**
 * A virtualised table of fixed-height rows (`.vlist` / `.vrow`): only the rows in view (plus a few)
 * are in the DOM, whatever the number loaded, and every row has the same height so nothing is
 * measured and nothing moves while scrolling. Near the end of the loaded rows it asks for more
 * (`onEndReached`); the caller's list pages through the API.
 */
import { useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useEffect, useRef, type CSSProperties, type KeyboardEvent, type ReactNode, type RefObject } from 'react';
import styles from './list.module.css';

/** Row height in px; the header has the same. */
export const ROW_HEIGHT = 28;
/** Rows rendered beyond each edge of the view: enough for a wheel notch, few enough to stay cheap. */
const OVERSCAN = 12;
/** Ask for the next page when the view comes this many rows from the end of what is loaded. */
const END_THRESHOLD = 60;

const estimateSize = (): number => ROW_HEIGHT;

export interface VirtualTableControl {
  scrollToTop(): void;
  scrollToIndex(index: number): void;
  isAtTop(): boolean;
  /** The list's scroll offset in px (the last one seen, also after the list left the page). */
  scrollOffset(): number;
  scrollToOffset(top: number): void;
  /** The row element at `index`, when it is rendered. */
  rowElement(index: number): HTMLElement | null;
}

export interface RowRenderProps {
  readonly index: number;
  /**
   * Position and size: put onto the row element, with `className` and `data-index`. The same
   * object for the same position while the columns stay, so a memoised row that did not move
   * is not rendered again while scrolling.
   */
  readonly style: CSSProperties;
  readonly className: string;
  readonly 'data-index': number;
}

export interface VirtualTableProps<T> {
  readonly rows: readonly T[];
  /** CSS grid-template-columns shared by the header and every row. */
  readonly columns: string;
  /** Below this width the table scrolls sideways instead of squeezing columns. */
  readonly minWidth: number;
  readonly header: ReactNode;
  readonly rowKey: (row: T) => string;
  readonly renderRow: (row: T, props: RowRenderProps) => ReactNode;
  readonly hasMore: boolean;
  readonly loading: boolean;
  readonly error: string | null;
  readonly onEndReached?: (() => void) | undefined;
  readonly onRetry?: (() => void) | undefined;
  /** Called when the view reaches or leaves the top (for live inserts). */
  readonly onAtTopChange?: ((atTop: boolean) => void) | undefined;
  readonly onKeyDown?: ((e: KeyboardEvent<HTMLDivElement>) => void) | undefined;
  readonly controlRef?: RefObject<VirtualTableControl | null> | undefined;
  readonly ariaLabel: string;
  readonly className?: string | undefined;
  readonly style?: CSSProperties | undefined;
  readonly testId?: string | undefined;
  readonly tabIndex?: number | undefined;
}

export function VirtualTable<T>(props: VirtualTableProps<T>) {
  const { rows, hasMore, loading, error, onEndReached } = props;
  const scrollRef = useRef<HTMLDivElement | null>(null);
  const atTop = useRef(true);
  const lastOffset = useRef(0);
  const footer = hasMore || loading || error !== null;
  // Both must keep their identity between renders: a new getItemKey makes the virtualizer
  // recompute the position of every row (100,000 of them) on each scroll frame.
  const rowKeyRef = useRef(props.rowKey);
  useEffect(() => {
    rowKeyRef.current = props.rowKey;
  });
  const getItemKey = useCallback((i: number) => {
    const row = rows[i];
    return row === undefined ? i : rowKeyRef.current(row);
  }, [rows]);
  const virtualizer = useVirtualizer<HTMLDivElement, HTMLElement>({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize,
    overscan: OVERSCAN,
    scrollMargin: ROW_HEIGHT,
    getItemKey,
  });
  const items = virtualizer.getVirtualItems();
  const cacheRef = useRef({ columns: props.columns, styles: new Map<number, CSSProperties>() });
  if (cacheRef.current.columns !== props.columns) cacheRef.current = { columns: props.columns, styles: new Map() };
  const styleCache = cacheRef.current.styles;
  const styleAt = (start: number): CSSProperties => {
    let st = styleCache.get(start);
    if (st === undefined) {
      if (styleCache.size > 5000) styleCache.clear();
      st = { gridTemplateColumns: props.columns, height: ROW_HEIGHT, transform: `translateY(${start - ROW_HEIGHT}px)` };
      styleCache.set(start, st);
    }
    return st;
  };
  const lastIndex = items.length === 0 ? -1 : items[items.length - 1]!.index;

  useEffect(() => {
    if (onEndReached === undefined || !hasMore || loading || error !== null) return;
    if (lastIndex >= rows.length - END_THRESHOLD) onEndReached();
  }, [lastIndex, rows.length, hasMore, loading, error, onEndReached]);

  useEffect(() => {
    if (props.controlRef === undefined) return;
    props.controlRef.current = {
      scrollToTop: () => {
        scrollRef.current?.scrollTo({ top: 0 });
      },
      scrollToIndex: (index) => virtualizer.scrollToIndex(index, { align: 'auto' }),
      isAtTop: () => atTop.current,
      scrollOffset: () => lastOffset.current,
      scrollToOffset: (top) => {
        scrollRef.current?.scrollTo({ top });
      },
      rowElement: (index) => scrollRef.current?.querySelector<HTMLElement>(`[data-index="${index}"]`) ?? null,
    };
  });

  const controlRef = props.controlRef;
  useEffect(
    () => () => {
      if (controlRef !== undefined) controlRef.current = null;
    },
    [controlRef],
  );

  const onScroll = () => {
    const el = scrollRef.current;
    if (el === null) return;
    lastOffset.current = el.scrollTop;
    const top = el.scrollTop < ROW_HEIGHT / 2;
    if (top !== atTop.current) {
      atTop.current = top;
      props.onAtTopChange?.(top);
    }
  };

  const total = virtualizer.getTotalSize() - ROW_HEIGHT;
  return (
    <div
      ref={scrollRef}
      className={`vlist ${styles.list} ${props.className ?? ''}`}
      style={props.style}
      onScroll={onScroll}
      onKeyDown={props.onKeyDown}
      aria-label={props.ariaLabel}
      aria-rowcount={rows.length}
      data-testid={props.testId}
      tabIndex={props.tabIndex}
    >
      <div style={{ minWidth: props.minWidth }}>
        <div className="vrow head" style={{ gridTemplateColumns: props.columns, height: ROW_HEIGHT }}>
          {props.header}
        </div>
        <div className={styles.inner} style={{ height: total + (footer ? ROW_HEIGHT * 1.5 : 0) }}>
          {items.map((v) =>
            props.renderRow(rows[v.index]!, {
              index: v.index,
              'data-index': v.index,
              className: `vrow ${styles.row}`,
              style: styleAt(v.start),
            }),
          )}
          {footer && (
            <div className={styles.footer} style={{ top: total, height: ROW_HEIGHT * 1.5 }}>
              {error !== null ? (
                <>
                  <span className="error">Could not load more: {error}</span>
                  {props.onRetry !== undefined && (
                    <button type="button" onClick={props.onRetry}>
                      Retry
                    </button>
                  )}
                </>
              ) : loading ? (
                'Loading…'
              ) : (
                'Scroll for more'
              )}
            </div>
          )}
        </div>
      </div>
    </div>
  );
}
