import { createReadStream } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { type AuditProblem, type AuditVerification, verifyAuditExport } from '@consentry/core'
import type { JSONWebKeySet } from 'jose'
import { usage } from '../args.ts'
import { type Command, UsageError } from '../io.ts'

/**
 * `consentry audit verify <export.jsonl> --jwks <keys.json>`: verify an audit export offline. Exit 0
 * when it verifies (warnings allowed), 1 when it does not, 2 on usage errors or unreadable inputs.
 */
export const auditVerify: Command = {
  name: ['audit', 'verify'],
  summary: "verify an audit export (JSON Lines) against the holder's public keys",
  usage: `Usage: consentry audit verify <export.jsonl> --jwks <keys.json> [--log-id <id>] [--json]

  Checks the hash chain and the signed checkpoints of an audit export and reports every edited,
  deleted, inserted or reordered event and every forged or mismatching checkpoint, by line.

  --jwks <file>    the holder's JWKS ({"keys":[...]}) or a single public JWK
  --log-id <id>    the log the export must belong to (default: the one in its header)
  --json           print the report as JSON

  Exit status: 0 verified (warnings allowed), 1 tampered or invalid, 2 usage error.
`,
  async run(args, io) {
    const { values, positionals } = usage(() =>
      parseArgs({
        args,
        options: {
          jwks: { type: 'string' },
          'log-id': { type: 'string' },
          json: { type: 'boolean', default: false },
        },
        strict: true,
        allowPositionals: true,
      }),
    )
    if (positionals.length !== 1) throw new UsageError('expected exactly one export file')
    if (!values.jwks) throw new UsageError('--jwks <file> is required')
    const file = positionals[0]!
    const keys = await readJwks(values.jwks)
    await readable(file)
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY })
    const report = await verifyAuditExport(lines, {
      keys,
      ...(values['log-id'] ? { logId: values['log-id'] } : {}),
    })
    io.stdout(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(file, report))
    return report.ok ? 0 : 1
  },
}

async function readable(file: string) {
  const info = await stat(file).catch(() => null)
  if (!info?.isFile()) throw new UsageError(`cannot read ${file}`)
}

/** A JWKS file, or a file holding one JWK. */
async function readJwks(file: string): Promise<JSONWebKeySet> {
  await readable(file)
  let value: unknown
  try {
    value = JSON.parse(await readFile(file, 'utf8'))
  } catch {
    throw new UsageError(`${file} is not JSON`)
  }
  if (typeof value === 'object' && value !== null) {
    if (Array.isArray((value as JSONWebKeySet).keys)) return value as JSONWebKeySet
    if (typeof (value as { kty?: unknown }).kty === 'string')
      return { keys: [value as JSONWebKeySet['keys'][number]] }
  }
  throw new UsageError(`${file} is neither a JWKS ({"keys":[...]}) nor a JWK`)
}

/**
 * The human report.
 *
 * @example
 * ```text
 * audit.jsonl: log "harbor-pay", 12 events, 3 checkpoints, verified through seq 4
 *   error    line 7   seq 6   edited_event  edited event: seq 6's hash does not recompute
 * TAMPERED: 1 error
 * ```
 */
export function formatReport(file: string, report: AuditVerification): string {
  const log = report.logId === undefined ? 'unknown log' : `log "${report.logId}"`
  const out = [
    `${file}: ${log}, ${report.events} events, ${report.checkpoints} checkpoints, verified through seq ${report.verifiedThrough}`,
  ]
  for (const p of report.problems) out.push(`  ${formatProblem(p)}`)
  const errors = report.problems.filter((p) => p.severity === 'error').length
  const warnings = report.problems.length - errors
  const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`
  out.push(
    report.ok
      ? `OK${warnings ? ` with ${count(warnings, 'warning')}` : ''}: the export verifies`
      : `TAMPERED: ${count(errors, 'error')}${warnings ? `, ${count(warnings, 'warning')}` : ''}`,
  )
  return `${out.join('\n')}\n`
}

function formatProblem(p: AuditProblem): string {
  const seq = p.seq === undefined ? '' : `seq ${p.seq}`
  return `${p.severity.padEnd(8)} line ${String(p.line).padEnd(5)} ${seq.padEnd(9)} ${p.code.padEnd(19)} ${p.message}`
}
