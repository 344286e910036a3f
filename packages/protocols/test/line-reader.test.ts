import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineReader, type LineReaderSink } from '../src/line-reader.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

type Ev =
  | { t: 'line'; text: string; frames: number[]; ts: number; tooLong: boolean; bareLf: boolean }
  | { t: 'body'; text: string }
  | { t: 'bodyEnd'; frames: number[] }
  | { t: 'counted'; text: string }
  | { t: 'countedEnd'; missing: number }
  | { t: 'gap'; size: number; mode: string };

/** A reader whose sink records events; `onLine` may switch modes. */
function make(maxLine = 64, onLine?: (text: string, r: LineReader) => void): { r: LineReader; ev: Ev[] } {
  const ev: Ev[] = [];
  const sink: LineReaderSink = {
    line: (l, i) => {
      const text = dec.decode(l);
      ev.push({ t: 'line', text, frames: [...i.frames], ts: i.ts, tooLong: i.tooLong, bareLf: i.bareLf });
      onLine?.(text, r);
    },
    body: (c) => ev.push({ t: 'body', text: dec.decode(c) }),
    bodyEnd: (f) => ev.push({ t: 'bodyEnd', frames: [...f] }),
    counted: (c) => ev.push({ t: 'counted', text: dec.decode(c) }),
    countedEnd: (_ts, missing) => ev.push({ t: 'countedEnd', missing }),
    gap: (size, mode) => ev.push({ t: 'gap', size, mode }),
  };
  const r = new LineReader(sink, maxLine, 16);
  return { r, ev };
}

/** Merges consecutive body / counted events so that chunking does not matter. */
function merged(ev: Ev[]): Ev[] {
  const out: Ev[] = [];
  for (const e of ev) {
    const prev = out[out.length - 1];
    if (prev !== undefined && (e.t === 'body' || e.t === 'counted') && prev.t === e.t) prev.text += e.text;
    else out.push({ ...e });
  }
  return out;
}

test('a line split across chunks carries over, with the frames of both and the completing ts', () => {
  const { r, ev } = make();
  r.push(enc.encode('EHLO exa'), 1, 100);
  assert.equal(r.hasPartialLine, true);
  r.push(enc.encode('mple.com\r\nNOOP\r\n'), 2, 200);
  assert.deepEqual(ev, [
    { t: 'line', text: 'EHLO example.com', frames: [1, 2], ts: 200, tooLong: false, bareLf: false },
    { t: 'line', text: 'NOOP', frames: [2], ts: 200, tooLong: false, bareLf: false },
  ]);
  assert.equal(r.hasPartialLine, false);
});

test('CR and LF split across chunks still make one CRLF', () => {
  const { r, ev } = make();
  r.push(enc.encode('QUIT\r'), 1, 1);
  r.push(enc.encode('\n'), 2, 2);
  assert.deepEqual(ev, [{ t: 'line', text: 'QUIT', frames: [1, 2], ts: 2, tooLong: false, bareLf: false }]);
});

test('a bare LF ends a line and is flagged', () => {
  const { r, ev } = make();
  r.push(enc.encode('NOOP\nRSET\r\n'), 1, 1);
  assert.deepEqual(
    ev.map((e) => (e.t === 'line' ? [e.text, e.bareLf] : e.t)),
    [
      ['NOOP', true],
      ['RSET', false],
    ],
  );
});

test('modes switch mid-chunk: line -> dot body -> line -> counted -> line, all in one chunk', () => {
  const { r, ev } = make(64, (text, rd) => {
    if (text === 'DATA') rd.readDotBody();
    if (text === 'BDAT 3') rd.readCount(3);
  });
  r.push(enc.encode('DATA\r\nhello\r\n..x\r\n.\r\nBDAT 3\r\nabcQUIT\r\n'), 7, 9);
  assert.deepEqual(merged(ev), [
    { t: 'line', text: 'DATA', frames: [7], ts: 9, tooLong: false, bareLf: false },
    { t: 'body', text: 'hello\r\n.x\r\n' },
    { t: 'bodyEnd', frames: [7] },
    { t: 'line', text: 'BDAT 3', frames: [7], ts: 9, tooLong: false, bareLf: false },
    { t: 'counted', text: 'abc' },
    { t: 'countedEnd', missing: 0 },
    { t: 'line', text: 'QUIT', frames: [7], ts: 9, tooLong: false, bareLf: false },
  ]);
});

test('a too-long line in one chunk keeps exactly maxLineBytes bytes', () => {
  const { r, ev } = make(8);
  r.push(enc.encode('0123456789AB\r\nOK\r\n'), 1, 1);
  assert.deepEqual(
    ev.map((e) => (e.t === 'line' ? [e.text, e.tooLong, e.bareLf] : e.t)),
    [
      ['01234567', true, false],
      ['OK', false, false],
    ],
  );
});

test('regression: a too-long line carried over chunks keeps maxLineBytes bytes and sees its CRLF', () => {
  const { r, ev } = make(8);
  r.push(enc.encode('01234'), 1, 1);
  r.push(enc.encode('56789AB\r'), 2, 2);
  r.push(enc.encode('\nOK\r\n'), 3, 3);
  assert.deepEqual(
    ev.map((e) => (e.t === 'line' ? [e.text, e.tooLong, e.bareLf] : e.t)),
    [
      ['01234567', true, false],
      ['OK', false, false],
    ],
  );
});

test('regression: a carried line one byte over the limit is too long; exactly the limit is not', () => {
  for (const [text, tooLong, kept] of [
    ['012345678', true, '01234567'],
    ['01234567', false, '01234567'],
  ] as const) {
    const { r, ev } = make(8);
    r.push(enc.encode(text.slice(0, 3)), 1, 1);
    r.push(enc.encode(`${text.slice(3)}\r\n`), 2, 2);
    assert.deepEqual(
      ev.map((e) => (e.t === 'line' ? [e.text, e.tooLong, e.bareLf] : e.t)),
      [[kept, tooLong, false]],
      text,
    );
  }
});

test('a gap in line mode drops the partial line and resynchronises at the next line', () => {
  const { r, ev } = make();
  r.push(enc.encode('MAIL FR'), 1, 1);
  r.gap(10, 2);
  r.push(enc.encode('tail of something\r\nRCPT TO:<a@b>\r\n'), 3, 3);
  assert.deepEqual(
    ev.map((e) => (e.t === 'line' ? e.text : e.t === 'gap' ? `gap ${e.size} ${e.mode}` : e.t)),
    ['gap 10 line', 'RCPT TO:<a@b>'],
  );
});

test('count mode: a gap inside the run counts as missing; the run still ends on its size', () => {
  const { r, ev } = make(64, (t, rd) => t === 'BDAT 10' && rd.readCount(10));
  r.push(enc.encode('BDAT 10\r\nabc'), 1, 1);
  r.gap(4, 2);
  assert.equal(r.countRemaining, 3);
  r.push(enc.encode('xyzNOOP\r\n'), 3, 3);
  assert.deepEqual(merged(ev).slice(1), [
    { t: 'counted', text: 'abc' },
    { t: 'gap', size: 4, mode: 'count' },
    { t: 'counted', text: 'xyz' },
    { t: 'countedEnd', missing: 4 },
    { t: 'line', text: 'NOOP', frames: [3], ts: 3, tooLong: false, bareLf: false },
  ]);
});

test('regression: a gap running past a counted run ends it and resynchronises the lines after it', () => {
  const { r, ev } = make(64, (t, rd) => t === 'BDAT 5' && rd.readCount(5));
  r.push(enc.encode('BDAT 5\r\nab'), 1, 1);
  r.gap(10, 2);
  assert.equal(r.currentMode, 'line');
  r.push(enc.encode('ERS\r\nQUIT\r\n'), 3, 3);
  assert.deepEqual(merged(ev).slice(1), [
    { t: 'counted', text: 'ab' },
    { t: 'gap', size: 10, mode: 'count' },
    { t: 'countedEnd', missing: 3 },
    { t: 'line', text: 'QUIT', frames: [3], ts: 3, tooLong: false, bareLf: false },
  ]);
});

test('a gap in a dot body keeps scanning for the terminator at the next line start', () => {
  const { r, ev } = make(64, (t, rd) => t === 'DATA' && rd.readDotBody());
  r.push(enc.encode('DATA\r\nab'), 1, 1);
  r.gap(5, 2);
  r.push(enc.encode('cd\r\n.\r\nQUIT\r\n'), 3, 3);
  assert.deepEqual(merged(ev).slice(1), [
    { t: 'body', text: 'ab' },
    { t: 'gap', size: 5, mode: 'dot' },
    { t: 'body', text: 'cd\r\n' },
    { t: 'bodyEnd', frames: [3] },
    { t: 'line', text: 'QUIT', frames: [3], ts: 3, tooLong: false, bareLf: false },
  ]);
});

test('dot body: the terminator split at every position gives the same body', () => {
  const data = 'DATA\r\nline1\r\n..stuffed\r\n.\r\nNOOP\r\n';
  let reference: Ev[] | undefined;
  for (let i = 0; i <= data.length; i++) {
    const { r, ev } = make(64, (t, rd) => t === 'DATA' && rd.readDotBody());
    r.push(enc.encode(data.slice(0, i)), 1, 1);
    r.push(enc.encode(data.slice(i)), 1, 1);
    const m = merged(ev);
    reference ??= m;
    assert.deepEqual(m, reference, `split at ${i}`);
  }
  assert.deepEqual(reference?.[1], { t: 'body', text: 'line1\r\n.stuffed\r\n' });
});

test('".\\r" followed by something else is content, not a terminator', () => {
  const { r, ev } = make(64, (t, rd) => t === 'DATA' && rd.readDotBody());
  r.push(enc.encode('DATA\r\n.\r'), 1, 1);
  r.push(enc.encode('x\r\n.\r\n'), 2, 2);
  assert.deepEqual(merged(ev).slice(1), [
    { t: 'body', text: '\rx\r\n' },
    { t: 'bodyEnd', frames: [2] },
  ]);
});

test('pause mid-chunk holds the rest; resume reads it in the mode set meanwhile, gaps in order', () => {
  const { r, ev } = make(64, (t, rd) => t === 'DATA' && rd.pause());
  r.push(enc.encode('DATA\r\nbody\r\n'), 1, 1);
  r.gap(3, 2);
  r.push(enc.encode('more\r\n.\r\nQUIT\r\n'), 3, 3);
  assert.equal(r.isPaused, true);
  assert.equal(r.heldBytes, 'body\r\n'.length + 'more\r\n.\r\nQUIT\r\n'.length);
  assert.equal(r.firstHeldByte, 'b'.charCodeAt(0));
  assert.equal(ev.length, 1);
  r.readDotBody();
  r.resume();
  assert.equal(r.isPaused, false);
  assert.equal(r.heldBytes, 0);
  assert.deepEqual(merged(ev).slice(1), [
    { t: 'body', text: 'body\r\n' },
    { t: 'gap', size: 3, mode: 'dot' },
    { t: 'body', text: 'more\r\n' },
    { t: 'bodyEnd', frames: [3] },
    { t: 'line', text: 'QUIT', frames: [3], ts: 3, tooLong: false, bareLf: false },
  ]);
});

test('a callback that pauses during resume keeps the rest held, in order', () => {
  const { r, ev } = make(64, (t, rd) => t.startsWith('P') && rd.pause());
  r.push(enc.encode('P1\r\nA\r\nP2\r\nB\r\n'), 1, 1);
  r.push(enc.encode('C\r\n'), 2, 2);
  r.resume();
  assert.equal(r.isPaused, true);
  r.resume();
  assert.deepEqual(
    ev.map((e) => (e.t === 'line' ? `${e.text}@${e.frames.join(',')}` : e.t)),
    ['P1@1', 'A@1', 'P2@1', 'B@1', 'C@2'],
  );
});

test('ignore drops the partial line, held bytes and everything after', () => {
  const { r, ev } = make(64, (t, rd) => t === 'STARTTLS' && rd.pause());
  r.push(enc.encode('STARTTLS\r\n\x16\x03\x01'), 1, 1);
  r.ignore();
  r.push(enc.encode('NOOP\r\n'), 2, 2);
  r.flush(3);
  assert.equal(r.heldBytes, 0);
  assert.deepEqual(
    ev.map((e) => (e.t === 'line' ? e.text : e.t)),
    ['STARTTLS'],
  );
});

test('flush delivers a last line without CRLF, capped at the limit', () => {
  const { r, ev } = make(4);
  r.push(enc.encode('QUIT'), 1, 1);
  r.flush(2);
  const { r: r2, ev: ev2 } = make(4);
  r2.push(enc.encode('QUITX'), 1, 1);
  r2.flush(2);
  assert.deepEqual(ev, [{ t: 'line', text: 'QUIT', frames: [1], ts: 2, tooLong: false, bareLf: false }]);
  assert.deepEqual(ev2, [{ t: 'line', text: 'QUIT', frames: [1], ts: 2, tooLong: true, bareLf: false }]);
});
