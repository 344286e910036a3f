/**
 * Live tests need root (or CAP_NET_RAW) and the loopback interface. A missing prerequisite fails
 * them with the reason (a skipped test would hide what was not tested).
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

/** Fails (the calling test file) with the reason when live capture cannot run here. */
export function requireLiveCapture(): void {
  const reason = missing();
  if (reason !== undefined) assert.fail(`the live-capture tests need root (or CAP_NET_RAW on node) and lo: ${reason}`);
}
