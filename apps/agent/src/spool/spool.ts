/**
 * The agent's outgoing queue: every batch is written here before it is sent (write-ahead) and
 * removed once the API acknowledged it. So a batch survives the API being away, the agent being
 * stopped, and the agent crashing: whatever is in the folder at start was not acknowledged and is
 * sent again, oldest first. The API's ingest is idempotent by natural keys, so a batch that was
 * stored but whose ack was lost does no harm when it arrives again.
 *
 * Layout: one file per batch, `<position>.<records>.batch` (position: 12 digits, increasing across
 * restarts, so name order is send order; records: the batch's record count, for the queue depth
 * without reading the file). A file is written under a `.tmp` name and renamed, so a crash never
 * leaves half a batch under a name that is read back; an acknowledged batch is renamed
 * `.sent` and deleted in the background. Files are not fsync'd: a process crash
 * keeps the page cache; an OS crash may lose the last batches.
 *
 * Bound: `maxBytes`. When a new batch would pass it the batch is refused (`append` returns false)
 * and the caller counts its records as dropped. Refusing the newest rather than evicting the
 * oldest keeps what was spooled a complete, ordered prefix of the capture: sessions are whole up
 * to the point where the spool filled, rather than missing their beginnings.
 *
 * Capture ids: `captures` in the folder lists (one a line) every capture id a batch was ever
 * spooled for, written before the batch. A new agent process numbers frames and sessions from 1,
 * and the API keeps the first record of a (capture, number), so it must never capture again under
 * one of them: `usedBefore` holds them (and the ids of the batches left, for a folder older than
 * the list).
 */
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, unlink, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BatchPayload, WireBatchPayload } from '@mailscope/shared/agent-protocol';
import { UUID_PATTERN, batchRecords, captureIdOfHead, decodeWire, encodeBatch } from './batch-codec.ts';

/** 1 GiB: several minutes of a busy mail relay's traffic, raw frames included. */
export const DEFAULT_SPOOL_MAX_BYTES = 1024 * 1024 * 1024;

export interface SpoolEntry {
  readonly position: number;
  readonly file: string;
  readonly bytes: number;
  readonly records: number;
}

const NAME = /^([0-9]{12})\.([0-9]+)\.batch$/;
const CAPTURES_FILE = 'captures';
const UUID = new RegExp(`^${UUID_PATTERN}$`);

export class Spool {
  private readonly entries: SpoolEntry[] = [];
  private nextPosition = 1;
  private totalBytes = 0;
  private totalRecords = 0;
  private readonly captureIds = new Set<string>();
  /** Capture ids batches were spooled for by earlier processes on this folder (read at open). */
  readonly usedBefore: ReadonlySet<string>;

  /** Opens (creating it if needed) the spool folder and lists the batches left in it, oldest first. */
  constructor(
    readonly dir: string,
    readonly maxBytes: number = DEFAULT_SPOOL_MAX_BYTES,
  ) {
    mkdirSync(dir, { recursive: true });
    const found: SpoolEntry[] = [];
    for (const name of readdirSync(dir)) {
      if (name.endsWith('.tmp') || name.endsWith('.sent')) {
        rmSync(join(dir, name), { force: true });
        continue;
      }
      const m = NAME.exec(name);
      if (m === null) continue;
      const file = join(dir, name);
      found.push({ position: Number(m[1]), file, bytes: statSync(file).size, records: Number(m[2]) });
    }
    found.sort((a, b) => a.position - b.position);
    for (const e of found) this.push(e);
    this.nextPosition = (found[found.length - 1]?.position ?? 0) + 1;
    const listed = join(dir, CAPTURES_FILE);
    if (existsSync(listed)) {
      for (const line of readFileSync(listed, 'utf8').split('\n')) if (UUID.test(line.trim())) this.captureIds.add(line.trim().toLowerCase());
    }
    for (const e of found) {
      const id = captureIdOf(e.file);
      if (id !== undefined && !this.captureIds.has(id)) this.noteCapture(id);
    }
    this.usedBefore = new Set(this.captureIds);
  }

  /** Whether a batch of `captureId` was ever spooled here (by this process or an earlier one). */
  hasSpooled(captureId: string): boolean {
    return this.captureIds.has(captureId.toLowerCase());
  }

  /** Batches waiting. */
  get length(): number {
    return this.entries.length;
  }
  get bytes(): number {
    return this.totalBytes;
  }
  /** Records in the waiting batches. */
  get records(): number {
    return this.totalRecords;
  }

  /** Writes a batch at the end of the queue; false (nothing written) when it would pass `maxBytes`. */
  append(batch: BatchPayload): boolean {
    const data = encodeBatch(batch);
    if (this.totalBytes + data.byteLength > this.maxBytes) return false;
    if (!this.captureIds.has(batch.captureId.toLowerCase())) this.noteCapture(batch.captureId.toLowerCase());
    const position = this.nextPosition++;
    const records = batchRecords(batch);
    const file = join(this.dir, `${String(position).padStart(12, '0')}.${records}.batch`);
    writeFileSync(`${file}.tmp`, data);
    renameSync(`${file}.tmp`, file);
    this.push({ position, file, bytes: data.byteLength, records });
    return true;
  }

  /** The oldest batch waiting, or undefined. */
  peek(): SpoolEntry | undefined {
    return this.entries[0];
  }

  /** Every batch waiting, oldest first. */
  list(): readonly SpoolEntry[] {
    return this.entries;
  }

  /** Reads a batch back in its wire form, to send; throws when its file is unreadable or not a batch (see `discard`). */
  read(entry: SpoolEntry): WireBatchPayload {
    return decodeWire(readFileSync(entry.file));
  }

  /** Removes an acknowledged batch (or one that cannot be sent: `discard`). */
  remove(entry: SpoolEntry): void {
    const i = this.entries.indexOf(entry);
    if (i < 0) return;
    this.entries.splice(i, 1);
    this.totalBytes -= entry.bytes;
    this.totalRecords -= entry.records;
    // Renamed out of the queue now (a rename is cheap), deleted off the event loop: deleting a file
    // of a few MB took ~5 ms, which a busy capture felt. A `.sent` file left by a stop is deleted at
    // the next start.
    const sent = `${entry.file}.sent`;
    try {
      renameSync(entry.file, sent);
    } catch {
      return;
    }
    unlink(sent, () => undefined);
  }

  /**
   * Moves a batch the API refused (or that cannot be read) out of the queue into `rejected/`, so
   * that one bad batch does not block every later one, and kept for a person to look at.
   */
  discard(entry: SpoolEntry): string {
    const i = this.entries.indexOf(entry);
    if (i >= 0) {
      this.entries.splice(i, 1);
      this.totalBytes -= entry.bytes;
      this.totalRecords -= entry.records;
    }
    const rejected = join(this.dir, 'rejected');
    mkdirSync(rejected, { recursive: true });
    const target = join(rejected, entry.file.slice(this.dir.length + 1));
    renameSync(entry.file, target);
    return target;
  }

  private noteCapture(id: string): void {
    appendFileSync(join(this.dir, CAPTURES_FILE), `${id}\n`);
    this.captureIds.add(id);
  }

  private push(e: SpoolEntry): void {
    this.entries.push(e);
    this.totalBytes += e.bytes;
    this.totalRecords += e.records;
  }
}

/** The capture id of a spooled batch, from the start of its JSON (undefined: not a readable batch). */
function captureIdOf(file: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const head = Buffer.alloc(512);
    const n = readSync(fd, head, 0, head.byteLength, 0);
    const id = captureIdOfHead(head.subarray(0, n));
    if (id !== undefined) return id;
    // Not first in the JSON (a batch written by another encoder): read it whole.
    return decodeWire(readFileSync(file)).captureId.toLowerCase();
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
