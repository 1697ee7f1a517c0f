import { fstatSync, readFileSync, statSync } from "node:fs";
import { Writable } from "node:stream";
import { Chalk, type ChalkInstance } from "chalk";
import { InputError, ReaderGone } from "../errors.js";
import { fsError } from "./fserror.js";

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

/**
 * stdout or stderr as the commands see it: a write never throws and never raises an unhandled
 * 'error' (Node's default for a closed pipe is a stack trace and an exit in the middle of a
 * run). After a failure later writes are dropped; what the failure means is read by
 * `writeOut`/`requireStdout`: on stdout EPIPE is the reader going away (a quiet stop), any
 * other error (no space, a closed descriptor) is the user's to fix (exit 2); on stderr every
 * failure is silent, since there is nowhere left to report it.
 */
class Outlet extends Writable {
  /** The reader went away (EPIPE). */
  gone = false;
  /** Why data could not be written; set by the first failed write. */
  failure: Error | null = null;

  /** `closedAtStart`: the descriptor was closed when rnn started (see wasClosed). */
  constructor(private readonly target: NodeJS.WritableStream, readonly name: "stdout" | "stderr", readonly closedAtStart: boolean) {
    super({ decodeStrings: false });
    target.on("error", (e: Error) => this.fail(e));
  }

  private fail(e: Error): void {
    if (this.gone || this.failure) return;
    if (this.name === "stderr" || (e as NodeJS.ErrnoException).code === "EPIPE") this.gone = true;
    else this.failure = fsError(this.name, e, "write error");
  }

  override _write(chunk: string | Buffer, encoding: BufferEncoding, done: (e?: Error | null) => void): void {
    if (this.gone || this.failure || chunk.length === 0) return done();
    if (this.closedAtStart) {
      this.failure = closedStdout();
      return done();
    }
    try {
      // A file or /dev/full target fails inside write(); a pipe reports through the callback.
      this.target.write(typeof chunk === "string" ? Buffer.from(chunk, encoding) : chunk, (e) => {
        if (e) this.fail(e);
        done();
      });
    } catch (e) {
      this.fail(e as Error);
      done();
    }
  }
}

/**
 * A descriptor closed before start (`rnn predict … >&-`): Node opens /dev/null in its place,
 * read-write, before any JavaScript runs. A shell's `>/dev/null` opens it write-only, so a
 * read-write /dev/null on fd 1 is taken for a closed stdout (Linux only: it reads /proc).
 * Python's `stdout=DEVNULL` and Node's `stdio: "ignore"` look the same and are taken for it too.
 */
function wasClosed(fd: number): boolean {
  try {
    const flags = /^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"));
    if (!flags || (parseInt(flags[1], 8) & 3) !== 2) return false;
    const st = fstatSync(fd);
    return st.isCharacterDevice() && st.rdev === statSync("/dev/null").rdev;
  } catch {
    return false;
  }
}

export function processIo(): Io {
  const interactive = process.stderr.isTTY === true;
  const noColor = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== "";
  // A terminal stays the process's own stream (the progress bar moves its cursor); it does
  // not go away under a running command the way a pipe's reader does.
  if (interactive) process.stderr.on("error", () => { /* nowhere left to report it */ });
  return {
    stdout: new Outlet(process.stdout, "stdout", wasClosed(1)),
    stderr: interactive ? process.stderr : new Outlet(process.stderr, "stderr", false),
    stdin: process.stdin, interactive,
    color: new Chalk({ level: interactive && !noColor ? 1 : 0 }),
  };
}

/**
 * Fails now if stdout was closed before rnn started: for a command (train --json) whose data
 * would otherwise be lost only after its work is done.
 */
export function requireStdout(io: Io): void {
  if (io.stdout instanceof Outlet && io.stdout.closedAtStart) throw closedStdout();
}

/** As coreutils says it (`echo x >&-`), with what to do instead. */
function closedStdout(): InputError {
  return new InputError("stdout: write error: bad file descriptor (stdout is closed; to discard the output, use >/dev/null)");
}

/**
 * Writes to stdout and waits until it is written, so piped data is flushed before exit and
 * a long output keeps pace with its reader. Throws ReaderGone once the reader has gone
 * (the command stops quietly), the write error once stdout has failed.
 */
export async function writeOut(io: Io, text: string): Promise<void> {
  const out = io.stdout;
  await new Promise<void>((resolve, reject) => {
    out.write(text, (err) => (err ? reject(err) : resolve()));
  });
  if (out instanceof Outlet) {
    if (out.failure) throw out.failure;
    if (out.gone) throw new ReaderGone();
  }
}

/**
 * Text for stdout gathered into blocks of about 64 KiB, so that a stream of small CSV rows
 * costs few writes; `flush()` (forced: whatever is pending) writes and waits for it, and a
 * reader that went away ends the writer with ReaderGone.
 */
export class BufferedOut {
  private text = "";
  constructor(private readonly io: Io) {}
  add(s: string): void {
    this.text += s;
  }
  async flush(force = false): Promise<void> {
    if (this.text.length === 0 || (!force && this.text.length < 1 << 16)) return;
    const t = this.text; this.text = "";
    await writeOut(this.io, t);
  }
}
