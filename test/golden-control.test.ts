import { describe, expect, it } from "vitest";
import { rnn } from "./helpers/cli.js";
import { casesIn, checkGoldenCase, GOLDEN_CONTROL } from "./helpers/golden.js";

/**
 * Training control (SPEC §6: weightDecay, adamw, schedules, early stopping, validation metrics,
 * missing values, --set) and forecasting (SPEC §7) against the PyTorch reference
 * (test/golden/control, scripts/golden/make_control_fixtures.py).
 */
const cases = casesIn(GOLDEN_CONTROL);

describe("training control and forecasting against the PyTorch reference", () => {
  it("has cases", () => expect(cases.length).toBeGreaterThanOrEqual(10));
  for (const name of cases) {
    it(name, () => checkGoldenCase(name, (args, cwd) => rnn(args, { cwd }), GOLDEN_CONTROL));
  }
});
