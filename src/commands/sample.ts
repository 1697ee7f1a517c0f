import { nextTokenProbs, pickToken, type Picking } from "../core/next-token.js";
import { Rng } from "../core/rng.js";
import { EOS, primeTokens } from "../data/text.js";
import { InputError } from "../errors.js";
import { csvLine, num } from "../io/format.js";
import { BufferedOut, type Io } from "../io/terminal.js";
import { loadModel } from "./model.js";

export interface SampleOptions {
  prime?: string;
  length?: number;
  temperature?: number;
  topK?: number;
  seed?: number;
  probs?: boolean;
}

/** The generator's stream for sampling text (the seed's other streams draw weights and shuffles). */
const SAMPLE_STREAM = 12;

/** Seconds between writes of the text generated so far: streamed, not a write per token. */
const FLUSH_SECONDS = 0.05;

/**
 * `rnn sample <checkpoint>` (SPEC §12): from the zero state, feeds the prime's tokens (token 0
 * without one), then `length` times picks the next token from the last output's logits, prints
 * it and feeds it back, one step at a time with the frozen weights. stdout carries the generated
 * text alone, streamed; with `--probs`, the CSV `token,p` of the distribution after the prime.
 */
export async function sample(ckFile: string, o: SampleOptions, io: Io): Promise<number> {
  const temperature = o.temperature ?? 1, length = o.length ?? 500;
  if (!(temperature >= 0) || !Number.isFinite(temperature)) throw new InputError(`--temperature ${temperature}: must be a number ≥ 0`);
  if (o.topK !== undefined && !(Number.isInteger(o.topK) && o.topK >= 1)) throw new InputError(`--top-k ${o.topK}: must be a whole number ≥ 1`);
  if (!(Number.isInteger(length) && length >= 0)) throw new InputError(`--length ${length}: must be a whole number ≥ 0`);
  // One row a step: a thread pool's hand-offs cost more than they save (unless RNN_THREADS says otherwise).
  const { ck, net } = loadModel(ckFile, process.env.RNN_THREADS === undefined ? 1 : undefined);
  const vocab = ck.vocab;
  if (!vocab) throw new InputError(`${ckFile}: not a text model (no __metadata__.vocab): rnn sample writes text from a data.text model; use rnn predict or rnn forecast`);
  const V = vocab.length, kind = ck.config.data.tokens;
  const prime = o.prime === undefined || o.prime === "" ? Int32Array.of(0) : primeTokens(o.prime, kind, vocab);
  const pick: Picking = { temperature, topK: o.topK ?? null };
  const rng = new Rng(o.seed ?? ck.config.seed, SAMPLE_STREAM);

  const state = net.zeroState(1);
  const id = new Int32Array(1);
  const p = new Float64Array(V), order = new Int32Array(V);
  // One step: token `t` in, the state moved on, the next token's distribution in p.
  const step = (t: number): void => {
    id[0] = t;
    net.forward(id, 0, state, 1, 1);
    net.stateAfter(1, 1, state);
  };
  for (const t of prime) step(t);
  nextTokenProbs(net.head.y, 0, V, pick, p, order);

  const out = new BufferedOut(io);
  if (o.probs) {
    out.add(csvLine(["token", "p"]));
    for (let j = 0; j < V; j++) if (p[j] > 0) out.add(csvLine([vocab[j] === "\n" ? "\\n" : vocab[j], num(p[j])]));
    await out.flush(true);
    return 0;
  }
  // Words print with a space before them, except at the start and after <eos> (a line break).
  let lineStart = true;
  let lastFlush = performance.now();
  for (let i = 0; i < length; i++) {
    const t = pickToken(p, V, pick, rng);
    const tok = vocab[t];
    if (kind === "char") out.add(tok);
    else if (tok === EOS) { out.add("\n"); lineStart = true; }
    else { out.add(lineStart ? tok : ` ${tok}`); lineStart = false; }
    if (performance.now() - lastFlush > FLUSH_SECONDS * 1000) { await out.flush(true); lastFlush = performance.now(); }
    if (i + 1 < length) {
      step(t);
      nextTokenProbs(net.head.y, 0, V, pick, p, order);
    }
  }
  await out.flush(true);
  return 0;
}
