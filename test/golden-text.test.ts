import { describe, expect, it } from "vitest";
import { rnn } from "./helpers/cli.js";
import { casesIn, checkGoldenCase, GOLDEN_TEXT } from "./helpers/golden.js";

/**
 * Text language models (SPEC §12: data.text, char and word tokens, non-ASCII code points,
 * validation text and split, eval, sample greedy and --probs) against the PyTorch reference
 * (test/golden/text, scripts/golden/make_text_fixtures.py): nn.Embedding + cell + nn.Linear,
 * cross-entropy, float64, at 1e-9.
 */
const cases = casesIn(GOLDEN_TEXT);

describe("text language models against the PyTorch reference", () => {
  it("has cases", () => expect(cases.length).toBeGreaterThanOrEqual(3));
  for (const name of cases) {
    it(name, () => checkGoldenCase(name, (args, cwd) => rnn(args, { cwd }), GOLDEN_TEXT));
  }
});
