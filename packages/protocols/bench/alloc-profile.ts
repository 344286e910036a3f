/**
 * Where the engine allocates: runs engine-bench.ts under V8's sampling heap profiler, counting
 * objects the GC has already collected too (what drives scavenges), and prints allocated bytes
 * per function, heaviest first.
 *
 *   node --import tsx bench/alloc-profile.ts [--top N] -- [engine-bench arguments]
 */
import { Session } from 'node:inspector/promises';

interface SamplingNode {
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly selfSize: number;
  readonly children: readonly SamplingNode[];
}

const argv = process.argv.slice(2);
const sep = argv.indexOf('--');
const own = sep < 0 ? argv : argv.slice(0, sep);
const benchArgs = sep < 0 ? [] : argv.slice(sep + 1);
const top = own[0] === '--top' ? Number(own[1]) : 40;

const session = new Session();
session.connect();
await session.post('HeapProfiler.startSampling', {
  samplingInterval: 16384,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
process.argv = [process.argv[0]!, 'engine-bench.ts', ...benchArgs];
await import('./engine-bench.ts');
const { profile } = (await session.post('HeapProfiler.stopSampling')) as { profile: { head: SamplingNode } };
const self = new Map<string, number>();
let total = 0;
const walk = (n: SamplingNode): void => {
  const f = n.callFrame;
  const where = f.url === '' ? '' : ` ${f.url.replace(/^.*\/(packages|node_modules)\//, '$1/')}:${f.lineNumber + 1}`;
  const key = `${f.functionName || '(anonymous)'}${where}`;
  self.set(key, (self.get(key) ?? 0) + n.selfSize);
  total += n.selfSize;
  for (const c of n.children) walk(c);
};
walk(profile.head);
console.log(`\nallocated (sampled) ${(total / 1e6).toFixed(0)} MB`);
for (const [key, bytes] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${((100 * bytes) / total).toFixed(1).padStart(5)} %  ${(bytes / 1e6).toFixed(1).padStart(8)} MB  ${key}`);
}
