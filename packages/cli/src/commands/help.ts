import type { Command } from '../io.ts'

/**
 * The text of `consentry help`: every command with its summary.
 *
 * @example
 * ```ts
 * io.stdout(helpText(commands))
 * ```
 */
export function helpText(commands: readonly Command[]): string {
  const names = commands.map((c) => c.name.join(' '))
  const width = Math.max(4, ...names.map((n) => n.length))
  const rows = commands.map((c, i) => `  ${names[i]!.padEnd(width)}  ${c.summary}`)
  return `consentry — delegated, scoped, revocable consent for sharing financial history

Usage: consentry <command> [options]
       consentry --version

Commands:
${rows.join('\n')}
  ${'help'.padEnd(width)}  show this help, or a command's: consentry help <command>

Environment:
  DATABASE_URL                     PostgreSQL for audit export and serve (else --data-dir: SQLite)
  CONSENTRY_INITIAL_ACCESS_TOKEN   the registration token for register (and serve)
  CONSENTRY_SIGNING_JWK            serve: the token signing key (a private JWK)
  CONSENTRY_AUDIT_SIGNING_JWK      serve: the audit log's Ed25519 key (a private JWK)
  CONSENTRY_KEY_ENCRYPTION_KEY     serve: encrypts the keys the server keeps in its store
  DEBUG                            serve: trace lines, e.g. consentry:* or consentry:resource

Exit status: 0 success, 1 failure (e.g. a tampered audit export), 2 usage error.
`
}
