import { Chalk, type ChalkInstance } from "chalk";

/** The streams a command talks through: data on stdout, people-text on stderr. */
export interface Io {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly stdin: NodeJS.ReadableStream;
  /** stderr is an interactive terminal (progress bars, colour). */
  readonly interactive: boolean;
  /** Colours for stderr: none unless it is a TTY, and never with NO_COLOR. */
  readonly color: ChalkInstance;
}

export function processIo(): Io {
  const interactive = process.stderr.isTTY === true;
  const noColor = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== "";
  return {
    stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, interactive,
    color: new Chalk({ level: interactive && !noColor ? 1 : 0 }),
  };
}

/** Writes to stdout and waits for it to drain, so piped data is flushed before exit. */
export function writeOut(io: Io, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    io.stdout.write(text, (err) => (err ? reject(err) : resolve()));
  });
}
