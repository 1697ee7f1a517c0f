import { createHash } from "node:crypto";
import { InputError } from "../errors.js";

/** Tensor element types this project stores (`training.dtype` float32 / float64). */
export type StDType = "F32" | "F64";

export interface StTensor {
  readonly dtype: StDType;
  readonly shape: readonly number[];
  readonly data: Float32Array | Float64Array;
}

export interface Safetensors {
  readonly metadata: Readonly<Record<string, string>>;
  readonly tensors: ReadonlyMap<string, StTensor>;
  /** The header's tensor table as read: name, dtype, shape and data_offsets of each tensor. */
  readonly table: readonly TableEntry[];
}

/** One tensor's description in a header. */
export interface TableEntry { readonly name: string; readonly dtype: StDType; readonly shape: readonly number[]; readonly begin: number; readonly end: number }

const ITEM: Record<StDType, number> = { F32: 4, F64: 8 };
const KNOWN = new Set(["BOOL", "U8", "I8", "U16", "I16", "U32", "I32", "U64", "I64", "F16", "BF16", "F32", "F64", "F8_E4M3", "F8_E5M2"]);
/** A header larger than this is refused before it is read (real ones are a few KB). */
const MAX_HEADER = 100 * 1024 * 1024;

/** The checksum of a data section as stored under `__metadata__`: "sha256:<hex>". */
export function dataChecksum(data: Uint8Array): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/**
 * The checksum of a header's meaning, "sha256:<hex>": its metadata values (all but `exclude`,
 * the key it is stored under) and its tensor table, each sorted by name — not its bytes, so
 * white space and key order do not count.
 */
export function headerChecksum(metadata: Readonly<Record<string, string>>, table: readonly TableEntry[], exclude: string): string {
  const meta = Object.keys(metadata).filter((k) => k !== exclude).sort().map((k) => [k, metadata[k]]);
  const tensors = [...table].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((t) => [t.name, t.dtype, t.shape, [t.begin, t.end]]);
  return `sha256:${createHash("sha256").update(JSON.stringify({ metadata: meta, tensors })).digest("hex")}`;
}

/** The raw tensor bytes of a safetensors buffer (after its header); call after decoding it. */
export function dataSection(buf: Buffer): Buffer {
  return buf.subarray(8 + Number(buf.readBigUInt64LE(0)));
}

/**
 * Encodes tensors as safetensors: 8-byte little-endian header length, a JSON header
 * (padded with spaces to a multiple of 8), then the raw little-endian tensor bytes back to back.
 * With `checksumKey`, the metadata also holds dataChecksum() of those bytes under that key, and
 * headerChecksum() of the rest of the header under `header_<checksumKey>`.
 */
export function encodeSafetensors(tensors: readonly (readonly [string, StTensor])[],
  metadata: Readonly<Record<string, string>>, checksumKey?: string): Buffer {
  const entries: Record<string, unknown> = {}, table: TableEntry[] = [];
  let off = 0;
  for (const [name, t] of tensors) {
    const bytes = t.data.length * ITEM[t.dtype];
    entries[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + bytes] };
    table.push({ name, dtype: t.dtype, shape: t.shape, begin: off, end: off + bytes });
    off += bytes;
  }
  const data = Buffer.alloc(off);
  let p = 0;
  for (const [, t] of tensors) {
    for (let i = 0; i < t.data.length; i++) {
      if (t.dtype === "F32") { data.writeFloatLE(t.data[i], p); p += 4; } else { data.writeDoubleLE(t.data[i], p); p += 8; }
    }
  }
  let meta = metadata;
  if (checksumKey) {
    const withData = { ...metadata, [checksumKey]: dataChecksum(data) }, key = `header_${checksumKey}`;
    meta = { ...withData, [key]: headerChecksum(withData, table, key) };
  }
  let json = JSON.stringify({ __metadata__: meta, ...entries });
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)), 0);
  return Buffer.concat([head, Buffer.from(json, "utf8"), data]);
}

/** A tensor's description from the header, checked, before any of its data is read. */
interface Entry { readonly name: string; readonly dtype: StDType; readonly shape: number[]; readonly begin: number; readonly end: number; readonly n: number }

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Decodes and validates a safetensors buffer. Every description is checked first — dtype,
 * shape, data_offsets inside the data actually present, no two tensors overlapping — and
 * only then is anything allocated, so the memory used is bounded by the buffer's real size
 * whatever the header claims (many tensors claiming the same bytes are refused, not copied).
 */
export function decodeSafetensors(buf: Buffer, file: string): Safetensors {
  const bad = (why: string): InputError => new InputError(`${file}: not a valid safetensors checkpoint: ${why}`);
  if (buf.length < 8) throw bad(`${buf.length} bytes is too short`);
  const hlenBig = buf.readBigUInt64LE(0);
  if (hlenBig > BigInt(buf.length - 8)) throw bad(`header length ${hlenBig} exceeds the file's ${buf.length} bytes`);
  const hlen = Number(hlenBig);
  if (hlen > MAX_HEADER) throw bad(`header length ${hlen} is over ${MAX_HEADER}`);
  let header: unknown;
  try {
    header = JSON.parse(buf.toString("utf8", 8, 8 + hlen));
  } catch {
    throw bad("the header is not JSON");
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) throw bad("the header is not a JSON object");
  const dataStart = 8 + hlen, dataSize = buf.length - dataStart;
  const metadata: Record<string, string> = Object.create(null) as Record<string, string>;
  const entries: Entry[] = [];
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof v !== "object" || v === null || Array.isArray(v)) throw bad("__metadata__ is not an object");
      for (const [k, s] of Object.entries(v)) {
        if (typeof s !== "string") throw bad(`__metadata__.${k} is not a string`);
        metadata[k] = s;
      }
      continue;
    }
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw bad(`tensor ${name} has no description`);
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e.dtype !== "string" || !KNOWN.has(e.dtype)) throw bad(`tensor ${name} has unknown dtype ${JSON.stringify(e.dtype ?? null)}`);
    if (e.dtype !== "F32" && e.dtype !== "F64") {
      throw new InputError(`${file}: tensor ${name} is ${e.dtype}; rnn reads F32 and F64 checkpoints`);
    }
    const dtype: StDType = e.dtype;
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad(`tensor ${name} has a bad shape`);
    const shape = e.shape as number[];
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0) || off[0] > off[1]) {
      throw bad(`tensor ${name} has bad data_offsets`);
    }
    const [begin, end] = off as [number, number];
    if (end > dataSize) throw bad(`tensor ${name} ends at byte ${end}, past the ${dataSize} bytes of data`);
    const n = shape.reduce((a, d) => a * d, 1);
    if (n * ITEM[dtype] !== end - begin) throw bad(`tensor ${name}: shape [${shape.join(", ")}] needs ${n * ITEM[dtype]} bytes, data_offsets give ${end - begin}`);
    entries.push({ name, dtype, shape, begin, end, n });
  }
  const spans = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i].begin < spans[i - 1].end) throw bad(`tensors ${spans[i - 1].name} and ${spans[i].name} overlap`);
  }
  const tensors = new Map<string, StTensor>();
  for (const { name, dtype, shape, begin, n } of entries) {
    const data = dtype === "F32" ? new Float32Array(n) : new Float64Array(n);
    const p0 = dataStart + begin;
    if (LITTLE_ENDIAN) {
      new Uint8Array(data.buffer).set(buf.subarray(p0, p0 + n * ITEM[dtype]));
    } else {
      for (let i = 0; i < n; i++) data[i] = dtype === "F32" ? buf.readFloatLE(p0 + 4 * i) : buf.readDoubleLE(p0 + 8 * i);
    }
    tensors.set(name, { dtype, shape, data });
  }
  return { metadata, tensors, table: entries.map(({ name, dtype, shape, begin, end }) => ({ name, dtype, shape, begin, end })) };
}
