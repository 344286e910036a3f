/**
 * Where the third-party capture corpus lives (`/work/shared/corpus`, i.e. `../shared/corpus` from
 * the project root; see its README). The corpus is read-only: nothing here writes to it.
 */
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';

const PROJECT_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../..');

export const CORPUS_DIR = resolve(PROJECT_ROOT, '../shared/corpus');
export const PCAP_DIR = join(CORPUS_DIR, 'pcaps');
export const EXPECTED_DIR = join(CORPUS_DIR, 'expected');

/** Every capture of the corpus, sorted. Throws (a failure, never a skip) when the corpus is missing. */
export function listCaptures(): string[] {
  if (!existsSync(PCAP_DIR)) {
    throw new Error(`mail capture corpus not found at ${CORPUS_DIR} (expected pcaps/ and expected/ there; see ARCHITECTURE.md)`);
  }
  return readdirSync(PCAP_DIR)
    .filter((f) => /\.(pcap|pcapng)$/.test(f))
    .sort();
}
