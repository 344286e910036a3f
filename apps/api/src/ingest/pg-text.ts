/**
 * PostgreSQL's text type cannot hold U+0000, and a capture can put a NUL anywhere (a verb, a HELO
 * name, a header). Stored text shows it as U+2400 SYMBOL FOR NULL; the frames keep the original
 * bytes, so nothing is lost and the session can still be exported as it was on the wire.
 */
export const NUL_STAND_IN = '\u2400';

export function pgText(s: string): string {
  return s.includes('\0') ? s.replaceAll('\0', NUL_STAND_IN) : s;
}

/** `value` with pgText applied to every string inside it (binary left alone); the same object when nothing changed. */
export function pgTextDeep<T>(value: T): T {
  if (typeof value === 'string') return pgText(value) as T;
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const v = pgTextDeep(value[i] as unknown);
      if (v !== value[i]) (out ??= value.slice())[i] = v;
    }
    return (out ?? value) as T;
  }
  let out: Record<string, unknown> | null = null;
  for (const [k, v] of Object.entries(value)) {
    const w = pgTextDeep(v as unknown);
    if (w !== v) (out ??= { ...(value as Record<string, unknown>) })[k] = w;
  }
  return (out ?? value) as T;
}
