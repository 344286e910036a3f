import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatPortList, parsePortList } from '../src/port-list.ts';

test('parses ; lists, keeps order', () => {
  assert.deepEqual(parsePortList('25;587;2525'), { ok: true, ports: [25, 587, 2525] });
  assert.deepEqual(parsePortList('110;1110'), { ok: true, ports: [110, 1110] });
});

test('accepts , and white space, blanks around items and a trailing separator', () => {
  assert.deepEqual(parsePortList(' 25 ; 587, 2525\t465 ;'), { ok: true, ports: [25, 587, 2525, 465] });
  assert.deepEqual(parsePortList('025'), { ok: true, ports: [25] });
});

test('bounds: 1 and 65535 are ports, 0 and 65536 are not', () => {
  assert.deepEqual(parsePortList('1;65535'), { ok: true, ports: [1, 65535] });
  assert.deepEqual(parsePortList('0'), { ok: false, error: "'0' is not a port: ports are 1-65535" });
  assert.deepEqual(parsePortList('25;65536'), { ok: false, error: "'65536' is not a port: ports are 1-65535" });
  assert.deepEqual(parsePortList('70000'), { ok: false, error: "'70000' is not a port: ports are 1-65535" });
});

test('non-numbers are refused with the item named', () => {
  for (const bad of ['smtp', '-25', '+25', '25.0', '0x19', '2 5x', '1e3']) {
    const r = parsePortList(bad);
    assert.equal(r.ok, false, bad);
    assert.match(r.ok ? '' : r.error, /is not a port: ports are whole numbers 1-65535$/, bad);
  }
  const long = parsePortList('x'.repeat(100));
  assert.equal(long.ok ? '' : long.error, `'${'x'.repeat(20)}...' is not a port: ports are whole numbers 1-65535`);
});

test('duplicates are refused, also when spelt differently', () => {
  assert.deepEqual(parsePortList('110;995;110'), { ok: false, error: 'port 110 is listed twice' });
  assert.deepEqual(parsePortList('25;025'), { ok: false, error: 'port 25 is listed twice' });
});

test('empty list: an error unless allowed', () => {
  assert.equal(parsePortList('').ok, false);
  assert.equal(parsePortList(' ; ').ok, false);
  assert.match((parsePortList('') as { error: string }).error, /no port given/);
  assert.deepEqual(parsePortList(' ', { allowEmpty: true }), { ok: true, ports: [] });
});

test('formatPortList is the canonical text and round-trips', () => {
  assert.equal(formatPortList([25, 587]), '25;587');
  assert.equal(formatPortList([]), '');
  const r = parsePortList(formatPortList([110, 1110, 9110]));
  assert.deepEqual(r, { ok: true, ports: [110, 1110, 9110] });
});

test('a huge text is refused without splitting it', () => {
  const r = parsePortList('1;'.repeat(300_000));
  assert.equal(r.ok, false);
  assert.match(r.ok ? '' : r.error, /too long/);
});
