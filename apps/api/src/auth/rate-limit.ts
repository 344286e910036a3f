/**
 * Failed-login counter per client address (fixed window, in memory). Enough for one API process;
 * with several instances each counts its own, which still bounds guessing per instance.
 */

export interface LoginRateLimitOptions {
  /** Failed attempts allowed per address within the window. */
  readonly maxFailures: number;
  readonly windowMs: number;
  /** Addresses tracked at most; the oldest entry is dropped past it (bounded memory under a spray). */
  readonly maxAddresses: number;
}

/** 10 failures per 15 minutes: a person mistyping never hits it, a guesser gets ~1000 tries a day. */
export const DEFAULT_LOGIN_RATE_LIMIT: LoginRateLimitOptions = { maxFailures: 10, windowMs: 15 * 60_000, maxAddresses: 10_000 };

export class LoginRateLimiter {
  private readonly entries = new Map<string, { failures: number; resetAt: number }>();

  constructor(
    private readonly opts: LoginRateLimitOptions = DEFAULT_LOGIN_RATE_LIMIT,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until `ip` may try again, or 0 when it may try now. */
  retryAfter(ip: string): number {
    const e = this.entries.get(ip);
    if (e === undefined) return 0;
    const t = this.now();
    if (t >= e.resetAt) {
      this.entries.delete(ip);
      return 0;
    }
    return e.failures >= this.opts.maxFailures ? Math.ceil((e.resetAt - t) / 1000) : 0;
  }

  fail(ip: string): void {
    const t = this.now();
    const e = this.entries.get(ip);
    if (e !== undefined && t < e.resetAt) {
      e.failures++;
      return;
    }
    this.entries.delete(ip);
    if (this.entries.size >= this.opts.maxAddresses) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    this.entries.set(ip, { failures: 1, resetAt: t + this.opts.windowMs });
  }

  succeed(ip: string): void {
    this.entries.delete(ip);
  }
}
