/**
 * When the web UI must be built again. `next build` bakes the API's address (MAILSCOPE_API_URL)
 * into its rewrites, so a build is good for one API address and one state of the sources: both
 * are recorded beside the build (`<dist>/mailscope-build.json`) and compared at each start.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export const STAMP_FILE = 'mailscope-build.json';

export interface WebBuildStamp {
  readonly apiUrl: string;
  /** sha256 over the web UI's sources, packages/shared and the lockfile. */
  readonly sources: string;
}

/** Folders and files that do not change what `next build` makes. */
function skipped(name: string, isDir: boolean): boolean {
  if (isDir) return name === 'node_modules' || name === 'test' || name === 'test-results' || name === 'playwright-report' || name.startsWith('.next') || name === '.turbo';
  return name.endsWith('.tsbuildinfo') || name === 'next-env.d.ts';
}

function walk(dir: string, out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (skipped(entry.name, entry.isDirectory())) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, out);
    else if (entry.isFile()) out.push(path);
  }
}

/** Hash of everything a web build is made from, relative to `root` (the repository). */
export function webSourceHash(root: string): string {
  const files: string[] = [];
  walk(join(root, 'apps', 'web'), files);
  walk(join(root, 'packages', 'shared'), files);
  const lock = join(root, 'package-lock.json');
  if (existsSync(lock)) files.push(lock);
  files.sort();
  const hash = createHash('sha256');
  for (const f of files) {
    hash.update(relative(root, f)).update('\0').update(readFileSync(f)).update('\0');
  }
  return hash.digest('hex');
}

/** Why the build in `distDir` (absolute) cannot serve `wanted`, or null when it can. */
export function rebuildReason(distDir: string, wanted: WebBuildStamp): string | null {
  if (!existsSync(join(distDir, 'BUILD_ID'))) return 'the web UI is not built yet';
  let stamp: Partial<WebBuildStamp>;
  try {
    stamp = JSON.parse(readFileSync(join(distDir, STAMP_FILE), 'utf8')) as Partial<WebBuildStamp>;
  } catch {
    return 'the web UI was built by something other than npm start';
  }
  if (stamp.apiUrl !== wanted.apiUrl) return `the web UI was built for the API at ${stamp.apiUrl ?? '?'}, not ${wanted.apiUrl}`;
  if (stamp.sources !== wanted.sources) return 'the web UI\'s sources changed since it was built';
  return null;
}

export function writeStamp(distDir: string, stamp: WebBuildStamp): void {
  writeFileSync(join(distDir, STAMP_FILE), `${JSON.stringify(stamp, null, 2)}\n`);
}
