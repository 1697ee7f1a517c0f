/**
 * rnn as a library: `import { loadModel, train } from "rnn"`. The same core as the CLI, in
 * process: `loadModel` predicts, forecasts and steps a checkpoint's model without writing
 * anything; `train` runs a training as `rnn train` does, with progress events and an AbortSignal.
 */
export { loadModel, type Model, type Row, type State } from "./api/model.js";
export { train, type EpochInfo, type TrainOptions, type TrainResult } from "./api/train.js";
export { InputError, JobError, RnnError } from "./errors.js";
