import { describe, expect, it } from "vitest";
import { rnn } from "./helpers/cli.js";
import { casesIn, checkGoldenCase, GOLDEN_CATEGORICAL } from "./helpers/golden.js";

/**
 * Categorical inputs (SPEC §11: categories sorted as classes are, index 0 unseen or missing,
 * `embed.{j}.weight` tables trained with the model, several columns, default sizes, the
 * sequence column as a category) against the PyTorch reference (test/golden/categorical,
 * scripts/golden/make_categorical_fixtures.py): training weights, updates and epochs at 1e-9,
 * predict and eval of the trained model on data with unseen categories and a missing cell, the
 * stderr count of unseen cells, and grad-check of the config's model (its tables included).
 */
const cases = casesIn(GOLDEN_CATEGORICAL);

describe("categorical inputs against the PyTorch reference", () => {
  it("has cases", () => expect(cases.length).toBeGreaterThanOrEqual(2));
  for (const name of cases) {
    it(name, () => checkGoldenCase(name, (args, cwd) => rnn(args, { cwd }), GOLDEN_CATEGORICAL));
  }
});
