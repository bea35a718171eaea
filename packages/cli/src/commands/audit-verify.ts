import { createReadStream } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import {
  type AuditProblem,
  type AuditVerification,
  fromBase64,
  verifyAuditBundle,
  verifyAuditExport,
  verifyCheckpointNote,
  verifyConsistency,
} from '@consentry/core'
import { usage } from '../args.ts'
import { type Command, UsageError } from '../io.ts'
import { verifierKeyFor } from '../jwk.ts'

/**
 * `consentry audit verify`: verify an audit export, an access-log bundle, or the consistency of two
 * checkpoints, offline, with the log's note verifier key. Exit 0 when it verifies, 1 when it does
 * not, 2 on usage errors or unreadable inputs.
 */
export const auditVerify: Command = {
  name: ['audit', 'verify'],
  summary: "verify an audit export, an access-log bundle or two checkpoints' consistency",
  usage: `Usage: consentry audit verify <export.jsonl | bundle.json> --key <verifier key> [--grant <id>] [--json]
       consentry audit verify --consistency <old-checkpoint> <new-checkpoint> --proof <proof.json> --key <verifier key>

  An export (JSON Lines, version 2) or an access-log bundle ({"checkpoint","entries"}) is checked
  against its signed checkpoint: every entry's RFC 9162 inclusion proof, and for exports that every
  index 0…size-1 is there once, in order. Every edited, deleted, inserted or reordered event is
  reported by its leaf index.

  --consistency checks that <new-checkpoint> extends <old-checkpoint> (both signed notes, as served
  by audit_log.checkpoint_endpoint) with the proof from audit_log.consistency_endpoint.

  --key <key>      the log's key, got from the holder (never from the file being checked):
                   its note verifier key, audit_log.verifier_key in the holder's metadata
                   (<origin>+<key id>+<base64 key>), or a file holding its Ed25519 public JWK or
                   a JWKS with it (the audit key's <name>.public.jwks.json from
                   consentry keys generate, or the holder's /jwks): the key whose id signed the
                   checkpoint is used
  --grant <id>     (bundles) every event must be of this grant
  --json           print the report as JSON

  Exit status: 0 verified, 1 tampered or invalid, 2 usage error.
`,
  async run(args, io) {
    const { values, positionals } = usage(() =>
      parseArgs({
        args,
        options: {
          key: { type: 'string' },
          grant: { type: 'string' },
          consistency: { type: 'boolean', default: false },
          proof: { type: 'string' },
          json: { type: 'boolean', default: false },
          jwks: { type: 'string' },
        },
        strict: true,
        allowPositionals: true,
      }),
    )
    if (values.jwks !== undefined)
      throw new UsageError(
        'audit logs are verified with the log\'s note verifier key now: --key "<audit_log.verifier_key>"',
      )
    if (!values.key) throw new UsageError('--key <verifier key> is required (audit_log.verifier_key)')
    const key = values.key
    if (values.consistency) {
      if (positionals.length !== 2 || !values.proof)
        throw new UsageError('--consistency needs <old-checkpoint> <new-checkpoint> and --proof <proof.json>')
      await readable(positionals[0]!)
      const verifierKey = await verifierKeyFor(key, () => readFile(positionals[0]!, 'utf8'))
      return consistency(positionals[0]!, positionals[1]!, values.proof, verifierKey, io)
    }
    if (positionals.length !== 1) throw new UsageError('expected exactly one export or bundle file')
    const file = positionals[0]!
    await readable(file)
    const verifierKey = await verifierKeyFor(key, () => checkpointIn(file))
    const head = (await readFile(file, 'utf8').then((t) => t.slice(0, 64))).trimStart()
    let report: AuditVerification
    if (head.startsWith('{"consentry_audit_export"') || !head.startsWith('{')) {
      const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY })
      report = await verifyAuditExport(lines, { verifierKey })
    } else {
      let bundle: unknown
      try {
        bundle = JSON.parse(await readFile(file, 'utf8'))
      } catch {
        bundle = null
      }
      report = await verifyAuditBundle(bundle, {
        verifierKey,
        ...(values.grant ? { grantId: values.grant } : {}),
      })
    }
    const { verified: _v, ...summary } = report
    io.stdout(values.json ? `${JSON.stringify(summary, null, 2)}\n` : formatReport(file, report))
    return report.ok ? 0 : 1
  },
}

/** The signed checkpoint an export (its first lines) or a bundle carries, if any. */
async function checkpointIn(file: string): Promise<string | undefined> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY })
  let read = 0
  let whole = ''
  try {
    for await (const line of lines) {
      try {
        const checkpoint = (JSON.parse(line) as { checkpoint?: unknown }).checkpoint
        if (typeof checkpoint === 'string') return checkpoint
      } catch {}
      if (read === 0) whole = line
      if (++read >= 3) break
    }
  } finally {
    lines.close()
  }
  // A bundle written over several lines: parse the whole file.
  if (!whole.trimStart().startsWith('{"consentry_audit_export"'))
    try {
      const checkpoint = (JSON.parse(await readFile(file, 'utf8')) as { checkpoint?: unknown }).checkpoint
      return typeof checkpoint === 'string' ? checkpoint : undefined
    } catch {}
  return undefined
}

async function readable(file: string) {
  const info = await stat(file).catch(() => null)
  if (!info?.isFile()) throw new UsageError(`cannot read ${file}`)
}

async function consistency(
  oldFile: string,
  newFile: string,
  proofFile: string,
  verifierKey: string,
  io: Parameters<Command['run']>[1],
): Promise<number> {
  for (const f of [oldFile, newFile, proofFile]) await readable(f)
  const [older, newer] = await Promise.all(
    [oldFile, newFile].map(async (f) => verifyCheckpointNote(await readFile(f, 'utf8'), verifierKey)),
  )
  let proof: Uint8Array[] | null = null
  try {
    const body = JSON.parse(await readFile(proofFile, 'utf8')) as { proof?: unknown }
    const hashes = Array.isArray(body.proof)
      ? body.proof.map((h) => (typeof h === 'string' ? fromBase64(h) : null))
      : null
    proof = hashes?.every((h) => h && h.length === 32) ? (hashes as Uint8Array[]) : null
  } catch {
    proof = null
  }
  const fail = (message: string) => {
    io.stdout(`INCONSISTENT: ${message}\n`)
    return 1
  }
  if (!older!.ok) return fail(`${oldFile}: ${older!.message}`)
  if (!newer!.ok) return fail(`${newFile}: ${newer!.message}`)
  if (!proof) return fail(`${proofFile} is not {"proof": [base64 hashes]}`)
  const [a, b] = [older!.checkpoint, newer!.checkpoint]
  if (!verifyConsistency(a.size, b.size, a.root, b.root, proof))
    return fail(
      `the log of size ${b.size} does not extend the one of size ${a.size}: history was rewritten (or the proof is wrong)`,
    )
  io.stdout(`OK: the checkpoint of size ${b.size} extends the one of size ${a.size} (RFC 9162 consistency)\n`)
  return 0
}

/**
 * The human report.
 *
 * @example
 * ```text
 * audit.jsonl: log "bank.example/audit", checkpoint size 12, 12 entries, verified through 5
 *   error    line 8     index 6     edited_event        edited event: entry 6 is not the leaf …
 * TAMPERED: 1 error
 * ```
 */
export function formatReport(file: string, report: AuditVerification): string {
  const cp = report.checkpoint
  const log = cp ? `log "${cp.origin}", checkpoint size ${cp.size}` : 'no valid checkpoint'
  const out = [`${file}: ${log}, ${report.events} entries, verified through ${report.verifiedThrough}`]
  for (const p of report.problems) out.push(`  ${formatProblem(p)}`)
  const errors = report.problems.filter((p) => p.severity === 'error').length
  const warnings = report.problems.length - errors
  const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`
  out.push(
    report.ok
      ? `OK${warnings ? ` with ${count(warnings, 'warning')}` : ''}: every entry is proven against the signed checkpoint`
      : `TAMPERED: ${count(errors, 'error')}${warnings ? `, ${count(warnings, 'warning')}` : ''}`,
  )
  return `${out.join('\n')}\n`
}

function formatProblem(p: AuditProblem): string {
  const line = p.line === undefined ? '' : `line ${p.line}`
  const index = p.index === undefined ? '' : `index ${p.index}`
  return `${p.severity.padEnd(8)} ${line.padEnd(10)} ${index.padEnd(11)} ${p.code.padEnd(19)} ${p.message}`
}
