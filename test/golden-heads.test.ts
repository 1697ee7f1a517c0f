import { describe, expect, it } from "vitest";
import { rnn } from "./helpers/cli.js";
import { casesIn, checkGoldenCase, GOLDEN_HEADS } from "./helpers/golden.js";

/**
 * Probabilistic forecasts (SPEC §10: gaussian, studentT and negativeBinomial likelihoods, quantile
 * regression; their training loss, eval scores, predict and point-forecast columns, and the inputs
 * they refuse) against the PyTorch reference (test/golden/heads, scripts/golden/make_heads_fixtures.py).
 */
const cases = casesIn(GOLDEN_HEADS);

describe("probabilistic forecasts against the PyTorch reference", () => {
  it("has cases", () => expect(cases.length).toBeGreaterThanOrEqual(7));
  for (const name of cases) {
    it(name, () => checkGoldenCase(name, (args, cwd) => rnn(args, { cwd }), GOLDEN_HEADS));
  }
});
