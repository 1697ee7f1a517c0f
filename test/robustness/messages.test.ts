/**
 * Inputs that used to give a silent wrong answer or a misleading message (issue 13, items 11–12):
 * each attack, then what the user now gets.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { decodeSafetensors } from "../../src/io/safetensors.js";
import { BIN, rnn } from "../helpers/cli.js";
import { joinSafetensors, sequenceCsv, smallConfig, splitSafetensors, tempDir } from "./util.js";

/** Model tensors of a run's last checkpoint, as hex bytes. */
function weights(file: string): Record<string, string> {
  const st = decodeSafetensors(readFileSync(file), file);
  return Object.fromEntries([...st.tensors].filter(([k]) => !k.startsWith("optim.")).map(([k, t]) => [k, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString("hex")]));
}

/** Trains c.yaml on the given CSV text (written as d.csv); returns the result and the folder. */
function trainOn(csv: Buffer | string, config = smallConfig()) {
  const dir = tempDir();
  writeFileSync(path.join(dir, "d.csv"), csv);
  writeFileSync(path.join(dir, "c.yaml"), config);
  return { r: rnn(["train", "c.yaml", "--quiet"], { cwd: dir }), dir };
}

function oneLine(r: { code: number | null; stderr: string }, code: number, msg: RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stderr).toMatch(msg);
}

describe("CSV encodings and line endings", () => {
  const csv = sequenceCsv(12, 10);
  const reference = trainOn(csv);

  it("reference run", () => expect(reference.r.code, reference.r.stderr).toBe(0));

  it("a CRLF header above LF rows (was: a 400-character cell 'is not a finite decimal number'): trains as the LF file does", () => {
    const lines = csv.split("\n");
    const { r, dir } = trainOn(`${lines[0]}\r\n${lines.slice(1).join("\n")}`);
    expect(r.code, r.stderr).toBe(0);
    expect(weights(path.join(dir, "run/last.safetensors"))).toEqual(weights(path.join(reference.dir, "run/last.safetensors")));
  });

  it("CRLF throughout: the same", () => {
    const { r, dir } = trainOn(csv.replace(/\n/g, "\r\n"));
    expect(r.code, r.stderr).toBe(0);
    expect(weights(path.join(dir, "run/last.safetensors"))).toEqual(weights(path.join(reference.dir, "run/last.safetensors")));
  });

  it("UTF-16BE (was: a garbled header named as a missing column): exit 2 saying it is UTF-16", () => {
    const le = Buffer.from(`\ufeff${csv}`, "utf16le");
    const be = Buffer.alloc(le.length);
    for (let i = 0; i < le.length; i += 2) { be[i] = le[i + 1]; be[i + 1] = le[i]; }
    oneLine(trainOn(be).r, 2, /d\.csv: line 1: the header holds NUL bytes: the file looks like UTF-16 text; save it as UTF-8/);
  });

  it("UTF-16LE with its byte-order mark: read as the text it is", () => {
    const { r, dir } = trainOn(Buffer.from(`\ufeff${csv}`, "utf16le"));
    expect(r.code, r.stderr).toBe(0);
    expect(weights(path.join(dir, "run/last.safetensors"))).toEqual(weights(path.join(reference.dir, "run/last.safetensors")));
  });

  it("a column named twice (was: the first silently used): exit 2 naming both fields", () => {
    const [head, ...rest] = csv.split("\n");
    const dup = [`${head},x`, ...rest.map((l) => (l ? `${l},9` : l))].join("\n");
    oneLine(trainOn(dup).r, 2, /d\.csv: line 1: input column "x" appears twice \(fields 2 and 4\): rename one/);
  });
});

describe("config values", () => {
  for (const [name, text] of [["1e309", "seed: 1e309"], [".inf", "seed: .inf"], ["-.inf", "seed: -.inf"]]) {
    it(`${name} (was: "got null"): named as the infinity it is`, () => {
      const dir = tempDir();
      writeFileSync(path.join(dir, "c.yaml"), `${smallConfig().replace("seed: 3", "")}\n${text}\n`);
      oneLine(rnn(["train", "c.yaml"], { cwd: dir }), 2, /c\.yaml: seed: must be a finite number, got -?Infinity/);
    });
  }

  it("YAML merge keys (was: '<<: unknown key'): a block shared with << trains as the written-out config", () => {
    const written = trainOn(sequenceCsv(8, 6), smallConfig());
    expect(written.r.code, written.r.stderr).toBe(0);
    const viaMerge = trainOn(sequenceCsv(8, 6), smallConfig().replace("optimizer: { name: adam, lr: 0.01 }", "optimizer: { <<: { name: adam }, lr: 0.01 }"));
    expect(viaMerge.r.code, viaMerge.r.stderr).toBe(0);
    expect(weights(path.join(viaMerge.dir, "run/last.safetensors"))).toEqual(weights(path.join(written.dir, "run/last.safetensors")));
  });
});

describe("data paths a checkpoint names (item 10): no disclosure, no hang", () => {
  const secret = "root:$6$SECRET-HASH-do-not-print:19000:0:99999:7:::";
  const setUp = (dataPath: string) => {
    const { r, dir } = trainOn(sequenceCsv(10, 8));
    expect(r.code, r.stderr).toBe(0);
    const ck = path.join(dir, "run/last.safetensors");
    const p = splitSafetensors(readFileSync(ck));
    const meta = p.header.__metadata__ as Record<string, string>;
    const cfg = JSON.parse(meta.config) as { data: { train: string; validation: string | null } };
    cfg.data.train = dataPath;
    meta.config = JSON.stringify(cfg);
    delete meta.header_checksum; // as a crafted file has none (else the edit itself is refused)
    const crafted = path.join(dir, "crafted.safetensors");
    writeFileSync(crafted, joinSafetensors(p.header, p.data));
    return { dir, crafted };
  };

  it("a path to a secret file: eval exits 2 naming the place, never the content", () => {
    const d = tempDir();
    writeFileSync(path.join(d, "shadow"), `${secret}\nbin:*:19000:0:99999:7:::\n`);
    const { dir, crafted } = setUp(path.join(d, "shadow"));
    for (const args of [["eval", crafted, "--json"], ["grad-flow", crafted]]) {
      const r = rnn(args, { cwd: dir });
      oneLine(r, 2, /crafted\.safetensors: its config's data file .*shadow is not data this model can read \(line 1\); its content is not shown; pass --data <csv>/);
      expect(r.stderr).not.toContain("SECRET");
      expect(r.stdout).toBe("");
    }
  });

  it("/proc/self/environ: no variable is printed", () => {
    const { dir, crafted } = setUp("/proc/self/environ");
    const r = spawnSync(process.execPath, [BIN, "eval", crafted], { cwd: dir, encoding: "utf8", env: { ...process.env, RNN_SECRET_TOKEN: "tok-12345" }, timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).not.toContain("tok-12345");
    expect(r.stderr).not.toContain("PATH=");
  });

  for (const [kind, make] of [
    ["a FIFO (was: eval hung)", (d: string) => { const f = path.join(d, "fifo"); spawnSync("mkfifo", [f]); return f; }],
    ["a directory", (d: string) => d],
    ["a device", () => "/dev/zero"],
  ] as const) {
    it(`${kind}: refused at once, exit 2`, () => {
      const { dir, crafted } = setUp(make(tempDir()));
      const t0 = Date.now();
      const r = rnn(["eval", crafted], { cwd: dir });
      oneLine(r, 2, /its config's data file .* is not a regular file/);
      expect(Date.now() - t0).toBeLessThan(10_000);
    });
  }
});
