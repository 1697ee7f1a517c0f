/**
 * Typed failures. Each carries the place it happened in its message (file, row/column or
 * config key) and the exit code `main` turns it into; nothing else decides exit codes.
 */
export class RnnError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad usage or bad input (a config, a CSV, a checkpoint, a flag): exit 2. */
export class InputError extends RnnError {
  constructor(message: string) { super(message, 2); }
}

/** The job itself failed (divergence, a grad-check mismatch): exit 1. */
export class JobError extends RnnError {
  constructor(message: string) { super(message, 1); }
}

/** The signals that stop a training run after its current update, and their exit codes (128 + number). */
export const STOP_SIGNALS = { SIGINT: 130, SIGTERM: 143, SIGUSR1: 138 } as const;
export type StopSignal = keyof typeof STOP_SIGNALS;

/** Training was stopped by a signal after saving: exit 128 + the signal's number. */
export class Interrupted extends RnnError {
  constructor(readonly signal: StopSignal) {
    super(`stopped by ${signal}; last.safetensors holds the run so far (continue with --resume)`, STOP_SIGNALS[signal]);
  }
}

/**
 * A failure already reported — by another rank of an MPI job (SPEC §9: rank 0 alone prints), or
 * by rank 0 itself before it left the MPI world: this process exits with the code, silently.
 */
export class ReportedElsewhere extends RnnError {
  constructor(exitCode: number) { super("reported by another rank", exitCode); }
}

/**
 * stdout's reader went away (EPIPE: `rnn predict … | head -1`). The command stops quietly with
 * exit 0, as coreutils tools do under a shell (they die of SIGPIPE, which the shell takes for a
 * normal end); Node ignores SIGPIPE, so the stop is this error, caught in main.
 */
export class ReaderGone extends RnnError {
  constructor() { super("stdout's reader went away", 0); }
}

/** The exit code a failure becomes: its own for an RnnError, 1 for anything else (a bug). */
export function exitCodeOf(e: unknown): number {
  return e instanceof RnnError ? e.exitCode : 1;
}

/**
 * What the user is told of a failure on stderr: one line `rnn: …` (with the stack under
 * --debug), or nothing for one reported elsewhere or a quiet stop.
 */
export function failureText(e: unknown, debug: boolean): string {
  if (e instanceof ReportedElsewhere || e instanceof ReaderGone) return "";
  if (e instanceof RnnError) return `rnn: ${e.message}\n${debug && e.stack ? e.stack + "\n" : ""}`;
  const err = e instanceof Error ? e : new Error(String(e));
  return `rnn: internal error: ${err.message}${debug ? "" : " (run with --debug for the stack trace)"}\n${debug && err.stack ? err.stack + "\n" : ""}`;
}
