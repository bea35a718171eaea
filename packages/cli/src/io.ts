import { once } from 'node:events'

/** Where a command writes. Tests pass their own; the binary writes to the process streams. */
export interface Io {
  /** Write normal output (reports, help). */
  stdout(text: string): void
  /** Write errors and usage. */
  stderr(text: string): void
  /** Resolves once stdout can take more (long outputs wait on it between chunks). Optional. */
  drain?(): Promise<void>
}

/** The process's stdout and stderr. */
export const processIo: Io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  drain: () =>
    process.stdout.writableNeedDrain ? once(process.stdout, 'drain').then(() => {}) : Promise.resolve(),
}

/** A mistake in how the command was called (exit code 2): shown with the command's usage. */
export class UsageError extends Error {
  /** Always `UsageError`. */
  override name = 'UsageError'
}

/** A command of the `consentry` binary, e.g. `audit verify`. */
export interface Command {
  /** The words that select it: `['audit', 'verify']`. */
  name: readonly string[]
  /** One line for `consentry help`. */
  summary: string
  /** Full usage text for `consentry help <command>` and usage errors. */
  usage: string
  /** Runs with the arguments after the command's name; resolves to the exit code. */
  run(args: string[], io: Io): Promise<number>
}
