import { regressionHead, type ParamForm } from "../core/heads/index.js";
import type { Config } from "../config/schema.js";
import { targetStats } from "../data/dataset.js";
import type { Checkpoint } from "../io/checkpoint.js";
import { categoricalWidth } from "../core/categorical.js";
import { onnxCell, permuteBlocks } from "./gates.js";
import { GraphBuilder, type Attr, type ModelProto } from "./graph.js";

/** The opset the graph is written for (SPEC §8: 14 or later; RNN/LSTM/GRU-14, Squeeze-13, Softmax-13). */
export const OPSET = 14;

/** h0/c0 as optional inputs, zero when absent (SPEC §8), or as required ones (for onnxruntime-node). */
export type StateInputs = "optional" | "required";

/** What an export reads: a checkpoint, or a model made in memory (rnn bench --predict). */
export type ExportSource = Pick<Checkpoint, "shape" | "params" | "normalization" | "classes" | "epoch" | "step">
  & { readonly categories?: Checkpoint["categories"]; readonly vocab?: readonly string[] | null }
  & { readonly config: Pick<Config, "task"> & { readonly data: Pick<Config["data"], "inputs" | "targets" | "sequenceColumn"> & Partial<Pick<Config["data"], "categorical" | "tokens">>; readonly model: Pick<Config["model"], "likelihood" | "quantiles"> } };

/**
 * SPEC §11: layer 0's input [x ; embed_0(c[…, 0]) ; …] from the normalised x [batch, time, I] and
 * the int64 indices c [batch, time, C]: each column split off, squeezed to [batch, time] and
 * gathered from its table (`embed.{j}.weight` [V_j, E_j]) into [batch, time, E_j], then concatenated.
 */
function categoricalNodes(g: GraphBuilder, x: string, c: string, tables: readonly { name: string; table: Float32Array; vocab: number; size: number }[]): string {
  const C = tables.length;
  const cols = C === 1 ? [c] : g.node("Split", [c, g.int64s("c_split", Array(C).fill(1))], C, { axis: { int: 2 } });
  const embedded = tables.map((t, j) => {
    const [idx] = g.node("Squeeze", [cols[j], g.int64s(`c${j}_axis`, [2])], 1);
    return g.node("Gather", [g.floats(t.name, [t.vocab, t.size], t.table), idx], 1, { axis: { int: 0 } })[0];
  });
  return g.node("Concat", [x, ...embedded], 1, { axis: { int: -1 } })[0];
}

/**
 * The nodes after the head for parameters that are not locations ([time, batch, P·O] in, the
 * same shape out): the P blocks of O outputs split apart, σ = softplus(a)·std, ν = 2 + softplus(a),
 * a count's μ and α = softplus(a), and concatenated back in predict's order.
 */
function parameterNodes(g: GraphBuilder, a: string, forms: readonly ParamForm[], stats: readonly { std: number; mean: number }[]): string {
  const T = stats.length, P = forms.length;
  const blocks = P === 1 ? [a] : g.node("Split", [a, g.int64s("param_split", Array(P).fill(T))], P, { axis: { int: -1 } });
  const parts = forms.map((f, k) => {
    if (f.kind === "location") return blocks[k];
    const [sp] = g.node("Softplus", [blocks[k]], 1);
    if (f.kind === "scale") return g.node("Mul", [sp, g.floats(`param${k}_std`, [T], Float32Array.from(stats, (s) => s.std))], 1)[0];
    return f.shift === 0 ? sp : g.node("Add", [sp, g.floats(`param${k}_shift`, [1], Float32Array.of(f.shift))], 1)[0];
  });
  return P === 1 ? parts[0] : g.node("Concat", parts, 1, { axis: { int: -1 } })[0];
}

/**
 * The ONNX model of a checkpoint (SPEC §8): raw inputs in, what `rnn predict` prints out.
 *
 *   x [batch, time, I] ─ (x − mean) / std ─ (with categorical inputs, SPEC §11: Concat with each
 *     column of c [batch, time, C] gathered from its table) ─ Transpose → [time, batch, I']
 *     (a text model, SPEC §12: tokens int64 [batch, time] ─ Gather(encoder.weight) → [batch, time, E])
 *     ─ layer 0 … layer L−1 (one ONNX RNN/LSTM/GRU each, layout 0, initial state from h0/c0)
 *     ─ head: MatMul W_outᵀ + b_out ─ Transpose → [batch, time, O]
 *     → y (regression, original units) or p = Softmax(·) (classification)
 *   hn, cn [L, batch, H]: each layer's state after the last step, to feed back as h0, c0.
 *
 * A bidirectional model (SPEC §13) has no state to carry: its inputs are x and
 * `sequence_lens` [batch] (int32, each sequence's real steps; the rest of its row is padding),
 * each layer one operator with direction = "bidirectional" (W, R, B stacked [2, …]: forward,
 * then reverse; the reverse pass starts at each sequence's own last step), its output
 * Y [time, 2, batch, H] → [time, batch, 2H] = [h→ ; h←]; hn (cn) [2L, batch, H] as PyTorch's
 * h_n; under targetsAt: last the head reads [hn[-2] ; hn[-1]] and y (p) is [batch, 1, O].
 *
 * Inputs are standardised by explicit Sub/Div nodes rather than folded into layer 0's weights:
 * W/std and −W·mean/std would cancel in float32 when |mean| ≫ std. The regression targets'
 * un-normalisation y·std + mean is folded into the head (a product and a sum, no cancellation).
 * Weights are float32 whatever the checkpoint's dtype.
 *
 * `h0`/`c0` are [L, batch, H] or [L, 1, H] (broadcast to the batch: zeros [L, 1, H] start every
 * sequence from s_0). By default they are optional, zero when absent (SPEC §8), in ONNX's form
 * of an optional input: an initializer of the same name holds the default (IR ≥ 4, an
 * "overridable initializer"). onnxruntime in Python, C, C++ and C# feeds a given h0 over it;
 * onnxruntime-node (1.30) passes only the other inputs to a run and silently keeps the zeros —
 * so for Node callers that carry state, `stateInputs: "required"` makes h0/c0 plain required
 * inputs, which every runtime honours.
 */
export function buildOnnxModel(ck: ExportSource, producerVersion: string, stateInputs: StateInputs = "optional"): ModelProto {
  const { shape, config: cfg } = ck;
  const tables = shape.categorical ?? [], C = tables.length;
  // x carries the numeric inputs; layer 0 reads them and the C embeddings (SPEC §11).
  const I = shape.inputSize - C, I0 = categoricalWidth(shape.inputSize, tables), H = shape.hiddenSize, O = shape.outputSize, L = shape.layers;
  const isLstm = shape.cell === "lstm";
  const D = shape.bidirectional ? 2 : 1, summary = D === 2 && shape.targetsAt === "last";
  const classification = cfg.task === "classification";
  const oc = onnxCell(shape.cell, shape.activation);
  const G = oc.blocks.length;
  const g = new GraphBuilder();
  const param = (name: string): Float64Array | Float32Array => {
    const t = ck.params.get(name);
    if (!t) throw new Error(`checkpoint tensor ${name} missing`);
    return t;
  };

  const vocab = ck.vocab ?? null;
  const x = vocab
    ? g.int64Input("tokens", ["batch", "time"], `token ids: index into the vocabulary (metadata "vocab", ${vocab.length} tokens)`)
    : g.input("x", ["batch", "time", I], `raw inputs, last axis: ${cfg.data.inputs.join(", ")} (original units)`);
  const catColumns = (cfg.data.categorical ?? []).map((k) => k.column);
  const c = C > 0 ? g.int64Input("c", ["batch", "time", C], `category indices, last axis: ${catColumns.join(", ")} (k + 1 for entry k of metadata categories[column]; 0 for a category training never saw, or a missing cell)`) : null;
  const lens = D === 2 ? g.int32Input("sequence_lens", ["batch"], "each sequence's real steps (≤ time; the rest of its row is padding)") : null;
  const zeros = stateInputs === "optional" ? { dims: [L, 1, H], data: new Float32Array(L * H) } : undefined;
  const h0 = lens ? "" : g.input("h0", [L, "state_batch", H], "each layer's hidden state before the first step: hn of the previous call, or zeros [L, 1, H] to start a sequence (a batch of 1 is broadcast)", zeros);
  const c0 = isLstm && !lens ? g.input("c0", [L, "state_batch", H], "each LSTM layer's cell state before the first step: cn of the previous call, or zeros [L, 1, H]", zeros) : null;

  // Normalisation of the inputs, when the checkpoint has it.
  let inp = x;
  if (shape.embedding) {
    const E = shape.embedding.size;
    [inp] = g.node("Gather", [g.floats("encoder_weight", [shape.embedding.vocab, E], Float32Array.from(param("encoder.weight"))), x], 1, { axis: { int: 0 } });
  }
  if (ck.normalization) {
    const stats = cfg.data.inputs.map((c) => ck.normalization![c]);
    const mean = g.floats("input_mean", [I], Float32Array.from(stats, (s) => s.mean));
    const std = g.floats("input_std", [I], Float32Array.from(stats, (s) => s.std));
    [inp] = g.node("Div", [g.node("Sub", [x, mean], 1)[0], std], 1);
  }
  if (c) {
    inp = categoricalNodes(g, inp, c, tables.map((t, j) => {
      const w = param(`embed.${j}.weight`);
      return { name: `embed_${j}_weight`, table: Float32Array.from(w), vocab: t.vocab, size: t.size };
    }));
  }
  [inp] = g.node("Transpose", [inp], 1, { perm: { ints: [1, 0, 2] } }); // [time, batch, I']

  // The initial states, broadcast to x's batch, one [1, batch, H] slice per layer.
  const stateShape = (): string => {
    const [batch] = g.node("Slice", [g.node("Shape", [x], 1)[0], g.int64s("zero", [0]), g.int64s("one", [1])], 1);
    return g.node("Concat", [g.int64s("layers", [L]), batch, g.int64s("hidden", [H])], 1, { axis: { int: 0 } })[0];
  };
  const perLayer = (s: string, shapeOf: string): string[] => {
    const [full] = g.node("Expand", [s, shapeOf], 1);
    return L === 1 ? [full] : g.node("Split", [full, g.int64s(`${s}_split`, Array(L).fill(1))], L, { axis: { int: 0 } });
  };
  const shapeOf = lens ? "" : stateShape();
  const h0s = lens ? [] : perLayer(h0, shapeOf), c0s = c0 ? perLayer(c0, shapeOf) : null;

  const attrs: Record<string, Attr> = { hidden_size: { int: H }, layout: { int: 0 } };
  if (lens) attrs.direction = { string: "bidirectional" };
  // ONNX lists the activations per direction (forward's, then reverse's).
  if (oc.attrs.activations) attrs.activations = { strings: Array.from({ length: D }, () => oc.attrs.activations ?? []).flat() };
  if (oc.attrs.linear_before_reset !== undefined) attrs.linear_before_reset = { int: oc.attrs.linear_before_reset };
  const hn: string[] = [], cn: string[] = [];
  for (let k = 0; k < L; k++) {
    const inK = k > 0 ? D * H : shape.embedding ? shape.embedding.size : I0;
    const W = new Float32Array(D * G * H * inK), R = new Float32Array(D * G * H * H);
    const b = new Float32Array(D * 2 * G * H);
    for (let d = 0; d < D; d++) { // forward, then reverse (`_reverse`)
      const sfx = `l${k}${d === 1 ? "_reverse" : ""}`;
      permuteBlocks(param(`rnn.weight_ih_${sfx}`), H, inK, oc.blocks, W, d * G * H * inK);
      permuteBlocks(param(`rnn.weight_hh_${sfx}`), H, H, oc.blocks, R, d * G * H * H);
      if (shape.bias) {
        permuteBlocks(param(`rnn.bias_ih_${sfx}`), H, 1, oc.blocks, b, d * 2 * G * H);
        permuteBlocks(param(`rnn.bias_hh_${sfx}`), H, 1, oc.blocks, b, d * 2 * G * H + G * H);
      }
    }
    const B = shape.bias ? g.floats(`B_l${k}`, [D, 2 * G * H], b) : "";
    const Wk = g.floats(`W_l${k}`, [D, G * H, inK], W), Rk = g.floats(`R_l${k}`, [D, G * H, H], R);
    const inputs = lens ? [inp, Wk, Rk, B, lens] : [inp, Wk, Rk, B, "", h0s[k]];
    if (c0s) inputs.push(c0s[k]);
    const [Y, Yh, Yc] = g.node(oc.op, inputs, isLstm ? 3 : 2, attrs); // Y [time, D, batch, H]
    hn.push(Yh); if (Yc) cn.push(Yc);
    if (lens) { // [time, 2, batch, H] → [time, batch, 2, H] → [time, batch, 2H]
      const [tb] = g.node("Transpose", [Y], 1, { perm: { ints: [0, 2, 1, 3] } });
      [inp] = g.node("Reshape", [tb, g.int64s(`concat_l${k}`, [0, 0, -1])], 1);
    } else {
      [inp] = g.node("Squeeze", [Y, g.int64s(`squeeze_l${k}`, [1])], 1); // [time, batch, H]
    }
  }
  // targetsAt: last: the head reads [h→ at the last step ; h← at step 0] = [hn[-2] ; hn[-1]], [batch, 2H].
  if (summary) {
    const [bh] = g.node("Transpose", [hn[L - 1]], 1, { perm: { ints: [1, 0, 2] } });
    [inp] = g.node("Reshape", [bh, g.int64s("summary_shape", [0, -1])], 1);
  }
  const layerStack = (parts: string[], name: string): void => {
    if (parts.length === 1) g.node("Identity", parts, [name]);
    else g.node("Concat", parts, [name], { axis: { int: 0 } });
  };
  layerStack(hn, "hn");
  if (isLstm) layerStack(cn, "cn");

  // The head, with the un-normalisation of location outputs (μ, ŷ_q, the point forecast) folded
  // in: y = h (W_outᵀ · std) + (b_out · std + mean). Other parameters (σ, ν, α) go through
  // their own nodes after it (SPEC §10: softplus, then σ · std).
  const head = classification ? null : regressionHead(cfg.model);
  const T = cfg.data.targets.length;
  const stats = head ? targetStats({ targets: cfg.data.targets, scaleTargets: head.normalisesTargets }, ck.normalization) : null;
  const folded = (o: number): { std: number; mean: number } => (head && stats && head.forms[Math.floor(o / T)].kind === "location"
    ? stats[o % T] : { std: 1, mean: 0 });
  const Hin = D * H, w = param("head.weight"), wt = new Float32Array(Hin * O);
  for (let o = 0; o < O; o++) for (let j = 0; j < Hin; j++) wt[j * O + o] = w[o * Hin + j] * folded(o).std;
  let [out] = g.node("MatMul", [inp, g.floats("head_weight_t", [Hin, O], wt)], 1);
  if (shape.bias || (stats && ck.normalization)) {
    const b = ck.params.get("head.bias");
    const bias = Float32Array.from({ length: O }, (_, o) => (b ? b[o] : 0) * folded(o).std + folded(o).mean);
    [out] = g.node("Add", [out, g.floats("head_bias", [O], bias)], 1);
  }
  if (head && stats && head.forms.some((f) => f.kind !== "location")) out = parameterNodes(g, out, head.forms, stats);
  const name = classification ? "p" : "y";
  // [time, batch, O] → [batch, time, O]; a summary [batch, O] → [batch, 1, O].
  const batchMajor = (to: string[] | number): string[] => (summary
    ? g.node("Unsqueeze", [out, g.int64s("summary_time", [1])], to)
    : g.node("Transpose", [out], to, { perm: { ints: [1, 0, 2] } }));
  if (classification) {
    [out] = batchMajor(1);
    g.node("Softmax", [out], [name], { axis: { int: -1 } });
  } else {
    batchMajor([name]);
  }
  g.output(name, ["batch", summary ? 1 : "time", O], vocab ? "softmax probabilities of the next token, last axis: the vocabulary (metadata \"vocab\")"
    : classification
    ? `softmax probabilities, last axis: classes ${ck.classes!.join(", ")}`
    : `predictions in original units, last axis: ${head!.predictColumns(cfg.data.targets).join(", ")}`);
  if (lens) {
    g.output("hn", [2 * L, "batch", H], "each layer's final forward then reverse hidden state (PyTorch's h_n)");
    if (isLstm) g.output("cn", [2 * L, "batch", H], "each layer's final forward then reverse cell state (PyTorch's c_n)");
  } else {
    g.output("hn", [L, "batch", H], "each layer's hidden state after the last step (feed back as h0 to continue)");
    if (isLstm) g.output("cn", [L, "batch", H], "each LSTM layer's cell state after the last step (feed back as c0 to continue)");
  }

  const metadata: Record<string, string> = {
    task: cfg.task,
    inputs: JSON.stringify(cfg.data.inputs),
    targets: JSON.stringify(cfg.data.targets),
    ...(ck.classes ? { classes: JSON.stringify(ck.classes) } : {}),
    ...(vocab ? { vocab: JSON.stringify(vocab), tokens: cfg.data.tokens ?? "char" } : {}),
    ...(C > 0 ? { categorical: JSON.stringify(catColumns), categories: JSON.stringify(ck.categories ?? {}) } : {}),
    ...(cfg.data.sequenceColumn !== null ? { sequence_column: cfg.data.sequenceColumn } : {}),
    cell: shape.cell, layers: String(L), hidden_size: String(H),
    ...(lens ? { direction: "bidirectional", targets_at: shape.targetsAt ?? "every" } : {}),
    ...(ck.normalization ? { normalization: JSON.stringify(ck.normalization) } : {}),
    ...(head ? { outputs: JSON.stringify(head.predictColumns(cfg.data.targets)) } : {}),
    ...(cfg.model.likelihood !== null ? { likelihood: cfg.model.likelihood } : {}),
    ...(cfg.model.quantiles !== null ? { quantiles: JSON.stringify(cfg.model.quantiles) } : {}),
  };
  return g.model({
    name: `rnn_${shape.cell}`, opset: OPSET, producerVersion, metadata,
    doc: `${L}-layer ${shape.cell} (H ${H}) ${cfg.task} model exported by rnn from a checkpoint at epoch ${ck.epoch}, step ${ck.step}.`,
  });
}
