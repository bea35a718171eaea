/**
 * Offline verification of audit-log bundles and exports against the log's signed checkpoint.
 *
 * ## Entries
 *
 * Both formats carry entries `{ "index": n, "leaf": "<base64 leaf bytes>", "proof": ["<base64>", …] }`:
 * the leaf bytes are the event's RFC 8785 canonical JSON, `proof` its RFC 9162 §2.1.3 inclusion proof
 * against the checkpoint (a C2SP signed note: origin, size, base64 root). Each entry verifies on its
 * own, so a tampered entry is located exactly: its index.
 *
 * ## Bundle (a person's or a recipient's access log)
 *
 * `{ "checkpoint": "<signed note>", "entries": [...], "next"?: "<url>" }` — the events of one grant,
 * in index order.
 *
 * ## Export (`consentry_audit_export` version 2), JSON Lines
 *
 * ```text
 * {"consentry_audit_export":2,"origin":"harbor.example/audit","verifier_key":"harbor.example/audit+…"}
 * {"checkpoint":"harbor.example/audit\n42\n…=\n\n— harbor.example/audit …=\n"}
 * {"index":0,"leaf":"eyJ…","proof":["…","…"]}
 * …                                                   ← every index 0 … size-1, in order
 * ```
 */
import type { AuditLeaf } from '../audit-event.ts'
import { parseAuditLeaf } from './leaf.ts'
import { type Hash, leafHash, verifyInclusion } from './merkle.ts'
import { fromBase64, type LogCheckpoint, verifyCheckpointNote } from './note.ts'

/** The version number in the export header line. */
export const AUDIT_EXPORT_VERSION = 2

/** One entry of a bundle or export. */
export interface AuditLogEntry {
  /** The leaf index of the event. */
  index: number
  /** Standard base64 (with padding) of the leaf bytes (the event's canonical JSON). */
  leaf: string
  /** Inclusion proof, standard base64 hashes, leaf to root. */
  proof: string[]
}

/** A verifiable access log: the events of one grant with proofs against one checkpoint. */
export interface AuditLogBundle {
  /** The signed checkpoint note every proof leads to. */
  checkpoint: string
  /** The grant's events, each with its inclusion proof. */
  entries: AuditLogEntry[]
  /** The next page, when there are more than fit in one response. */
  next?: string
}

/** What the verifier can report. All are errors except `uncovered_events`, a warning. */
export const AUDIT_PROBLEM_CODES = [
  'edited_event',
  'deleted_event',
  'inserted_event',
  'reordered_events',
  'truncated_tail',
  'forged_checkpoint',
  'unknown_key',
  'malformed_line',
  'wrong_log',
  'foreign_event',
  'uncovered_events',
] as const
/** One of the {@link AUDIT_PROBLEM_CODES}. */
export type AuditProblemCode = (typeof AUDIT_PROBLEM_CODES)[number]

/** One thing the verifier found wrong with an export or bundle. */
export interface AuditProblem {
  /** Stable code: see docs/errors.md. */
  code: AuditProblemCode
  /** `error` makes the verification fail; `warning` does not. */
  severity: 'error' | 'warning'
  /** 1-based line of an export (absent for bundles). */
  line?: number
  /** The leaf index concerned (for `deleted_event`/`truncated_tail`: the first missing one). */
  index?: number
  /** A sentence for a person (never trusted input echoed verbatim). */
  message: string
}

/** What {@link verifyAuditExport} and {@link verifyAuditBundle} report. */
export interface AuditVerification {
  /** `true` when there is no error. */
  ok: boolean
  /** The verified checkpoint (absent if it did not verify). */
  checkpoint?: LogCheckpoint
  /** Entries read. */
  events: number
  /**
   * Exports: the count N such that leaves 0…N-1 are all present, in order and proven. Bundles: the
   * number of entries proven.
   */
  verifiedThrough: number
  /** The proven events, in index order (with their index). */
  verified: (AuditLeaf & {
    /** The event's leaf index. */
    index: number
  })[]
  /** Everything found wrong, in the order found. */
  problems: AuditProblem[]
}

/** Options of {@link verifyAuditExport}. */
export interface VerifyAuditOptions {
  /**
   * The log's note verifier key (`audit_log.verifier_key` in the holder's metadata), obtained
   * independently of the file: a key read from the file itself proves nothing.
   */
  verifierKey: string
}

/** Options of {@link verifyAuditBundle}. */
export interface VerifyBundleOptions extends VerifyAuditOptions {
  /** Every entry must belong to this grant (its `grant_id`). */
  grantId?: string
}

type Report = (code: AuditProblemCode, message: string, where?: { line?: number; index?: number }) => void

function reporter(problems: AuditProblem[]): Report {
  return (code, message, where = {}) =>
    problems.push({
      code,
      severity: code === 'uncovered_events' ? 'warning' : 'error',
      ...(where.line === undefined ? {} : { line: where.line }),
      ...(where.index === undefined ? {} : { index: where.index }),
      message,
    })
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

async function checkCheckpoint(note: unknown, verifierKey: string, report: Report, line?: number) {
  if (typeof note !== 'string') {
    report('malformed_line', 'no checkpoint', { line })
    return undefined
  }
  const check = await verifyCheckpointNote(note, verifierKey)
  if (check.ok) return check.checkpoint
  if (check.reason === 'unknown_key')
    report('unknown_key', `checkpoint not signed by the log's key: ${check.message}`, { line })
  else if (check.reason === 'bad_signature')
    report('forged_checkpoint', `forged checkpoint: ${check.message}`, { line })
  else if (check.reason === 'wrong_origin') report('wrong_log', check.message, { line })
  else report('malformed_line', `unreadable checkpoint: ${check.message}`, { line })
  return undefined
}

/** Check one entry against the checkpoint; returns the event or null (and reports why). */
function checkEntry(
  value: unknown,
  checkpoint: LogCheckpoint,
  report: Report,
  line?: number,
): { index: number; event: AuditLeaf | null } | null {
  if (!isObject(value) || !Number.isSafeInteger(value.index) || (value.index as number) < 0) {
    report('malformed_line', 'not an entry { index, leaf, proof }', { line })
    return null
  }
  const index = value.index as number
  const leaf = typeof value.leaf === 'string' ? fromBase64(value.leaf) : null
  const proof = Array.isArray(value.proof)
    ? value.proof.map((p) => (typeof p === 'string' ? fromBase64(p) : null))
    : null
  if (!leaf || !proof || proof.some((p) => !p || p.length !== 32)) {
    report('malformed_line', `entry ${index}: leaf or proof is not standard base64`, { line, index })
    return { index, event: null }
  }
  if (index >= checkpoint.size) {
    report('inserted_event', `entry ${index} is beyond the checkpoint's ${checkpoint.size} leaves`, {
      line,
      index,
    })
    return { index, event: null }
  }
  if (!verifyInclusion(leafHash(leaf), index, checkpoint.size, proof as Hash[], checkpoint.root)) {
    report(
      'edited_event',
      `edited event: entry ${index} is not the leaf the checkpoint commits to at that index`,
      {
        line,
        index,
      },
    )
    return { index, event: null }
  }
  const event = parseAuditLeaf(leaf)
  if (!event) {
    report('malformed_line', `entry ${index}: the proven leaf is not a canonical audit event`, {
      line,
      index,
    })
    return { index, event: null }
  }
  return { index, event }
}

/**
 * Verify an access-log bundle (`GET /consents/{id}/access-log`, `GET /grants/{id}/access-log`)
 * offline: the checkpoint's signature, every entry's inclusion proof, index order, and (with
 * `grantId`) that every event is of that grant. Pure; never throws.
 *
 * @example
 * ```ts
 * const report = await verifyAuditBundle(bundle, { verifierKey: metadata.audit_log.verifier_key, grantId })
 * if (!report.ok) for (const p of report.problems) console.log(p.index, p.code, p.message)
 * ```
 */
export async function verifyAuditBundle(
  bundle: unknown,
  options: VerifyBundleOptions,
): Promise<AuditVerification> {
  const problems: AuditProblem[] = []
  const report = reporter(problems)
  const verified: AuditVerification['verified'] = []
  if (!isObject(bundle) || !Array.isArray(bundle.entries)) {
    report('malformed_line', 'not a bundle { checkpoint, entries }')
    return { ok: false, events: 0, verifiedThrough: 0, verified, problems }
  }
  const checkpoint = await checkCheckpoint(bundle.checkpoint, options.verifierKey, report)
  if (checkpoint) {
    let last = -1
    for (const value of bundle.entries) {
      const checked = checkEntry(value, checkpoint, report)
      if (!checked) continue
      if (checked.index <= last)
        report('reordered_events', `entry ${checked.index} comes after entry ${last}`, {
          index: checked.index,
        })
      last = Math.max(last, checked.index)
      if (!checked.event) continue
      if (options.grantId !== undefined && checked.event.grant_id !== options.grantId) {
        report('foreign_event', `entry ${checked.index} is not an event of grant ${options.grantId}`, {
          index: checked.index,
        })
        continue
      }
      verified.push({ ...checked.event, index: checked.index })
    }
  }
  return {
    ok: problems.length === 0,
    ...(checkpoint ? { checkpoint } : {}),
    events: bundle.entries.length,
    verifiedThrough: verified.length,
    verified,
    problems,
  }
}

/** The header line of an export. */
export function formatExportHeader(origin: string, verifierKey: string): string {
  return JSON.stringify({ consentry_audit_export: AUDIT_EXPORT_VERSION, origin, verifier_key: verifierKey })
}

/** An export's text: the whole JSON Lines string, or its lines one by one (sync or async, e.g. a file stream). */
export type Input = string | Iterable<string> | AsyncIterable<string>

/**
 * Verify an audit export (JSON Lines, version 2) offline: the checkpoint's signature, then every
 * entry's inclusion proof, and that indexes 0 … size-1 each appear once, in order. Tampering is
 * located exactly: an edited event fails its own proof (`edited_event` at its index), a removed one
 * leaves a gap (`deleted_event`), a cut tail ends early (`truncated_tail`), duplicates and
 * out-of-order entries are `inserted_event` / `reordered_events`. Pure; never throws.
 *
 * @example
 * ```ts
 * const report = await verifyAuditExport(await readFile('audit.jsonl', 'utf8'), { verifierKey })
 * if (!report.ok) for (const p of report.problems) console.log(p.line, p.index, p.code, p.message)
 * ```
 */
export async function verifyAuditExport(
  input: Input,
  options: VerifyAuditOptions,
): Promise<AuditVerification> {
  const problems: AuditProblem[] = []
  const report = reporter(problems)
  const verified: AuditVerification['verified'] = []
  let checkpoint: LogCheckpoint | undefined
  let sawHeader = false
  let sawCheckpoint = false
  let events = 0
  let expected = 0
  let contiguous = true
  let verifiedThrough = 0
  const seen = new Set<number>()
  for await (const { line, text } of numberedLines(input)) {
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      report('malformed_line', 'not JSON', { line })
      continue
    }
    if (!sawHeader) {
      sawHeader = true
      if (!isObject(value) || value.consentry_audit_export !== AUDIT_EXPORT_VERSION) {
        report('malformed_line', `not a version ${AUDIT_EXPORT_VERSION} audit export header`, { line })
      }
      if (isObject(value) && 'consentry_audit_export' in value) continue
    }
    if (isObject(value) && 'checkpoint' in value) {
      if (sawCheckpoint) {
        report('malformed_line', 'a second checkpoint', { line })
        continue
      }
      sawCheckpoint = true
      checkpoint = await checkCheckpoint(value.checkpoint, options.verifierKey, report, line)
      continue
    }
    events++
    if (!sawCheckpoint) {
      report('malformed_line', 'an entry before the checkpoint line', { line })
      continue
    }
    if (!checkpoint) continue
    const checked = checkEntry(value, checkpoint, report, line)
    if (!checked) {
      contiguous = false
      continue
    }
    const { index } = checked
    if (seen.has(index)) {
      report('inserted_event', `entry ${index} appears twice`, { line, index })
      contiguous = false
      continue
    }
    if (index < expected) {
      report('reordered_events', `entry ${index} is out of place (after entry ${expected - 1})`, {
        line,
        index,
      })
      contiguous = false
    } else if (index > expected) {
      const missing = index - expected === 1 ? `entry ${expected} is` : `entries ${expected}–${index - 1} are`
      report('deleted_event', `deleted event: ${missing} missing`, { line, index: expected })
      contiguous = false
    }
    seen.add(index)
    expected = Math.max(expected, index + 1)
    if (!checked.event) {
      contiguous = false
      continue
    }
    verified.push({ ...checked.event, index })
    if (contiguous) verifiedThrough = index + 1
  }
  if (!sawCheckpoint) report('malformed_line', 'the export has no checkpoint line')
  if (checkpoint) {
    if (expected < checkpoint.size)
      report(
        'truncated_tail',
        `the checkpoint covers ${checkpoint.size} events but the export ends at entry ${expected - 1}: ${checkpoint.size - expected} missing`,
        { index: expected },
      )
  }
  verified.sort((a, b) => a.index - b.index)
  problems.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.index ?? 0) - (b.index ?? 0))
  return {
    ok: !problems.some((p) => p.severity === 'error'),
    ...(checkpoint ? { checkpoint } : {}),
    events,
    verifiedThrough,
    verified,
    problems,
  }
}

/** Lines with their 1-based numbers, blank lines skipped (but counted). */
async function* numberedLines(input: Input): AsyncGenerator<{ line: number; text: string }> {
  let line = 0
  const items: Iterable<string> | AsyncIterable<string> =
    typeof input === 'string' ? input.replace(/\r?\n$/, '').split('\n') : input
  for await (const item of items) {
    const texts = typeof item === 'string' ? item.replace(/\r?\n$/, '').split('\n') : ['\u0000']
    for (const raw of texts) {
      line++
      const text = raw.replace(/\r$/, '')
      if (text.trim() !== '') yield { line, text }
    }
  }
}
