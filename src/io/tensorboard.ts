import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { hostname } from "node:os";
import path from "node:path";
import type { Type } from "protobufjs";
import { appendWhole, removeFile, writeFileAtomic } from "./atomic.js";
import { maskedCrc32c } from "./crc32c.js";
import { fsError } from "./fserror.js";

/*
 * TensorBoard event files (SPEC §14), written by rnn itself: a TFRecord file of `Event`
 * protos, as tf.summary's and PyTorch's SummaryWriter write them — the first record
 * `file_version: "brain.Event:2"`, then one `Event` per scalar with a `Summary.Value` of
 * `tag` and `simple_value`.
 */

/**
 * The part of TensorBoard's tensorboard/compat/proto/{event,summary}.proto that rnn writes,
 * with TensorBoard's field numbers. `simple_value` lives in the oneof `value` as there, so a
 * 0 is written too (a plain proto3 scalar of 0 would be left out, and read as no value).
 */
const EVENT_PROTO = `
syntax = "proto3";
package tensorboard;
message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what {
    string file_version = 3;
    Summary summary = 5;
  }
}
message Summary {
  message Value {
    string tag = 1;
    oneof value { float simple_value = 2; }
  }
  repeated Value value = 1;
}
`;

let eventType: Type | null = null;

/**
 * The `tensorboard.Event` message type (fields named as in the .proto). protobufjs is loaded on
 * first use: a run without TensorBoard does not pay for it at start-up.
 */
export function eventProto(): Type {
  if (eventType === null) {
    const protobuf = createRequire(import.meta.url)("protobufjs") as typeof import("protobufjs");
    eventType = protobuf.parse(EVENT_PROTO, { keepCase: true }).root.lookupType("tensorboard.Event");
  }
  return eventType;
}

/** What an Event holds here: the file version, or a scalar. */
type EventBody =
  | { file_version: string }
  | { summary: { value: { tag: string; simple_value: number }[] } };

/** One TFRecord record: uint64 length, masked CRC-32C of its 8 bytes, the data, masked CRC-32C of the data (all little-endian). */
export function tfRecord(data: Uint8Array): Buffer {
  const out = Buffer.alloc(8 + 4 + data.length + 4);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, 12);
  out.writeUInt32LE(maskedCrc32c(data), 12 + data.length);
  return out;
}

/** The TFRecord record of one Event. */
export function eventRecord(wallTime: number, step: number, body: EventBody): Buffer {
  const event = eventProto();
  return tfRecord(event.encode(event.fromObject({ wall_time: wallTime, step, ...body })).finish());
}

/**
 * The records of an event file, each as its bytes and its Event's step and first tag (none
 * for the file version). Reading stops at a torn or damaged record (a run killed inside an
 * append), as TensorBoard's reader does.
 */
function readRecords(buf: Buffer): { bytes: Buffer; step: number; tag: string | null }[] {
  const out: { bytes: Buffer; step: number; tag: string | null }[] = [];
  const event = eventProto();
  for (let at = 0; at + 12 <= buf.length;) {
    const n = Number(buf.readBigUInt64LE(at));
    const end = at + 12 + n + 4;
    if (end > buf.length || buf.readUInt32LE(at + 8) !== maskedCrc32c(buf.subarray(at, at + 8))) break;
    const data = buf.subarray(at + 12, at + 12 + n);
    if (buf.readUInt32LE(at + 12 + n) !== maskedCrc32c(data)) break;
    const e = event.toObject(event.decode(data), { longs: Number }) as { step?: number; summary?: { value?: { tag?: string }[] } };
    out.push({ bytes: buf.subarray(at, end), step: e.step ?? 0, tag: e.summary?.value?.[0]?.tag ?? null });
    at = end;
  }
  return out;
}

/**
 * Cuts the event files in `dir` back to the scalars `keep` accepts (a resumed run: those its
 * checkpoint covers), as CsvLog.truncate does the CSV logs: TensorBoard would otherwise show
 * both the old values past the checkpoint and the new ones. A file is rewritten (atomically)
 * only when it loses a record.
 */
export function truncateEventFiles(dir: string, keep: (tag: string, step: number) => boolean): void {
  for (const f of eventFiles(dir)) {
    const file = path.join(dir, f);
    let buf: Buffer;
    try { buf = readFileSync(file); } catch (e) { throw fsError(file, e, "cannot read"); }
    const records = readRecords(buf);
    const kept = records.filter((r) => r.tag === null || keep(r.tag, r.step));
    if (kept.length < records.length || kept.reduce((n, r) => n + r.bytes.length, 0) < buf.length) {
      writeFileAtomic(file, Buffer.concat(kept.map((r) => r.bytes)));
    }
  }
}

const EVENT_FILE = /^events\.out\.tfevents\.(\d+)\./;

/** The event files in `dir` (TensorBoard reads every file whose name holds "tfevents"; these are the ones writers name so). */
export function eventFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => EVENT_FILE.test(f)).sort();
}

/** Removes the event files in `dir` (a run started over with --force). */
export function removeEventFiles(dir: string): void {
  for (const f of eventFiles(dir)) removeFile(path.join(dir, f));
}

/** Event files this process has made: the `<n>` of their names, as TensorBoard's writers count. */
let made = 0;

/**
 * A run's TensorBoard log: a new event file in the run directory, its scalars buffered and
 * appended at flush() (with the CSV logs, when the run saves a checkpoint: every epoch), so
 * the event file never holds a step the checkpoint does not cover.
 */
export class TensorBoardLog {
  readonly file: string;
  private pending: Buffer[] = [];

  /**
   * Creates `events.out.tfevents.<unix seconds>.<host>.<pid>.<n>` in `dir`, its first record
   * the file version. TensorBoard reads a folder's event files in name order: the seconds are
   * made later than those of every file already there, so a run resumed within the same second
   * still sorts after the one it continues.
   */
  constructor(dir: string) {
    const now = Date.now() / 1000;
    const latest = Math.max(0, ...eventFiles(dir).map((f) => Number(EVENT_FILE.exec(f)?.[1] ?? 0)));
    const secs = Math.max(Math.floor(now), latest + 1);
    this.file = path.join(dir, `events.out.tfevents.${String(secs).padStart(10, "0")}.${hostname()}.${process.pid}.${made++}`);
    this.pending.push(eventRecord(now, 0, { file_version: "brain.Event:2" }));
    this.flush();
  }

  /** One scalar at `step`, buffered; a missing value (null, NaN: an empty CSV cell) is left out. */
  scalar(tag: string, step: number, value: number | null): void {
    if (value === null || Number.isNaN(value)) return;
    this.pending.push(eventRecord(Date.now() / 1000, step, { summary: { value: [{ tag, simple_value: value }] } }));
  }

  /**
   * A CSV log's row as scalars: the row's `stepColumn` is the step, and each column that
   * `tagOf` names (null: none) becomes one scalar. For CsvLog's mirror.
   */
  rows(header: readonly string[], stepColumn: string, tagOf: (column: string) => string | null): (values: readonly (number | null)[]) => void {
    const at = header.indexOf(stepColumn);
    if (at < 0) throw new Error(`TensorBoardLog.rows: no column ${stepColumn} in ${header.join(",")}`);
    const tags = header.map(tagOf);
    return (values) => {
      const step = values[at] as number;
      tags.forEach((tag, i) => { if (tag !== null) this.scalar(tag, step, values[i] ?? null); });
    };
  }

  /** Appends the buffered records, whole or not at all. */
  flush(): void {
    if (this.pending.length === 0) return;
    appendWhole(this.file, Buffer.concat(this.pending));
    this.pending = [];
  }
}
