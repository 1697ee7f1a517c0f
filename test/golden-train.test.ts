import { describe, expect, it } from "vitest";
import { rnn } from "./helpers/cli.js";
import { checkGoldenCase, goldenCases } from "./helpers/golden.js";

/** Training runs against the PyTorch reference (test/golden/train, scripts/golden/make_train_fixtures.py). */
describe("training runs against the PyTorch reference", () => {
  it("has cases", () => expect(goldenCases.length).toBeGreaterThanOrEqual(5));
  for (const name of goldenCases) {
    it(name, () => checkGoldenCase(name, (args, cwd) => rnn(args, { cwd })));
  }
});
