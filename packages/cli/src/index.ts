/**
 * `@consentry/cli` — the `consentry` command. `main` is the whole program minus the process: it takes
 * the arguments and an {@link Io}, and resolves to the exit code.
 *
 * @example
 * ```ts
 * import { main } from '@consentry/cli'
 * process.exitCode = await main(process.argv.slice(2))
 * ```
 */

import cliPackage from '../package.json' with { type: 'json' }
import { helpText } from './commands/help.ts'
import { commands } from './commands/index.ts'
import { type Command, type Io, processIo, UsageError } from './io.ts'

export { formatReport } from './commands/audit-verify.ts'
export { commands } from './commands/index.ts'
export type { Command, Io } from './io.ts'
export { UsageError } from './io.ts'

/** The version of `@consentry/cli` (what `consentry --version` prints). */
export const VERSION: string = cliPackage.version

/**
 * Run `consentry` with `argv` (without the node and script paths). Exit codes: 0 success, 1 failure
 * (a tampered export, an unexpected error), 2 usage error.
 *
 * @example
 * ```ts
 * const code = await main(['audit', 'verify', 'audit.jsonl', '--key', verifierKey])
 * ```
 */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  const args = [...argv]
  if (args.length === 0) {
    io.stderr(helpText(commands))
    return 2
  }
  if (args[0] === '--version' || args[0] === '-v' || args[0] === 'version') {
    io.stdout(`${VERSION}\n`)
    return 0
  }
  if (args[0] === 'help' || args[0] === '--help' || args[0] === '-h') {
    const topic = args.slice(1)
    if (topic.length === 0) {
      io.stdout(helpText(commands))
      return 0
    }
    const command = select(topic)
    if (!command) return unknown(topic, io)
    io.stdout(command.usage)
    return 0
  }
  const command = select(args)
  if (!command) return unknown(args, io)
  const rest = args.slice(command.name.length)
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(command.usage)
    return 0
  }
  try {
    return await command.run(rest, io)
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`consentry ${command.name.join(' ')}: ${error.message}\n\n${command.usage}`)
      return 2
    }
    io.stderr(
      `consentry ${command.name.join(' ')}: ${error instanceof Error ? error.message : String(error)}\n`,
    )
    return 1
  }
}

/** The command whose name words start `args`, the longest such. */
function select(args: readonly string[]): Command | undefined {
  return [...commands]
    .sort((a, b) => b.name.length - a.name.length)
    .find((c) => c.name.every((word, i) => args[i] === word))
}

function unknown(args: readonly string[], io: Io): number {
  io.stderr(`consentry: unknown command "${args.join(' ')}"\n\n${helpText(commands)}`)
  return 2
}
