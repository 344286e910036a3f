/**
 * Live tests need root (or CAP_NET_RAW) and the loopback interface. Outside CI a missing
 * prerequisite skips them with the reason; under CI (`CI=true`, which runs as root) it fails them.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { networkInterfaces } from 'node:os';

function missing(): string | undefined {
  if (process.getuid?.() !== 0) {
    // Not root: maybe node has CAP_NET_RAW (setcap); the capture itself will tell.
    try {
      const status = execFileSync('grep', ['CapEff', `/proc/${process.pid}/status`], { encoding: 'utf8' });
      const eff = BigInt(`0x${status.split(/\s+/)[1] ?? '0'}`);
      if ((eff & (1n << 13n)) === 0n) return 'live capture needs root or CAP_NET_RAW';
    } catch {
      return 'live capture needs root or CAP_NET_RAW';
    }
  }
  if (networkInterfaces().lo === undefined) return 'no loopback interface lo';
  return undefined;
}

/** `{ skip }` for node:test's options: a reason outside CI, false under CI (after failing the assertion). */
export function liveTestOptions(): { skip: string | false } {
  const reason = missing();
  if (reason === undefined) return { skip: false };
  if (process.env.CI === 'true') {
    assert.fail(`CI runs the live-capture tests: ${reason}`);
  }
  return { skip: reason };
}
