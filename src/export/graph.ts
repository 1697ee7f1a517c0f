import onnxProto from "onnx-proto";

/**
 * A small builder of ONNX graphs over the `onnx-proto` message classes (the generated
 * protobuf code of onnx.proto): initializers, nodes, typed inputs and outputs. It knows
 * nothing about recurrent networks; src/export/model.ts says what the graph computes.
 */
export const onnx = onnxProto.onnx;
export type ModelProto = onnxProto.onnx.ModelProto;

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const INT32 = onnx.TensorProto.DataType.INT32;

/** A dimension: a fixed size, or a name for a size given at run time (`batch`, `time`). */
export type Dim = number | string;

/** An attribute value as ONNX types it: an int, a float, a string or a list of ints or strings. */
export type Attr = { int: number } | { float: number } | { string: string } | { ints: readonly number[] } | { strings: readonly string[] };

function attribute(name: string, a: Attr): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
  if ("int" in a) return { name, type: T.INT, i: a.int };
  if ("float" in a) return { name, type: T.FLOAT, f: a.float };
  if ("string" in a) return { name, type: T.STRING, s: utf8(a.string) };
  if ("ints" in a) return { name, type: T.INTS, ints: [...a.ints] };
  return { name, type: T.STRINGS, strings: a.strings.map(utf8) };
}

function valueInfo(name: string, dims: readonly Dim[], doc: string, elemType: number = FLOAT): onnxProto.onnx.IValueInfoProto {
  return {
    name, docString: doc,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** Bytes of a typed array as stored in TensorProto.raw_data (little-endian, as every platform Node runs on). */
const rawBytes = (a: Float32Array | BigInt64Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export class GraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private count = 0;

  /** A float32 constant of shape `dims`; returns its name. */
  floats(name: string, dims: readonly number[], data: Float32Array): string {
    if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`${name}: ${data.length} values for shape [${dims.join(", ")}]`);
    this.initializers.push({ name, dims: [...dims], dataType: FLOAT, rawData: rawBytes(data) });
    return name;
  }

  /** A 1-D int64 constant (shapes, axes, split sizes); returns its name. */
  int64s(name: string, values: readonly number[]): string {
    this.initializers.push({ name, dims: [values.length], dataType: INT64, rawData: rawBytes(BigInt64Array.from(values, BigInt)) });
    return name;
  }

  /**
   * A float32 graph input; with `byDefault` (its value when the caller gives none) also an
   * initializer of the same name — ONNX's optional input (IR ≥ 4: an overridable initializer).
   */
  input(name: string, dims: readonly Dim[], doc: string, byDefault?: { dims: readonly number[]; data: Float32Array }): string {
    this.inputs.push(valueInfo(name, dims, doc));
    if (byDefault) this.floats(name, byDefault.dims, byDefault.data);
    return name;
  }

  /** An int32 graph input (a bidirectional model's `sequence_lens`). */
  int32Input(name: string, dims: readonly Dim[], doc: string): string {
    this.inputs.push(valueInfo(name, dims, doc, INT32));
    return name;
  }

  /** An int64 graph input (token ids). */
  int64Input(name: string, dims: readonly Dim[], doc: string): string {
    this.inputs.push(valueInfo(name, dims, doc, INT64));
    return name;
  }

  output(name: string, dims: readonly Dim[], doc: string): void {
    this.outputs.push(valueInfo(name, dims, doc));
  }

  /**
   * Adds a node; `outputs` are names, or a number of fresh names to make. An empty input name
   * leaves an optional input out. Returns the output names.
   */
  node(op: string, inputs: readonly string[], outputs: readonly string[] | number, attrs: Readonly<Record<string, Attr>> = {}): string[] {
    const id = this.count++;
    const outs = typeof outputs === "number" ? Array.from({ length: outputs }, (_, i) => `${op.toLowerCase()}${id}_${i}`) : [...outputs];
    this.nodes.push({
      name: `${op}_${id}`, opType: op, input: [...inputs], output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** The model: this graph, the default-domain opset, IR version 8 and string metadata. */
  model(o: { name: string; opset: number; producerVersion: string; doc: string; metadata: Readonly<Record<string, string>> }): ModelProto {
    return onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: "", version: o.opset }],
      producerName: "rnn", producerVersion: o.producerVersion, docString: o.doc,
      graph: {
        name: o.name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs,
      },
      metadataProps: Object.entries(o.metadata).map(([key, value]) => ({ key, value })),
    });
  }
}

/** The model as the bytes of an .onnx file. */
export function encodeModel(m: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(m).finish();
}
