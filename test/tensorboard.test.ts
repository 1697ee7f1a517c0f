import { copyFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { train } from "../src/api.js";
import { crc32c, maskedCrc32c } from "../src/io/crc32c.js";
import { eventProto, eventRecord, tfRecord, truncateEventFiles } from "../src/io/tensorboard.js";
import { ROOT, rnn, tempDir } from "./helpers/cli.js";
import { readWithTensorBoard, scalarsOfCsv, tensorboardSkipReason } from "./helpers/tensorboard.js";
import { sequenceCsv } from "./robustness/util.js";

/**
 * TensorBoard event files (SPEC §14, issue 23): the checksum and the framing against known
 * values, then real runs read back by TensorBoard's own reader (EventAccumulator, in a Python
 * virtual environment: test/helpers/tensorboard.ts), every scalar compared with updates.csv and
 * epochs.csv as float32 — a run with validation data, a resumed run, --force, and a damaged file.
 */

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("CRC-32C and TFRecord framing", () => {
  it("CRC-32C of the standard check string and of RFC 3720's test patterns", () => {
    expect(crc32c(bytes("123456789"))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    // RFC 3720 (iSCSI) appendix B.4: 32 bytes of zeros, of ones, ascending, descending.
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it("masked CRC-32C as TensorBoard's masked_crc32c computes it", () => {
    // Values from tensorboard 2.21's compat/tensorflow_stub/pywrap_tensorflow.masked_crc32c.
    expect(maskedCrc32c(bytes("123456789"))).toBe(0xc78ab0e5);
    expect(maskedCrc32c(new Uint8Array(0))).toBe(0xa282ead8);
    expect(maskedCrc32c(new Uint8Array(8))).toBe(0x07980329);
  });

  it("a record: uint64 length, masked CRC of the length, the data, masked CRC of the data (little-endian)", () => {
    const data = bytes("hello, tfrecord");
    const r = tfRecord(data);
    expect(r.length).toBe(8 + 4 + data.length + 4);
    expect(r.readBigUInt64LE(0)).toBe(BigInt(data.length));
    expect(r.readUInt32LE(8)).toBe(maskedCrc32c(r.subarray(0, 8)));
    expect(Buffer.from(r.subarray(12, 12 + data.length))).toEqual(Buffer.from(data));
    expect(r.readUInt32LE(12 + data.length)).toBe(maskedCrc32c(data));
  });

  it("Event records decode to the fields TensorBoard's event.proto and summary.proto give them", () => {
    const Event = eventProto();
    const decode = (rec: Buffer): Record<string, unknown> =>
      Event.toObject(Event.decode(rec.subarray(12, 12 + Number(rec.readBigUInt64LE(0)))), { longs: Number, oneofs: false });
    expect(decode(eventRecord(1.5, 0, { file_version: "brain.Event:2" }))).toEqual({ wall_time: 1.5, step: 0, file_version: "brain.Event:2" });
    expect(decode(eventRecord(2, 7, { summary: { value: [{ tag: "train/loss", simple_value: 0 }] } })))
      .toEqual({ wall_time: 2, step: 7, summary: { value: [{ tag: "train/loss", simple_value: 0 }] } }); // a 0 is written, not left out
    // Field numbers on the wire: wall_time 1 (fixed64), step 2 (varint), file_version 3.
    const rec = eventRecord(1, 3, { file_version: "v" });
    expect([...rec.subarray(12, 12 + Number(rec.readBigUInt64LE(0)))]).toEqual([0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 3, 0x1a, 1, 0x76]);
  });

  it("truncateEventFiles keeps what `keep` accepts, drops a torn tail, and leaves a file with nothing to drop as it was", () => {
    const dir = tempDir();
    const scalar = (tag: string, step: number): Buffer => eventRecord(step, step, { summary: { value: [{ tag, simple_value: step }] } });
    const head = eventRecord(0, 0, { file_version: "brain.Event:2" });
    const a = path.join(dir, "events.out.tfevents.0000000001.h.1.0"), b = path.join(dir, "events.out.tfevents.0000000002.h.1.0");
    writeFileSync(a, Buffer.concat([head, scalar("train/loss", 1), scalar("epoch/val_loss", 1), scalar("train/loss", 2), scalar("epoch/val_loss", 2)]));
    const whole = Buffer.concat([head, scalar("train/loss", 1)]);
    writeFileSync(b, whole);
    truncateEventFiles(dir, (tag, step) => step <= (tag.startsWith("epoch/") ? 1 : 2));
    expect(readFileSync(a)).toEqual(Buffer.concat([head, scalar("train/loss", 1), scalar("epoch/val_loss", 1), scalar("train/loss", 2)]));
    expect(readFileSync(b)).toEqual(whole);
    writeFileSync(b, Buffer.concat([whole, scalar("train/loss", 2).subarray(0, 20)])); // killed inside an append
    truncateEventFiles(dir, () => true);
    expect(readFileSync(b)).toEqual(whole);
  });
});

const eventFilesIn = (dir: string): string[] => readdirSync(dir).filter((f) => f.startsWith("events.out.tfevents.")).sort();
const NAME = new RegExp(`^events\\.out\\.tfevents\\.\\d{10}\\.${hostname().replace(/[.]/g, "\\.")}\\.\\d+\\.\\d+$`);

/** A small regression project with validation data (val_mse, val_rmse, val_mae). */
function project(epochs: number, dir: string, out: string): Record<string, unknown> {
  writeFileSync(path.join(dir, "d.csv"), sequenceCsv(24, 10));
  return {
    seed: 4,
    data: { train: path.join(dir, "d.csv"), sequenceColumn: "id", inputs: ["x"], targets: ["y"], validationSplit: 0.25 },
    model: { cell: "lstm", hiddenSize: 4 },
    training: { epochs, batchSize: 4, shuffle: true, optimizer: { name: "adam", lr: 0.02 }, schedule: { name: "step", stepSize: 1, gamma: 0.5 } },
    output: { dir: path.join(dir, out), tensorboard: true },
  };
}

describe.skipIf(tensorboardSkipReason !== null)("TensorBoard's own reader reads exactly the CSV logs' values", () => {
  it("rnn train --tensorboard: one event file, named as TensorBoard's writers name them, every scalar of updates.csv and epochs.csv as float32", () => {
    const dir = tempDir();
    const r = rnn(["train", path.join(ROOT, "configs/sine.yaml"), "--out", path.join(dir, "run"), "--tensorboard", "--set", "training.epochs=3", "--quiet"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const files = eventFilesIn(path.join(dir, "run"));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(NAME);
    const tb = readWithTensorBoard(path.join(dir, "run"));
    expect(tb.file_version).toBe(2);
    const want = scalarsOfCsv(path.join(dir, "run"));
    expect(Object.keys(want).sort()).toEqual(["epoch/train_loss", "epoch/val_loss", "epoch/val_mae", "epoch/val_mse", "epoch/val_rmse", "train/grad_norm", "train/loss", "train/lr"]);
    expect(want["train/loss"]).toHaveLength(27); // 9 updates an epoch
    expect(tb.scalars).toEqual(want);
  });

  it("output.tensorboard in the config, a classification run: epoch/val_accuracy; without it no event file", () => {
    const dir = tempDir();
    const cfg = path.join(ROOT, "configs/shapes.yaml");
    expect(rnn(["train", cfg, "--out", path.join(dir, "tb"), "--set", "training.epochs=2", "--set", "output.tensorboard=true", "--quiet"]).code).toBe(0);
    const tb = readWithTensorBoard(path.join(dir, "tb"));
    expect(tb.scalars["epoch/val_accuracy"]).toHaveLength(2);
    expect(tb.scalars).toEqual(scalarsOfCsv(path.join(dir, "tb")));
    expect(rnn(["train", cfg, "--out", path.join(dir, "plain"), "--set", "training.epochs=1", "--quiet"]).code).toBe(0);
    expect(eventFilesIn(path.join(dir, "plain"))).toEqual([]);
  });

  it("a run stopped mid-epoch and resumed adds a second file that continues the steps: the scalars of the uninterrupted run", async () => {
    const dir = tempDir();
    const whole = await train(project(4, dir, "whole"));
    expect(whole.status).toBe("done");
    const stop = new AbortController();
    const first = await train(project(4, dir, "parts"), { signal: stop.signal, onEpoch: (e) => { if (e.epoch === 2) stop.abort(); } });
    expect(first.status).toBe("aborted"); // after the first update of epoch 3: a mid-epoch checkpoint
    const [before] = eventFilesIn(path.join(dir, "parts"));
    expect((await train(project(4, dir, "parts"), { resume: first.last })).status).toBe("done");
    const files = eventFilesIn(path.join(dir, "parts"));
    expect(files).toHaveLength(2);
    expect(files[0]).toBe(before); // the first file stays as it was; the new one sorts after it
    expect(files.every((f) => NAME.test(f))).toBe(true);
    const tb = readWithTensorBoard(path.join(dir, "parts"));
    expect(tb.scalars).toEqual(scalarsOfCsv(path.join(dir, "parts")));
    expect(tb.scalars).toEqual(readWithTensorBoard(path.join(dir, "whole")).scalars);
    expect(tb.scalars["epoch/val_loss"].map(([step]) => step)).toEqual([1, 2, 3, 4]);
  });

  it("resumed from an earlier checkpoint: the older files are cut back to it, as updates.csv and epochs.csv are", async () => {
    const dir = tempDir();
    const run = path.join(dir, "run");
    expect((await train(project(2, dir, "run"))).status).toBe("done");
    copyFileSync(path.join(run, "last.safetensors"), path.join(dir, "epoch2.safetensors"));
    expect((await train(project(4, dir, "run"), { resume: path.join(run, "last.safetensors") })).status).toBe("done");
    const four = readWithTensorBoard(run).scalars;
    expect(four["epoch/train_loss"]).toHaveLength(4);
    // Again from epoch 2, to 3 epochs: epochs 3 and 4 of the second file are out of date.
    expect((await train(project(3, dir, "run"), { resume: path.join(dir, "epoch2.safetensors") })).status).toBe("done");
    expect(eventFilesIn(run)).toHaveLength(3);
    const tb = readWithTensorBoard(run).scalars;
    expect(tb).toEqual(scalarsOfCsv(run));
    expect(tb["epoch/train_loss"].map(([step]) => step)).toEqual([1, 2, 3]);
    expect(tb["train/loss"].length).toBeLessThan(four["train/loss"].length);
    expect(readWithTensorBoard(run).files).toEqual(eventFilesIn(run));
  });

  it("--force removes the old event files; the new one holds the new run alone", async () => {
    const dir = tempDir();
    const cfgFile = path.join(dir, "c.json");
    writeFileSync(cfgFile, JSON.stringify(project(2, dir, "run")));
    expect(rnn(["train", cfgFile, "--quiet"]).code).toBe(0);
    const old = eventFilesIn(path.join(dir, "run"));
    expect(old).toHaveLength(1);
    expect(rnn(["train", cfgFile, "--quiet"]).code).toBe(2); // refused: it holds a checkpoint
    expect(rnn(["train", cfgFile, "--force", "--seed", "9", "--set", "training.epochs=1", "--quiet"]).code).toBe(0);
    const now = eventFilesIn(path.join(dir, "run"));
    expect(now).toHaveLength(1);
    expect(now[0]).not.toBe(old[0]);
    const tb = readWithTensorBoard(path.join(dir, "run"));
    expect(tb.scalars).toEqual(scalarsOfCsv(path.join(dir, "run")));
    expect(tb.scalars["epoch/train_loss"]).toHaveLength(1);
  });

  it("the reader checks the CRCs: a damaged last record is dropped, so the framing it accepts is the real one", () => {
    const dir = tempDir();
    const run = path.join(dir, "run");
    expect(rnn(["train", path.join(ROOT, "configs/sine.yaml"), "--out", run, "--tensorboard", "--set", "training.epochs=1", "--quiet"]).code).toBe(0);
    const [file] = eventFilesIn(run);
    const buf = readFileSync(path.join(run, file));
    const good = readWithTensorBoard(run).scalars;
    buf[buf.length - 1] ^= 0xff; // the data CRC of the last record (epoch/val_mae of epoch 1)
    writeFileSync(path.join(run, file), buf);
    const damaged = readWithTensorBoard(run).scalars;
    expect(good["epoch/val_mae"]).toHaveLength(1);
    expect(damaged["epoch/val_mae"]).toBeUndefined();
    expect(damaged["train/loss"]).toEqual(good["train/loss"]);
  });
});
