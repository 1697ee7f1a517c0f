import { alloc, numel, type DType, type Float } from "./tensor.js";

/** One named tensor of the model, in PyTorch's naming (`rnn.weight_ih_l0`, `head.bias`). */
export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /** How a fresh model draws it: uniform (the default; torch's nn.RNN/nn.Linear) or N(0, 1) (torch's nn.Embedding). */
  readonly init?: "uniform" | "normal";
}

/** Where a named tensor lives inside the flat buffers. */
export interface ParamSlot extends ParamSpec {
  readonly offset: number;
  readonly size: number;
}

/**
 * The ordered list of (name, shape) laid out back to back in one flat buffer. The same
 * layout indexes the parameters, their gradients and every optimizer state buffer, so
 * clipping, the optimizers and checkpoint I/O are each one loop.
 */
export class ParamLayout {
  readonly slots: readonly ParamSlot[];
  readonly size: number;
  private readonly byName: ReadonlyMap<string, ParamSlot>;

  constructor(specs: readonly ParamSpec[]) {
    let offset = 0;
    const slots: ParamSlot[] = [];
    for (const s of specs) {
      const size = numel(s.shape);
      slots.push({ ...s, shape: [...s.shape], offset, size });
      offset += size;
    }
    this.slots = slots;
    this.size = offset;
    this.byName = new Map(slots.map((s) => [s.name, s]));
  }

  slot(name: string): ParamSlot {
    const s = this.byName.get(name);
    if (!s) throw new Error(`no parameter named ${name}`);
    return s;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** A view of `name` inside a buffer laid out by this layout. */
  view(buf: Float, name: string): Float {
    const s = this.slot(name);
    return buf.subarray(s.offset, s.offset + s.size);
  }

  alloc(dtype: DType): Float {
    return alloc(dtype, this.size);
  }
}
