import type { GradCheckResult } from "../core/gradcheck.js";
import { InputError } from "../errors.js";

/** Grad-check on a config's model and data (needs the data loader of the training issue). */
export async function gradCheckConfig(configPath: string): Promise<GradCheckResult[]> {
  throw new InputError(`${configPath}: grad-check with a config is not available yet`);
}
