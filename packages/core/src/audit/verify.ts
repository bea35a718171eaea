/**
 * The offline verifier for audit exports.
 *
 * ## Export format (`consentry_audit_export` version 1)
 *
 * JSON Lines (UTF-8, one JSON value per line, `\n` separated; `\r\n` and blank lines are tolerated):
 *
 * ```text
 * {"consentry_audit_export":1,"log_id":"harbor-pay"}          ← line 1: the header
 * {"seq":1,"id":"evt_…","at":"…","type":"grant.created",…}    ← an AuditEvent, exactly as stored
 * {"seq":2,…}
 * {"checkpoint":"eyJ0eXAiOiJjb25zZW50cnktY2hlY2twb2ludCtqd3QiLC…"}   ← a signed checkpoint
 * {"seq":3,…}
 * ```
 *
 * - Events come in `seq` order, starting at 1. Each carries `prev_hash` (the previous event's `hash`,
 *   64 zeros for seq 1) and `hash` = SHA-256 over the RFC 8785 canonical JSON of every other member.
 * - A checkpoint line sits right after the event it covers (payload `size` = that event's seq). Its
 *   JWS (`typ: consentry-checkpoint+jwt`) signs `{ log_id, size, head, time, prev }`, and `prev` is
 *   the SHA-256 hex of the previous checkpoint's JWS string, so checkpoints form a chain of their own.
 *
 * ## What is detected
 *
 * Every finding names the 1-based `line` of the file and, where it applies, the `seq` concerned.
 * Errors make `ok` false; `uncovered_events` is a warning: events after the last valid checkpoint are
 * only protected by the hash chain, so deleting them (a cut tail) cannot be noticed from the file
 * alone — compare with the latest checkpoint the holder published or sent you.
 */
import { base64url, type JSONWebKeySet } from 'jose'
import { type AuditEvent, auditEventSchema, GENESIS_HASH } from '../audit-event.ts'
import { hashEvent } from './chain.ts'
import { type CheckpointPayload, checkpointDigest, verifyCheckpoint } from './checkpoint.ts'

/** The version number in the export header line. */
export const AUDIT_EXPORT_VERSION = 1

/** What the verifier can report. All are errors except `uncovered_events`, a warning. */
export const AUDIT_PROBLEM_CODES = [
  'edited_event',
  'deleted_event',
  'inserted_event',
  'reordered_events',
  'truncated_tail',
  'forged_checkpoint',
  'unknown_key',
  'checkpoint_mismatch',
  'malformed_line',
  'wrong_log',
  'uncovered_events',
] as const
export type AuditProblemCode = (typeof AUDIT_PROBLEM_CODES)[number]

export interface AuditProblem {
  code: AuditProblemCode
  severity: 'error' | 'warning'
  /** 1-based line of the export the finding points at. */
  line: number
  /** The event sequence number concerned (for `deleted_event`: the first missing seq). */
  seq?: number
  message: string
}

export interface AuditVerification {
  /** `true` when there is no error (warnings allowed). */
  ok: boolean
  /** The `log_id` checked against (from `options.logId`, else the header). */
  logId?: string
  /** Event lines in the export. */
  events: number
  /** Checkpoint lines in the export. */
  checkpoints: number
  /**
   * The highest seq N such that events 1..N are all present, intact and in order, and a valid signed
   * checkpoint commits to event N. 0 if none.
   */
  verifiedThrough: number
  /** Findings, ordered by line. */
  problems: AuditProblem[]
}

export interface VerifyAuditExportOptions {
  /** Public keys the checkpoints may be signed with (the holder's JWKS, or just its audit key). */
  keys: JSONWebKeySet
  /** The log the export must belong to; defaults to the header's `log_id`. */
  logId?: string
}

/** The header line of an export. @example `formatExportHeader('harbor-pay')` */
export function formatExportHeader(logId: string): string {
  return JSON.stringify({ consentry_audit_export: AUDIT_EXPORT_VERSION, log_id: logId })
}

/** A checkpoint line of an export. @example `formatCheckpointLine(stored.jws)` */
export function formatCheckpointLine(jws: string): string {
  return JSON.stringify({ checkpoint: jws })
}

/** An event line as parsed: enough to place it in the chain even if it fails the schema. */
interface EventLine {
  line: number
  /** Position among event lines, in file order. */
  index: number
  seq: number
  claimedSeq: number
  prevHash: string
  hash: string
  /** `hash` recomputes from the other members. */
  intact: boolean
  schemaError?: string
}

interface CheckpointLine {
  line: number
  jws: string
  payload?: CheckpointPayload
  /** Signature verified and `log_id` matches. */
  trusted: boolean
  /** Trusted and its head matches the event at `size`. */
  confirmed: boolean
}

type Input = string | Iterable<string> | AsyncIterable<string>

/**
 * Verify an audit export offline: the hash chain, the checkpoints' signatures and chain, and that
 * every checkpoint matches the events. Pure (Web Crypto + jose, no I/O) and never throws on bad
 * input: garbage lines are reported as `malformed_line`.
 *
 * `input` is the whole file as a string, or its lines (an array, a generator, or an async iterable
 * such as `readline` over a file stream or `trail.export()`).
 *
 * @example
 * ```ts
 * const report = await verifyAuditExport(await readFile('audit.jsonl', 'utf8'), { keys: jwks })
 * if (!report.ok) for (const p of report.problems) console.log(p.line, p.seq, p.code, p.message)
 * ```
 */
export async function verifyAuditExport(
  input: Input,
  options: VerifyAuditExportOptions,
): Promise<AuditVerification> {
  const problems: AuditProblem[] = []
  const report = (code: AuditProblemCode, line: number, message: string, seq?: number) =>
    problems.push({
      code,
      severity: code === 'uncovered_events' ? 'warning' : 'error',
      line,
      ...(seq === undefined ? {} : { seq }),
      message,
    })

  // ---- 1. read and classify every line --------------------------------------------------------
  const events: EventLine[] = []
  const checkpoints: CheckpointLine[] = []
  let headerLogId: string | undefined
  let sawFirst = false
  for await (const { line, text } of numberedLines(input)) {
    const first = !sawFirst
    sawFirst = true
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      report('malformed_line', line, first ? 'missing export header: not JSON' : 'not JSON')
      continue
    }
    if (!isObject(value)) {
      report('malformed_line', line, 'not a JSON object')
      continue
    }
    if ('consentry_audit_export' in value) {
      if (!first) report('malformed_line', line, 'a second export header')
      else if (value.consentry_audit_export !== AUDIT_EXPORT_VERSION) {
        report(
          'malformed_line',
          line,
          `unsupported export version ${JSON.stringify(value.consentry_audit_export)}`,
        )
      } else if (typeof value.log_id !== 'string' || value.log_id === '') {
        report('malformed_line', line, 'the export header has no log_id')
      } else headerLogId = value.log_id
      continue
    }
    if (first) report('malformed_line', line, 'missing export header ({"consentry_audit_export":1,...})')
    if ('checkpoint' in value) {
      if (typeof value.checkpoint !== 'string' || Object.keys(value).length !== 1) {
        report('malformed_line', line, 'a checkpoint line must be {"checkpoint":"<compact JWS>"}')
      } else checkpoints.push({ line, jws: value.checkpoint, trusted: false, confirmed: false })
      continue
    }
    const event = await readEvent(value, line, events.length)
    if (event) events.push(event)
    else report('malformed_line', line, 'neither an audit event, a checkpoint nor the header')
  }
  if (!sawFirst) report('malformed_line', 1, 'the export is empty (no header)')

  const logId = options.logId ?? headerLogId
  if (options.logId !== undefined && headerLogId !== undefined && headerLogId !== options.logId) {
    report('wrong_log', 1, `the export is of log "${headerLogId}", expected "${options.logId}"`)
  }

  // ---- 2. checkpoint signatures (independent of the events) ----------------------------------
  let checkpointLogId = logId
  for (const cp of checkpoints) {
    const check = await verifyCheckpoint(cp.jws, options.keys)
    if (!check.ok) {
      if (check.reason === 'unknown_key')
        report('unknown_key', cp.line, `checkpoint signed by an unknown key: ${check.message}`)
      else if (check.reason === 'malformed')
        report('malformed_line', cp.line, `unreadable checkpoint: ${check.message}`)
      else report('forged_checkpoint', cp.line, `forged checkpoint: ${check.message}`, decodedSize(cp.jws))
      continue
    }
    cp.payload = check.payload
    checkpointLogId ??= check.payload.log_id
    if (check.payload.log_id !== checkpointLogId) {
      report(
        'checkpoint_mismatch',
        cp.line,
        `checkpoint of log "${check.payload.log_id}", expected "${checkpointLogId}"`,
        check.payload.size,
      )
      continue
    }
    cp.trusted = true
  }
  const trustedHeads = new Map<number, string>()
  for (const cp of checkpoints)
    if (cp.trusted && cp.payload) trustedHeads.set(cp.payload.size, cp.payload.head)

  // ---- 3. the event chain ---------------------------------------------------------------------
  restoreEditedSeqs(events)
  const chain = pickGenuine(events, trustedHeads, report)
  const bySeq = new Map(chain.map((e) => [e.seq, e]))
  walkChain(chain, trustedHeads, report)
  findReordered(chain, bySeq, report)

  // ---- 4. checkpoints against the events and against each other -------------------------------
  const maxSeq = chain.at(-1)?.seq ?? 0
  let previous: CheckpointLine | undefined
  let previousLineTrusted = true // a checkpoint right after the header must have prev = null
  for (const cp of checkpoints) {
    if (!cp.trusted || !cp.payload) {
      previousLineTrusted = false
      continue
    }
    const { size, head, prev, time } = cp.payload
    // The checkpoints' own chain: order and `prev`. A break is reported, but the checkpoint still
    // vouches for the events up to its head.
    if (previous?.payload && (size <= previous.payload.size || time < previous.payload.time)) {
      report(
        'checkpoint_mismatch',
        cp.line,
        `checkpoint of size ${size} comes after one of size ${previous.payload.size} (line ${previous.line})`,
        size,
      )
    } else if (previousLineTrusted) {
      const expected = previous ? await checkpointDigest(previous.jws) : null
      if (prev !== expected) {
        report(
          'checkpoint_mismatch',
          cp.line,
          previous
            ? `checkpoint does not chain to the previous one (line ${previous.line}): a checkpoint was removed, added or replaced`
            : 'the first checkpoint of the export has a prev: an earlier checkpoint was removed',
          size,
        )
      }
    }
    // The checkpoint against the events.
    let consistent = true
    const event = bySeq.get(size)
    if (event && event.hash !== head) {
      report(
        'checkpoint_mismatch',
        cp.line,
        `checkpoint says event ${size} has hash ${head.slice(0, 12)}…, the export has ${event.hash.slice(0, 12)}… (line ${event.line}): events up to seq ${size} were rewritten`,
        size,
      )
      consistent = false
    } else if (!event && size > maxSeq) {
      report(
        'truncated_tail',
        cp.line,
        `checkpoint covers ${size} events but the export ends at seq ${maxSeq}: ${size - maxSeq === 1 ? `event ${size} is` : `events ${maxSeq + 1}–${size} are`} missing`,
        maxSeq + 1,
      )
      consistent = false
    } else if (!event) consistent = false // a gap, reported as deleted_event
    cp.confirmed = consistent
    previous = cp
    previousLineTrusted = true
  }

  // ---- 5. coverage ----------------------------------------------------------------------------
  const confirmedSizes = checkpoints.filter((cp) => cp.confirmed).map((cp) => cp.payload!.size)
  const covered = Math.max(0, ...confirmedSizes)
  const uncovered = chain.filter((e) => e.seq > covered)
  if (uncovered.length > 0) {
    const [from, to] = [uncovered[0]!, uncovered.at(-1)!]
    report(
      'uncovered_events',
      from.line,
      `${uncovered.length === 1 ? `event ${from.seq} is` : `events ${from.seq}–${to.seq} are`} after the last valid checkpoint: protected by the hash chain only, a removed tail would not show`,
      from.seq,
    )
  }
  const eventErrors = new Set<AuditProblemCode>([
    'edited_event',
    'deleted_event',
    'inserted_event',
    'reordered_events',
  ])
  const firstBad = Math.min(
    Infinity,
    ...problems.filter((p) => eventErrors.has(p.code)).map((p) => p.seq ?? 0),
  )
  const verifiedThrough = Math.max(0, ...confirmedSizes.filter((size) => size < firstBad))

  problems.sort((a, b) => a.line - b.line || (a.seq ?? 0) - (b.seq ?? 0))
  return {
    ok: !problems.some((p) => p.severity === 'error'),
    ...(logId === undefined ? {} : { logId }),
    events: events.length,
    checkpoints: checkpoints.length,
    verifiedThrough,
    problems,
  }
}

type Report = (code: AuditProblemCode, line: number, message: string, seq?: number) => void

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

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** An event-looking object (integer seq, string hashes): it takes part in the chain even if edited. */
async function readEvent(
  value: Record<string, unknown>,
  line: number,
  index: number,
): Promise<EventLine | null> {
  const { seq, prev_hash: prevHash, hash } = value
  if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 1) return null
  if (typeof prevHash !== 'string' || typeof hash !== 'string') return null
  const { hash: _hash, ...unsealed } = value
  let intact = false
  try {
    intact = (await hashEvent(unsealed as Omit<AuditEvent, 'hash'>)) === hash
  } catch {
    intact = false
  }
  const parsed = auditEventSchema.safeParse(value)
  return {
    line,
    index,
    seq,
    claimedSeq: seq,
    prevHash,
    hash,
    intact,
    ...(parsed.success ? {} : { schemaError: parsed.error.issues[0]?.message ?? 'invalid' }),
  }
}

/**
 * An edited event whose `seq` was changed: put it back where its links say it belongs (after the
 * event its `prev_hash` names, or before the one naming its `hash`), so the edit is reported once, at
 * the right seq, instead of as a deletion plus a stray event.
 */
function restoreEditedSeqs(events: EventLine[]) {
  const intact = events.filter((e) => e.intact)
  const claimed = new Set(intact.map((e) => e.seq))
  for (const e of events) {
    if (e.intact) continue
    const pred = intact.find((p) => p.hash === e.prevHash)
    const succ = intact.find((s) => s.prevHash === e.hash)
    const inferred = pred ? pred.seq + 1 : succ ? succ.seq - 1 : undefined
    if (inferred !== undefined && inferred >= 1 && inferred !== e.seq && !claimed.has(inferred))
      e.seq = inferred
  }
}

/**
 * One event per seq. When several lines claim the same seq, the genuine one is the one a checkpoint
 * confirms, then the one the next event chains to, then an intact one, then the one chaining to its
 * predecessor, then the earliest; the others are reported as inserted.
 */
function pickGenuine(events: EventLine[], trustedHeads: Map<number, string>, report: Report): EventLine[] {
  const groups = new Map<number, EventLine[]>()
  for (const e of events) groups.set(e.seq, [...(groups.get(e.seq) ?? []), e])
  const score = (e: EventLine) => {
    const prevHashes = e.seq === 1 ? [GENESIS_HASH] : (groups.get(e.seq - 1) ?? []).map((p) => p.hash)
    return [
      trustedHeads.get(e.seq) === e.hash,
      (groups.get(e.seq + 1) ?? []).some((n) => n.prevHash === e.hash),
      e.intact,
      prevHashes.includes(e.prevHash),
    ]
  }
  const chain: EventLine[] = []
  for (const [seq, group] of groups) {
    const ranked = group
      .map((e) => ({ e, s: score(e) }))
      .sort((a, b) => {
        for (let i = 0; i < a.s.length; i++) if (a.s[i] !== b.s[i]) return a.s[i] ? -1 : 1
        return a.e.index - b.e.index
      })
    const genuine = ranked[0]!.e
    chain.push(genuine)
    for (const { e } of ranked.slice(1)) {
      report(
        'inserted_event',
        e.line,
        `inserted event: seq ${seq} is already taken by the event the chain links through (line ${genuine.line})`,
        seq,
      )
    }
  }
  return chain.sort((a, b) => a.seq - b.seq)
}

/** Walk the chain in seq order: edits (hash does not recompute, or a broken link) and gaps. */
function walkChain(chain: EventLine[], trustedHeads: Map<number, string>, report: Report) {
  const edited = new Set<EventLine>()
  let prev: EventLine | undefined
  for (const e of chain) {
    if (!e.intact) {
      edited.add(e)
      const moved = e.seq !== e.claimedSeq ? ` (its seq was changed to ${e.claimedSeq})` : ''
      const schema = e.schemaError ? `; it is not a valid event either: ${e.schemaError}` : ''
      report(
        'edited_event',
        e.line,
        `edited event: seq ${e.seq}'s hash does not recompute${moved}${schema}`,
        e.seq,
      )
    } else if (e.schemaError) {
      report('malformed_line', e.line, `event ${e.seq} is not a valid audit event: ${e.schemaError}`, e.seq)
    }
    const expected = (prev?.seq ?? 0) + 1
    if (e.seq > expected) {
      const missing = e.seq - expected === 1 ? `event ${expected} is` : `events ${expected}–${e.seq - 1} are`
      report('deleted_event', e.line, `deleted event: ${missing} missing before seq ${e.seq}`, expected)
    } else if (e.prevHash !== (prev?.hash ?? GENESIS_HASH) && !edited.has(e) && !(prev && edited.has(prev))) {
      // A valid-looking event whose link is broken: one of the two was rewritten and re-hashed. A
      // checkpoint over the predecessor clears it; otherwise the predecessor's hash is the suspect.
      if (!prev || trustedHeads.get(prev.seq) === prev.hash) {
        edited.add(e)
        report(
          'edited_event',
          e.line,
          `edited event: seq ${e.seq}'s prev_hash does not match the event before it`,
          e.seq,
        )
      } else {
        edited.add(prev)
        report(
          'edited_event',
          prev.line,
          `edited event: seq ${prev.seq} was rewritten and re-hashed (seq ${e.seq} at line ${e.line} chains to a different hash)`,
          prev.seq,
        )
      }
    }
    prev = e
  }
}

/**
 * Events whose seqs are all there but not in file order: the longest run in order stays, every other
 * event is reported where it stands.
 */
function findReordered(chain: EventLine[], bySeq: Map<number, EventLine>, report: Report) {
  const inFileOrder = [...chain].sort((a, b) => a.index - b.index)
  const inOrder = longestIncreasingRun(inFileOrder)
  for (const e of inFileOrder) {
    if (inOrder.has(e)) continue
    const before = [...bySeq.keys()].filter((s) => s < e.seq).at(-1)
    const where = before === undefined ? 'first' : `after seq ${before} (line ${bySeq.get(before)!.line})`
    report('reordered_events', e.line, `reordered: seq ${e.seq} is out of place, it belongs ${where}`, e.seq)
  }
}

/** Longest strictly increasing subsequence by seq (patience sorting), as a set. */
function longestIncreasingRun(events: EventLine[]): Set<EventLine> {
  const tails: number[] = []
  const back: number[] = []
  events.forEach((e, i) => {
    let lo = 0
    let hi = tails.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (events[tails[mid]!]!.seq < e.seq) lo = mid + 1
      else hi = mid
    }
    back[i] = lo > 0 ? tails[lo - 1]! : -1
    tails[lo] = i
  })
  const run = new Set<EventLine>()
  for (let i = tails.at(-1) ?? -1; i >= 0; i = back[i]!) run.add(events[i]!)
  return run
}

/** The `size` a (possibly forged) checkpoint claims, for locating the report. */
function decodedSize(jws: string): number | undefined {
  try {
    const payload = JSON.parse(new TextDecoder().decode(base64url.decode(jws.split('.')[1]!)))
    return Number.isInteger(payload?.size) ? payload.size : undefined
  } catch {
    return undefined
  }
}
