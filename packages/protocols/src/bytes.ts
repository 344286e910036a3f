/**
 * A real copy of `bytes[start, end)`. `Uint8Array.prototype.slice` is not enough: a Node `Buffer`
 * is a Uint8Array whose `slice` returns a view, and live capture and file reading hand frames over
 * in one reused Buffer. Every place that keeps bytes past the call that gave them uses this.
 */
export function copyBytes(bytes: Uint8Array, start = 0, end = bytes.length): Uint8Array {
  const out = new Uint8Array(end - start);
  out.set(bytes.subarray(start, end));
  return out;
}
