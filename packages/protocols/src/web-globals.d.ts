// The engine runs on Node, in workers and in browsers; it uses only these WHATWG globals, which
// every one of them has. Declared here so that the package compiles without Node's or the DOM's types.
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
  readonly encoding: string;
  decode(input?: Uint8Array, options?: { stream?: boolean }): string;
}
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
