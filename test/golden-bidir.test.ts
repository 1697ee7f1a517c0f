import { describe, expect, it } from "vitest";
import { rnn } from "./helpers/cli.js";
import { casesIn, checkGoldenCase, GOLDEN_BIDIR } from "./helpers/golden.js";

/**
 * Bidirectional layers (SPEC §13) against PyTorch's nn.RNN/LSTM/GRU(bidirectional=True) on
 * pack_padded_sequence batches (test/golden/bidir, scripts/golden/make_bidir_fixtures.py):
 * training (weights and updates.csv), eval --json and predict (one row per sequence under
 * targetsAt: last), at 1e-9 in float64.
 */
const cases = casesIn(GOLDEN_BIDIR);

describe("bidirectional layers against the PyTorch reference", () => {
  it("has cases", () => expect(cases.length).toBeGreaterThanOrEqual(6));
  for (const name of cases) {
    it(name, () => checkGoldenCase(name, (args, cwd) => rnn(args, { cwd }), GOLDEN_BIDIR));
  }
});
