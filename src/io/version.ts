import { readFileSync } from "node:fs";

/** rnn's version, from its package.json (two folders up from this file in src/ and in dist/). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}
