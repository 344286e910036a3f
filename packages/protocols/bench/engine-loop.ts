/**
 * The engine alone, for A/B comparisons on a busy machine: the capture is read into memory once,
 * then CaptureReader + Analyzer run over it `--runs` times (default 5) and the fastest run is
 * reported, with its CPU time. No summaries, no I/O, no checks (engine-bench.ts does those).
 *
 *   node --import tsx bench/engine-loop.ts [--size-mb 100] [--runs 5]
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Analyzer } from '@mailscope/protocols/analyzer';
import { CaptureReader } from '@mailscope/protocols/capture-reader';
import { POP3_PORTS, SMTP_PORTS, defaultOut, defaultParams } from './generate-capture.ts';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = argv.indexOf(name);
  return i < 0 ? dflt : Number(argv[i + 1]);
};
const file = defaultOut(defaultParams(opt('--size-mb', 100), undefined, undefined));
const runs = opt('--runs', 5);
const data = new Uint8Array(readFileSync(file));
const CHUNK = 1024 * 1024;
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

let best = Infinity;
let bestCpu = 0;
for (let r = 0; r < runs; r++) {
  let packets = 0;
  const reader = new CaptureReader();
  const analyzer = new Analyzer({ smtpPorts: [...SMTP_PORTS], pop3Ports: [...POP3_PORTS], sha256 }, (e) => {
    if (e.type === 'packet') packets++;
  });
  const cpu = process.cpuUsage();
  const t = process.hrtime.bigint();
  for (let o = 0; o < data.length; o += CHUNK) reader.push(data.subarray(o, Math.min(o + CHUNK, data.length)), (f) => analyzer.push(f));
  reader.end();
  analyzer.end();
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  const c = process.cpuUsage(cpu);
  const cpuS = (c.user + c.system) / 1e6;
  console.log(`run ${r + 1}: ${s.toFixed(3)} s wall, ${cpuS.toFixed(3)} s cpu, ${(data.length / 1e6 / s).toFixed(1)} MB/s, ${packets} packets`);
  if (s < best) {
    best = s;
    bestCpu = cpuS;
  }
}
console.log(`best: ${best.toFixed(3)} s, ${(data.length / 1e6 / best).toFixed(1)} MB/s (cpu ${bestCpu.toFixed(3)} s) on ${file}`);
