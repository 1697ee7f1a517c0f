/** The nonlinearities Φ of an Elman layer (`model.activation`). */
export type ActivationName = "tanh" | "relu" | "sigmoid";

/**
 * Φ and its derivative written in terms of Φ's output y = Φ(x), which is what the
 * forward pass keeps: tanh' = 1 − y², sigmoid' = y(1 − y), relu' = [y > 0]
 * (PyTorch's choice at 0).
 */
export interface Activation {
  readonly name: ActivationName;
  apply(x: number): number;
  gradFromOutput(y: number): number;
}

export const activations: Readonly<Record<ActivationName, Activation>> = {
  tanh: { name: "tanh", apply: Math.tanh, gradFromOutput: (y) => 1 - y * y },
  relu: { name: "relu", apply: (x) => (x > 0 ? x : 0), gradFromOutput: (y) => (y > 0 ? 1 : 0) },
  sigmoid: {
    name: "sigmoid",
    apply: (x) => 1 / (1 + Math.exp(-x)),
    gradFromOutput: (y) => y * (1 - y),
  },
};

export const activationNames = Object.keys(activations) as ActivationName[];
