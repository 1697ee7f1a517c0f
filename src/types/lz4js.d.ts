// lz4js ships no types: the one function used (Arrow IPC bodies in LZ4 frames, src/data/columnar.ts).
declare module "lz4js" {
  /** Decompresses an LZ4 frame. */
  export function decompress(src: Uint8Array, maxSize?: number): Uint8Array;
  const lz4: { decompress: typeof decompress };
  export default lz4;
}
