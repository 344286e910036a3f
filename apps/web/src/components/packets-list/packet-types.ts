export type { PacketRow } from '@/lib/api-types';

/** A packet's identity: frame numbers restart in every capture. */
export function packetKey(p: { readonly captureId: string; readonly frameNo: number }): string {
  return `${p.captureId}:${p.frameNo}`;
}

const FLAGS: readonly (readonly [bit: number, name: string, letter: string])[] = [
  [0x02, 'SYN', 'S'],
  [0x10, 'ACK', 'A'],
  [0x08, 'PSH', 'P'],
  [0x01, 'FIN', 'F'],
  [0x04, 'RST', 'R'],
  [0x20, 'URG', 'U'],
  [0x40, 'ECE', 'E'],
  [0x80, 'CWR', 'C'],
];

/** The flags set in `flags`, by name (`SYN, ACK`). */
export function flagNames(flags: number): string[] {
  return FLAGS.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name);
}

/** Compact letters of the flags set (`SA`, `AP`, `FA`, `R`). */
export function flagLetters(flags: number): string {
  return FLAGS.filter(([bit]) => (flags & bit) !== 0).map(([, , letter]) => letter).join('');
}
