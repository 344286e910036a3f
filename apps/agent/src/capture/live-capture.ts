/**
 * Live capture through libpcap (the `cap` package). The only file of the agent that imports `cap`
 * (ARCHITECTURE.md), and only when a capture is opened or the interfaces are listed, so that the
 * rest of the CLI (analyze, import) works on a host without libpcap.
 *
 * What cap 0.2.1 gives and what it does not, and what this file does about it:
 * - Each frame is copied by cap into one Buffer it reuses for the next frame: every frame is
 *   copied out (`slice`) before it is handed on.
 * - cap does not pass libpcap's packet header on: no capture timestamp, no original length. A
 *   frame's `ts` is the time it reached JavaScript (µs, a monotonic clock anchored to the wall
 *   clock, never going backwards); on this machine that is 1-3 ms after the kernel saw it when
 *   idle. `origLen` is the captured length, or, for a frame cut by the snap length, the length
 *   its IP header announces.
 * - cap has no `pcap_stats`. `received` counts the frames delivered; `dropped` is read where
 *   pcap_stats reads it on Linux, the kernel's counters of the handle's packet socket
 *   (getsockopt PACKET_STATISTICS, native/packet-stats.c). The socket is the packet socket that
 *   appeared among this process's descriptors while cap opened the handle (/proc/self/fd against
 *   /proc/net/packet). Where that cannot be done (the addon not built, no /proc), `dropped` is
 *   null: unknown, never a made-up 0.
 * - cap has no `pcap_setfilter` for an open handle: `setFilter` opens a second handle with the new
 *   filter, keeps the first one delivering for a short overlap, then closes it and drops the
 *   frames both handles saw (same bytes) from the second one, so nothing falls between the two.
 *   The engine's state lives in JavaScript, so sessions in flight are not affected.
 * - cap's snap length is fixed at 65,535 bytes; a smaller `snaplen` is applied by the size of
 *   the copy buffer.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import type { Frame } from '@mailscope/protocols/types';

/** Why a capture could not be opened or changed; `message` is meant for the person running the agent. */
export type CaptureErrorCode = 'PERMISSION' | 'NO_DEVICE' | 'BAD_FILTER' | 'NO_LIBPCAP' | 'FAILED';

export class CaptureError extends Error {
  constructor(
    readonly code: CaptureErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CaptureError';
  }
}

/** Debian's package of the libpcap runtime cap links against. */
export const LIBPCAP_HINT = 'install libpcap (Debian: apt-get install libpcap0.8)';
export const PERMISSION_HINT =
  'capturing needs root or the CAP_NET_RAW capability: run the agent as root, or give node the ' +
  'capabilities with: setcap cap_net_raw,cap_net_admin=eip "$(readlink -f "$(command -v node)")"';

/**
 * Turns what cap / libpcap threw into a CaptureError naming the cause and the fix. Pure (tested
 * with the messages libpcap 1.10 produces).
 */
export function classifyCaptureError(err: unknown, context: { device?: string; filter?: string; phase: 'load' | 'open' | 'list' }): CaptureError {
  const text = err instanceof Error ? err.message : String(err);
  if (context.phase === 'load' || /libpcap\.so|cannot open shared object|file too short|invalid ELF/i.test(text)) {
    return new CaptureError('NO_LIBPCAP', `libpcap cannot be loaded (${firstLine(text)}): ${LIBPCAP_HINT}`);
  }
  if (/operation not permitted|permission|not permitted|EPERM|EACCES/i.test(text)) {
    return new CaptureError('PERMISSION', `no permission to capture${context.device === undefined ? '' : ` on '${context.device}'`} (${firstLine(text)}): ${PERMISSION_HINT}`);
  }
  if (/no such device|doesn't exist|does not exist/i.test(text)) {
    return new CaptureError('NO_DEVICE', `unknown interface '${context.device ?? ''}' (${firstLine(text)})`);
  }
  if (context.phase === 'open' && context.filter !== undefined && context.filter !== '') {
    // Activation errors were matched above; what remains comes from pcap_compile / pcap_setfilter.
    return new CaptureError('BAD_FILTER', `the capture filter '${context.filter}' does not compile: ${firstLine(text)}`);
  }
  return new CaptureError('FAILED', `capture${context.device === undefined ? '' : ` on '${context.device}'`} failed: ${firstLine(text)}`);
}

function firstLine(s: string): string {
  return s.split('\n')[0]?.trim() ?? s;
}

// ---- cap, loaded on first use -----------------------------------------------------------------

interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): void;
  on(event: 'packet', listener: (nbytes: number, truncated: boolean) => void): void;
  removeAllListeners(event?: string): void;
}
interface CapDevice {
  name: string;
  description?: string;
  addresses?: { addr?: string }[];
  flags?: string;
}
interface CapModule {
  Cap: { new (): CapHandle; deviceList(): CapDevice[] };
}

let capModule: CapModule | undefined;

/** Loads cap (and through it libpcap); a missing libpcap becomes a NO_LIBPCAP CaptureError. */
function loadCap(): CapModule {
  if (capModule !== undefined) return capModule;
  try {
    capModule = createRequire(import.meta.url)('cap') as CapModule;
  } catch (err) {
    throw classifyCaptureError(err, { phase: 'load' });
  }
  return capModule;
}

/** An interface as the agent reports it in `hello`. */
export interface CaptureInterface {
  readonly name: string;
  readonly description?: string;
  readonly addresses: string[];
}

/** The host's capture interfaces, from libpcap's `pcap_findalldevs`. */
export function listInterfaces(): CaptureInterface[] {
  const cap = loadCap();
  let devices: CapDevice[];
  try {
    devices = cap.Cap.deviceList();
  } catch (err) {
    throw classifyCaptureError(err, { phase: 'list' });
  }
  return devices.map((d) => ({
    name: d.name,
    ...(d.description !== undefined && d.description !== '' ? { description: d.description } : {}),
    addresses: (d.addresses ?? []).map((a) => a.addr).filter((a): a is string => typeof a === 'string'),
  }));
}

/** cap reports the link type by name for the common ones, else as `Unknown linktype N` (N a DLT). */
function linkTypeNumber(name: string): number {
  switch (name) {
    case 'NULL':
      return 0;
    case 'ETHERNET':
      return 1;
    case 'RAW':
      return 101;
    case 'LINKTYPE_LINUX_SLL':
      return 113;
    case 'IEEE802_11_RADIO':
      return 127;
    default: {
      const m = /([0-9]+)\s*$/.exec(name);
      return m === null ? -1 : Number(m[1]);
    }
  }
}

export interface LiveCaptureOptions {
  readonly device: string;
  /** BPF expression ('' = everything). */
  readonly filter: string;
  /** libpcap's kernel buffer in bytes (default DEFAULT_BUFFER_BYTES). */
  readonly bufferBytes?: number;
  /** Bytes kept of each frame, at most 65,535 (cap's fixed snap length); default 65,535. */
  readonly snaplen?: number;
  /** Every frame, numbered from 1, its bytes owned by the receiver. */
  readonly onFrame: (frame: Frame) => void;
}

export interface LiveCaptureStats {
  /** Frames libpcap delivered since open (a frame both handles saw during setFilter counts once). */
  readonly received: number;
  /**
   * Frames the kernel dropped because the capture ring was full (the process did not read them
   * in time) since open; null: unknown (see the file's comment).
   */
  readonly dropped: number | null;
}

/**
 * 128 MiB. cap turns libpcap's immediate mode on, and on Linux that means a TPACKET_V2 ring of
 * fixed-size slots, each as large as the snap length (65,535) wherever the interface has TSO,
 * GSO or GRO on, and on `lo` (MTU 65,536): the 32 MiB this was until Nov 2026 held ~500 frames,
 * 35 ms of a 15,000 packets/s capture, and bench:live lost frames (TCP gaps) at that rate whenever
 * the process paused. 128 MiB holds ~2,000 frames; `--buffer` sets more.
 */
export const DEFAULT_BUFFER_BYTES = 128 * 1024 * 1024;
const CAP_SNAPLEN = 65535;
/**
 * How long the old handle keeps delivering after the new one was opened (setFilter). libpcap
 * delivers a frame to JavaScript 1-3 ms after the kernel saw it on an idle host, tens of ms under
 * load; 150 ms covers that with room, and is short enough for the frames seen twice to stay few.
 */
const SWITCH_OVERLAP_MS = 150;

interface OpenHandle {
  readonly cap: CapHandle;
  readonly buffer: Buffer;
  readonly linkType: number;
  /** The handle's packet socket, whose kernel counters give the drops; undefined: not found. */
  readonly socketFd: number | undefined;
}

/** µs since the epoch from a monotonic clock, never going backwards. */
let lastTs = 0;
function nowMicros(): number {
  const ts = Math.round((performance.timeOrigin + performance.now()) * 1000);
  lastTs = ts > lastTs ? ts : lastTs;
  return lastTs;
}

/** A running capture on one interface. Open with `LiveCapture.open`; `close` when done. */
export class LiveCapture {
  private frameNo = 0;
  private received = 0;
  /** Kernel drops read so far (the kernel resets its counters on each read); null: unknown. */
  private dropped: number | null = 0;
  private closed = false;
  private handle: OpenHandle;
  private filterText: string;
  private switching: Promise<void> | undefined;

  private constructor(private readonly options: LiveCaptureOptions) {
    this.filterText = options.filter;
    this.handle = this.openHandle(options.filter, (frame) => this.deliver(frame));
  }

  /**
   * Opens `device` with `filter`. Throws a CaptureError: NO_LIBPCAP, PERMISSION, NO_DEVICE
   * (checked against the interface list first, so libpcap prints no warning), BAD_FILTER (the
   * message names the expression), FAILED.
   */
  static open(options: LiveCaptureOptions): LiveCapture {
    const names = listInterfaces().map((i) => i.name);
    if (!names.includes(options.device)) {
      throw new CaptureError('NO_DEVICE', `unknown interface '${options.device}' (this host has: ${names.join(', ') || 'none visible'})`);
    }
    return new LiveCapture(options);
  }

  /** LINKTYPE_* of the interface (1 = Ethernet, which `lo` is on Linux). */
  get linkType(): number {
    return this.handle.linkType;
  }

  get filter(): string {
    return this.filterText;
  }

  stats(): LiveCaptureStats {
    if (!this.closed) this.readDrops(this.handle);
    return { received: this.received, dropped: this.dropped };
  }

  /** Adds what the kernel counted for `h` since the last read. */
  private readDrops(h: OpenHandle): void {
    if (this.dropped === null) return;
    const read = h.socketFd === undefined ? null : readPacketStats(h.socketFd);
    if (read === null) this.dropped = null;
    else this.dropped += read.drops;
  }

  /**
   * Changes the filter of the running capture without losing frames (see the file's comment for
   * how). Rejects with BAD_FILTER, leaving the capture as it was, when the new filter does not
   * compile. Calls are serialised.
   */
  async setFilter(filter: string): Promise<void> {
    while (this.switching !== undefined) await this.switching;
    if (this.closed || filter === this.filterText) return;
    this.switching = this.switchTo(filter).finally(() => {
      this.switching = undefined;
    });
    return this.switching;
  }

  private async switchTo(filter: string): Promise<void> {
    const old = this.handle;
    // Frames of the old handle delivered after the new one opened, which the new one may also hold.
    const seenByOld = new Map<string, number>();
    const held: Frame[] = [];
    let overlapping = true;
    const next = this.openHandle(filter, (frame) => {
      if (overlapping) held.push(frame);
      else this.deliver(frame);
    });
    old.cap.removeAllListeners('packet');
    old.cap.on('packet', (nbytes, truncated) => {
      const frame = this.copyFrame(old, nbytes, truncated);
      const key = Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength).toString('latin1');
      seenByOld.set(key, (seenByOld.get(key) ?? 0) + 1);
      this.deliver(frame);
    });
    this.handle = next;
    this.filterText = filter;
    await new Promise((done) => setTimeout(done, SWITCH_OVERLAP_MS));
    old.cap.removeAllListeners('packet');
    this.readDrops(old);
    retire(old.cap);
    overlapping = false;
    for (const frame of held) {
      const key = Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength).toString('latin1');
      const n = seenByOld.get(key);
      if (n !== undefined) {
        if (n === 1) seenByOld.delete(key);
        else seenByOld.set(key, n - 1);
        continue;
      }
      this.deliver(frame);
    }
  }

  /** Stops capturing; frames libpcap had not delivered yet are discarded. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.readDrops(this.handle);
    this.closed = true;
    this.handle.cap.removeAllListeners('packet');
    retire(this.handle.cap);
  }

  private openHandle(filter: string, sink: (frame: Frame) => void): OpenHandle {
    const snaplen = Math.min(Math.max(this.options.snaplen ?? CAP_SNAPLEN, 64), CAP_SNAPLEN);
    // A filter is tried on a small handle first: a failed open cannot be closed (see `openCap`),
    // and a small handle is all that stays behind when the filter does not compile.
    if (filter !== '') retire(openCap(this.options.device, filter, PROBE_BUFFER_BYTES, Buffer.alloc(64)).handle);
    const buffer = Buffer.alloc(snaplen);
    const before = packetSockets();
    const { handle, linkName } = openCap(this.options.device, filter, this.options.bufferBytes ?? DEFAULT_BUFFER_BYTES, buffer);
    const open: OpenHandle = { cap: handle, buffer, linkType: linkTypeNumber(linkName), socketFd: newPacketSocket(before, packetSockets()) };
    // Counted from here: what the kernel counted before the handle was ours to read is not a drop.
    if (open.socketFd !== undefined) readPacketStats(open.socketFd);
    handle.on('packet', (nbytes, truncated) => sink(this.copyFrame(open, nbytes, truncated)));
    return open;
  }

  /** Copies a frame out of cap's reused buffer; numbered later, by `deliver`. */
  private copyFrame(h: OpenHandle, nbytes: number, truncated: boolean): Frame {
    const data = new Uint8Array(h.buffer.subarray(0, nbytes));
    return { no: 0, ts: nowMicros(), linkType: h.linkType, data, origLen: truncated ? wireLength(h.linkType, data) : nbytes };
  }

  private deliver(frame: Frame): void {
    if (this.closed) return;
    this.received++;
    this.options.onFrame({ ...frame, no: ++this.frameNo });
  }
}

/** Kernel buffer of the handle that checks a filter before the real one opens. */
const PROBE_BUFFER_BYTES = 256 * 1024;

/**
 * cap 0.2.1 crashes the process (`Nan::ObjectWrap::Unref` assertion) when a handle whose open
 * failed after `pcap_create` (no permission, filter that does not compile) is closed or garbage
 * collected: it unrefs what it never ref'd. Such handles are kept here, never closed.
 */
const failedHandles: CapHandle[] = [];

/**
 * cap 0.2.1 on Node 20 also crashes the process (SIGSEGV in `node::AsyncWrap::EmitDestroy`, called
 * from `Pcap::~Pcap` inside a garbage collection) when a closed handle is collected - seen as soon
 * as the agent shares its process with a busy heap (the end-to-end test with the API in it). So a
 * closed handle stays referenced here: `close` frees libpcap's buffers, what stays is the small JS
 * wrapper, one per capture start, filter change or filter probe.
 */
const closedHandles: CapHandle[] = [];

function retire(handle: CapHandle): void {
  closedHandles.push(handle);
  handle.close();
}

function openCap(device: string, filter: string, bufferBytes: number, buffer: Buffer): { handle: CapHandle; linkName: string } {
  const cap = loadCap();
  const handle = new cap.Cap();
  try {
    return { handle, linkName: handle.open(device, filter, bufferBytes, buffer) };
  } catch (err) {
    failedHandles.push(handle);
    throw classifyCaptureError(err, { device, filter, phase: 'open' });
  }
}

/** `fd:inode` of this process's packet sockets; null where /proc cannot tell. */
function packetSockets(): Set<string> | null {
  try {
    const inodes = new Set(readFileSync('/proc/net/packet', 'utf8').split('\n').slice(1).map((line) => line.trim().split(/\s+/)[8]).filter((i) => i !== undefined && i !== ''));
    const out = new Set<string>();
    for (const fd of readdirSync('/proc/self/fd')) {
      let target: string;
      try {
        target = readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        continue; // closed meanwhile (readdir's own descriptor)
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m !== null && inodes.has(m[1]!)) out.add(`${fd}:${m[1]}`);
    }
    return out;
  } catch {
    return null;
  }
}

/** The one packet socket that is in `after` and not in `before`; undefined when there is not exactly one. */
function newPacketSocket(before: Set<string> | null, after: Set<string> | null): number | undefined {
  if (before === null || after === null) return undefined;
  const added = [...after].filter((s) => !before.has(s));
  return added.length === 1 ? Number(added[0]!.split(':')[0]) : undefined;
}

type PacketStatsFn = (fd: number) => { packets: number; drops: number };
let packetStatsFn: PacketStatsFn | null | undefined;

/** The kernel's counters of packet socket `fd` since the last read (reading resets them); null: unreadable. */
function readPacketStats(fd: number): { packets: number; drops: number } | null {
  if (packetStatsFn === undefined) {
    try {
      packetStatsFn = (createRequire(import.meta.url)('../../build/Release/packet_stats.node') as { packetStats: PacketStatsFn }).packetStats;
    } catch {
      packetStatsFn = null; // not built (no compiler where the agent was installed): drops unknown
    }
  }
  if (packetStatsFn === null) return null;
  try {
    return packetStatsFn(fd);
  } catch {
    return null;
  }
}

/** A cut frame's length on the wire, from its IP header (Ethernet only); the captured length otherwise. */
function wireLength(linkType: number, data: Uint8Array): number {
  if (linkType !== 1 || data.length < 14 + 20) return data.length;
  const etherType = (data[12]! << 8) | data[13]!;
  if (etherType === 0x0800) return 14 + ((data[16]! << 8) | data[17]!);
  if (etherType === 0x86dd) return 14 + 40 + ((data[18]! << 8) | data[19]!);
  return data.length;
}
