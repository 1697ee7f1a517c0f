import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { InputError, ReportedElsewhere } from "../errors.js";
import type { Communicator } from "./comm.js";

/*
 * Before a data-parallel run trains, its ranks agree that they read the same thing: the same
 * resolved config (flags included) and the same bytes of every file it reads. Ranks that differ
 * would train a mixed model without a word, or wait for each other forever in a collective of
 * another size; they are refused at start-up instead, on every rank, naming what differs.
 */

/** A 48-bit digest of a text: exact in a double, so that ranks compare it by min and max. */
function digest48(text: string | Buffer): number {
  return createHash("sha256").update(text).digest().readUIntBE(0, 6);
}

/** One file the run reads, by the role it has (`data.train`, `--resume` …). */
export interface RunFile { readonly what: string; readonly file: string | null }

/** What a rank read, digested: the config's leaves by dotted key, and each file's size and content. */
export interface RunDigest {
  readonly version: string;
  readonly keys: readonly { readonly key: string; readonly value: string; readonly hash: number }[];
  readonly files: readonly { readonly what: string; readonly file: string | null; readonly size: number; readonly hash: number }[];
}

/** The leaves of a JSON value by dotted key; lists are leaves. */
function leaves(v: unknown, key: string, out: { key: string; value: string; hash: number }[]): void {
  if (typeof v === "object" && v !== null && !Array.isArray(v)) {
    for (const k of Object.keys(v).sort()) leaves((v as Record<string, unknown>)[k], key === "" ? k : `${key}.${k}`, out);
    return;
  }
  const value = JSON.stringify(v ?? null);
  out.push({ key, value, hash: digest48(`${key}\0${value}`) });
}

/** The sha256 of a file's bytes, read as a stream. */
async function fileDigest(file: string): Promise<{ size: number; hash: number }> {
  const st = await stat(file).catch((e: NodeJS.ErrnoException) => { throw new InputError(`${file}: cannot read: ${e.code ?? e.message}`); });
  if (!st.isFile()) return { size: -1, hash: 0 }; // the reader refuses it, on every rank alike
  const h = createHash("sha256");
  await new Promise<void>((resolve, reject) => {
    createReadStream(file, { highWaterMark: 1 << 20 }).on("data", (c) => h.update(c)).on("end", resolve)
      .on("error", (e: NodeJS.ErrnoException) => reject(new InputError(`${file}: cannot read: ${e.code ?? e.message}`)));
  });
  return { size: st.size, hash: h.digest().readUIntBE(0, 6) };
}

/**
 * Digests a rank's resolved config (as JSON) and the files it reads (null: none in that role).
 * The keys in `local` are left out of the config's (a file's path, the output folder only rank 0
 * writes): ranks on other machines may name the same file by other paths; its content is compared.
 */
export async function runDigest(version: string, config: unknown, files: readonly RunFile[], local: readonly string[]): Promise<RunDigest> {
  const all: { key: string; value: string; hash: number }[] = [];
  leaves(JSON.parse(JSON.stringify(config)) as unknown, "", all);
  const keys = all.filter((k) => !local.includes(k.key));
  const out: RunDigest["files"][number][] = [];
  for (const f of files) out.push({ what: f.what, file: f.file, ...(f.file === null ? { size: -2, hash: 0 } : await fileDigest(f.file)) });
  return { version, keys, files: out };
}

/** Per element, whether the ranks' values differ: one all-reduce of max over [v, −v] (max and min). */
function differing(comm: Communicator, v: readonly number[]): { differs: boolean[]; min: number[]; max: number[] } {
  const buf = new Float64Array(2 * v.length);
  v.forEach((x, i) => { buf[i] = x; buf[v.length + i] = -x; });
  comm.allreduce(buf, "max");
  const max = v.map((_, i) => buf[i]), min = v.map((_, i) => -buf[v.length + i]);
  return { differs: v.map((_, i) => max[i] !== min[i]), min, max };
}

/**
 * Refuses, on every rank, a run whose ranks read different things: rank 0 throws an InputError
 * naming what differs (`where` first, the config file), the others ReportedElsewhere (exit 2).
 * Collective: every rank calls it with a digest of the same shape of file list. A second
 * all-reduce, of the config's leaves, runs only when the configs differ and have the same keys.
 */
export function requireAgreement(comm: Communicator, d: RunDigest, where: string): void {
  if (comm.size === 1) return;
  const keyList = digest48(d.keys.map((k) => k.key).join("\n"));
  const configHash = digest48(d.keys.map((k) => `${k.key}\0${k.value}`).join("\n"));
  const head = [digest48(d.version), keyList, d.keys.length, configHash, ...d.files.flatMap((f) => [f.size, f.hash])];
  const first = differing(comm, head);
  if (!first.differs.some(Boolean)) return;
  let what: string;
  if (first.differs[0]) {
    what = `they run different versions of rnn (rank 0: ${d.version})`;
  } else if (first.differs[3] && !first.differs[1] && !first.differs[2]) {
    const keys = differing(comm, d.keys.map((k) => k.hash));
    const bad = d.keys.filter((_, i) => keys.differs[i]);
    what = `config key${bad.length > 1 ? "s" : ""} ${bad.slice(0, 4).map((k) => k.key).join(", ")}${bad.length > 4 ? ", …" : ""} differ${bad.length > 1 ? "" : "s"} (rank 0 has ${bad.slice(0, 2).map((k) => `${k.key} ${k.value.length > 60 ? `${k.value.slice(0, 60)}…` : k.value}`).join(", ")})`;
  } else if (first.differs[1] || first.differs[2] || first.differs[3]) {
    what = "their configs have different keys";
  } else {
    const k = d.files.findIndex((_, i) => first.differs[4 + 2 * i] || first.differs[5 + 2 * i]);
    const f = d.files[k], sizes = first.differs[4 + 2 * k];
    what = f.file === null ? `${f.what} is given on some ranks only`
      : sizes ? `${f.what} ${f.file} differs: ${first.min[4 + 2 * k]} to ${first.max[4 + 2 * k]} bytes`
        : `${f.what} ${f.file} differs in content (${f.size} bytes on every rank)`;
  }
  if (comm.rank !== 0) throw new ReportedElsewhere(2);
  throw new InputError(`${where}: the ${comm.size} ranks do not read the same run: ${what}; every rank must read the same config, flags and files`);
}
