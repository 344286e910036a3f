/**
 * Every capture of the third-party corpus through the engine (CaptureReader -> Analyzer ->
 * summarizeMail), judged against every expected result the corpus holds for it (checks.ts). One
 * subtest per capture. A check listed in KNOWN_DIFFERENCES must still differ (so a fix shrinks the
 * list); every other check must agree. A missing corpus fails.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CRAFTED, capturePath, judgeCapture, settingsFor } from './corpus/checks.ts';
import { KNOWN_DIFFERENCES, knownDifference } from './corpus/known-differences.ts';
import { listCaptures } from './corpus/paths.ts';
import { DEFAULT_MAX_HEAP_MB, runCapture } from './corpus/run-capture.ts';

const captures = listCaptures();

test('the corpus is there: 75 captures', () => {
  assert.equal(captures.length, 75, `expected the corpus's 75 captures, found ${captures.length}`);
});

test('every KNOWN_DIFFERENCES entry names a capture of the corpus', () => {
  for (const k of KNOWN_DIFFERENCES) assert.ok(captures.includes(k.capture), `${k.capture} is not in the corpus`);
});

for (const capture of captures) {
  test(capture, async () => {
    const run = await runCapture(capturePath(capture), settingsFor(capture));
    assert.ok(run.finished, `${capture}: ${run.error ?? 'did not finish'}`);
    assert.ok(run.frames > 0, `${capture}: no frame read`);
    // The worker's heap is capped at DEFAULT_MAX_HEAP_MB; half of it is already far beyond any capture here.
    assert.ok(run.peakHeapBytes < (DEFAULT_MAX_HEAP_MB / 2) * 1024 * 1024, `${capture}: heap reached ${run.peakHeapBytes} bytes`);
    if (CRAFTED.has(capture)) assert.ok(run.sessions.length > 0, `${capture}: crafted capture produced no session at all`);
    const { checks } = judgeCapture(capture, run);
    assert.ok(checks.length > 0);
    const wrong: string[] = [];
    const fixed: string[] = [];
    for (const c of checks) {
      const known = knownDifference(capture, c.reference, c.what);
      if (known && c.ok) fixed.push(`${c.reference} | ${c.what}: now agrees (${c.got}) - remove it from KNOWN_DIFFERENCES`);
      if (!known && !c.ok) wrong.push(`${c.reference} | ${c.what}\n    expected: ${c.expected}\n    got:      ${c.got}`);
    }
    const stale = KNOWN_DIFFERENCES.filter((k) => k.capture === capture && !checks.some((c) => c.reference === k.reference && c.what === k.what));
    assert.deepEqual(stale.map((k) => `${k.reference} | ${k.what}`), [], `${capture}: KNOWN_DIFFERENCES entries that match no check`);
    assert.deepEqual(fixed, [], `${capture}: known differences that are gone`);
    assert.deepEqual(wrong, [], `${capture}: disagreements with the references`);
  });
}
