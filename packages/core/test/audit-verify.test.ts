import {
  type AuditEvent,
  type AuditEventDraft,
  type AuditVerification,
  CHECKPOINT_TYP,
  type CheckpointPayload,
  checkpointDigest,
  decodeCheckpoint,
  formatCheckpointLine,
  formatExportHeader,
  hashEvent,
  sealEvent,
  verifyAuditExport,
} from '@consentry/core'
import { CompactSign, type CryptoKey, exportJWK, generateKeyPair, type JSONWebKeySet } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'

// The server's trail is not exported from '@consentry/server' yet, so the chain is built here with
// `sealEvent` and really signed ES256 checkpoints, exactly as the trail does.

const LOG = 'harbor-pay'
let key: { privateKey: CryptoKey; kid: string }
let jwks: JSONWebKeySet

beforeAll(async () => {
  const pair = await generateKeyPair('ES256')
  key = { privateKey: pair.privateKey, kid: 'audit-1' }
  jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'audit-1', alg: 'ES256', use: 'sig' }] }
})

function sign(payload: unknown, signer = key, alg = 'ES256') {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ typ: CHECKPOINT_TYP, alg, kid: signer.kid })
    .sign(signer.privateKey)
}

const draft = (n: number): AuditEventDraft => ({
  id: `evt_${n}`,
  at: new Date(Date.UTC(2025, 0, 1, 0, n)).toISOString(),
  type: n % 2 ? 'data.read' : 'token.issued',
  actor: { type: 'client', id: 'lender' },
  grant_id: 'g_1',
  client_id: 'lender',
  subject: 'alice',
  data: { count: n, range: { from: '2025-01-01', to: '2025-03-31' } },
})

interface Fixture {
  events: AuditEvent[]
  /** The export, one string per line (index 0 is line 1). */
  lines: string[]
}

/** 12 events; checkpoints after the events listed in `checkpointsAt`, each chained to the previous. */
async function build(
  options: {
    size?: number
    checkpointsAt?: number[]
    payload?: (p: CheckpointPayload) => CheckpointPayload
  } = {},
): Promise<Fixture> {
  const { size = 12, checkpointsAt = [4, 8, 12], payload = (p) => p } = options
  const events: AuditEvent[] = []
  for (let n = 1; n <= size; n++) events.push(await sealEvent(events.at(-1) ?? null, draft(n)))
  const lines = [formatExportHeader(LOG)]
  let prev: string | null = null
  for (const event of events) {
    lines.push(JSON.stringify(event))
    if (checkpointsAt.includes(event.seq)) {
      const jws = await sign(
        payload({ log_id: LOG, size: event.seq, head: event.hash, time: 1_750_000_000 + event.seq, prev }),
      )
      prev = await checkpointDigest(jws)
      lines.push(formatCheckpointLine(jws))
    }
  }
  return { events, lines }
}

/** 1-based line of the event with this seq (first occurrence). */
const parse = (line: string) => {
  try {
    return JSON.parse(line)
  } catch {
    return null
  }
}
const lineOf = (lines: string[], seq: number) => lines.findIndex((l) => parse(l)?.seq === seq) + 1
/** 1-based line of the checkpoint of this size. */
const lineOfCheckpoint = (lines: string[], size: number) =>
  lines.findIndex((l) => {
    const decoded = decodeCheckpoint(parse(l)?.checkpoint ?? '')
    return decoded.ok && decoded.payload.size === size
  }) + 1

const verify = (lines: string[] | string, logId?: string) =>
  verifyAuditExport(lines, { keys: jwks, ...(logId ? { logId } : {}) })
const errors = (r: AuditVerification) =>
  r.problems.filter((p) => p.severity === 'error').map(({ code, line, seq }) => ({ code, line, seq }))
const edit = (line: string, change: (e: AuditEvent) => void) => {
  const event = JSON.parse(line) as AuditEvent
  change(event)
  return JSON.stringify(event)
}

describe('verifyAuditExport: a clean export', () => {
  it('verifies, with every event covered', async () => {
    const { lines } = await build()
    const report = await verify(lines)
    expect(report).toEqual({
      ok: true,
      logId: LOG,
      events: 12,
      checkpoints: 3,
      verifiedThrough: 12,
      problems: [],
    })
  })

  it('reads a whole file (with CRLF and a final newline) and async line streams alike', async () => {
    const { lines } = await build()
    expect((await verify(`${lines.join('\r\n')}\r\n`)).problems).toEqual([])
    async function* stream() {
      for (const line of lines) yield `${line}\n`
    }
    expect(await verifyAuditExport(stream(), { keys: jwks })).toMatchObject({ ok: true, verifiedThrough: 12 })
  })

  it('accepts events after the last checkpoint but warns about them', async () => {
    const { lines } = await build({ checkpointsAt: [4, 8] })
    const report = await verify(lines)
    expect(report.ok).toBe(true)
    expect(report.verifiedThrough).toBe(8)
    expect(report.problems).toEqual([
      expect.objectContaining({
        code: 'uncovered_events',
        severity: 'warning',
        line: lineOf(lines, 9),
        seq: 9,
      }),
    ])
  })

  it('warns that nothing is covered when there is no checkpoint at all', async () => {
    const { lines } = await build({ checkpointsAt: [] })
    const report = await verify(lines)
    expect(report).toMatchObject({ ok: true, verifiedThrough: 0, checkpoints: 0 })
    expect(report.problems.map((p) => [p.code, p.line, p.seq])).toEqual([['uncovered_events', 2, 1]])
  })
})

describe('verifyAuditExport: tampered events', () => {
  it('an edited event is located at its line and seq', async () => {
    const { lines } = await build()
    const at = lineOf(lines, 6)
    lines[at - 1] = edit(lines[at - 1]!, (e) => {
      e.data.count = 600
    })
    const report = await verify(lines)
    expect(report.ok).toBe(false)
    expect(errors(report)).toEqual([{ code: 'edited_event', line: at, seq: 6 }])
    expect(report.verifiedThrough).toBe(4)
  })

  it('an edited and re-hashed event is still located (the next event chains to the old hash)', async () => {
    const { lines } = await build()
    const at = lineOf(lines, 6)
    const event = JSON.parse(lines[at - 1]!) as AuditEvent
    const { hash: _old, ...rest } = { ...event, subject: 'mallory' }
    lines[at - 1] = JSON.stringify({ ...rest, hash: await hashEvent(rest) })
    expect(errors(await verify(lines))).toEqual([{ code: 'edited_event', line: at, seq: 6 }])
  })

  it('an event whose seq was changed is reported once, as edited, at its real seq', async () => {
    const { lines } = await build()
    const at = lineOf(lines, 6)
    lines[at - 1] = edit(lines[at - 1]!, (e) => {
      e.seq = 60
    })
    expect(errors(await verify(lines))).toEqual([{ code: 'edited_event', line: at, seq: 6 }])
  })

  it('a rewritten tail (re-sealed from seq 6 on) fails the checkpoints that cover it', async () => {
    const { lines, events } = await build()
    let prev: AuditEvent = events[4]!
    for (let seq = 6; seq <= 12; seq++) {
      const { seq: _s, prev_hash: _p, hash: _h, ...d } = events[seq - 1]!
      prev = await sealEvent(prev, { ...d, data: { count: 0 } })
      lines[lineOf(lines, seq) - 1] = JSON.stringify(prev)
    }
    const report = await verify(lines)
    expect(errors(report)).toEqual([
      { code: 'checkpoint_mismatch', line: lineOfCheckpoint(lines, 8), seq: 8 },
      { code: 'checkpoint_mismatch', line: lineOfCheckpoint(lines, 12), seq: 12 },
    ])
    expect(report.verifiedThrough).toBe(4)
  })

  it('a deleted event is reported after the gap, naming the missing seq', async () => {
    const { lines } = await build()
    lines.splice(lineOf(lines, 6) - 1, 1)
    const report = await verify(lines)
    expect(errors(report)).toEqual([{ code: 'deleted_event', line: lineOf(lines, 7), seq: 6 }])
    expect(report.problems[0]!.message).toContain('event 6 is missing')
    expect(report.verifiedThrough).toBe(4)
  })

  it('several deleted events are one finding naming the range; a deleted first event is found too', async () => {
    const { lines } = await build()
    lines.splice(lineOf(lines, 6) - 1, 2)
    const report = await verify(lines)
    expect(errors(report)).toEqual([{ code: 'deleted_event', line: lineOf(lines, 8), seq: 6 }])
    expect(report.problems[0]!.message).toContain('events 6–7 are missing')

    const first = (await build()).lines
    first.splice(1, 1)
    expect(errors(await verify(first))).toEqual([{ code: 'deleted_event', line: 2, seq: 1 }])
  })

  it('an inserted, correctly sealed event is told apart from the genuine one', async () => {
    const { lines, events } = await build()
    const forged = await sealEvent(events[4]!, { ...draft(6), id: 'evt_forged', data: { count: 1000 } })
    const at = lineOf(lines, 6)
    lines.splice(at - 1, 0, JSON.stringify(forged))
    const report = await verify(lines)
    expect(errors(report)).toEqual([{ code: 'inserted_event', line: at, seq: 6 }])
    expect(report.events).toBe(13)
  })

  it('a duplicated (replayed) event line is an insertion', async () => {
    const { lines } = await build()
    const at = lineOf(lines, 3)
    lines.splice(at, 0, lines[at - 1]!)
    expect(errors(await verify(lines))).toEqual([{ code: 'inserted_event', line: at + 1, seq: 3 }])
  })

  it('swapped events are reordered, not deleted and inserted', async () => {
    const { lines } = await build()
    const [a, b] = [lineOf(lines, 6), lineOf(lines, 7)]
    ;[lines[a - 1], lines[b - 1]] = [lines[b - 1]!, lines[a - 1]!]
    const report = await verify(lines)
    expect(errors(report)).toEqual([{ code: 'reordered_events', line: a, seq: 7 }])
    expect(report.problems[0]!.message).toContain('after seq 6')
  })

  it('an event moved far away is reported where it now stands', async () => {
    const { lines } = await build()
    const [moved] = lines.splice(lineOf(lines, 3) - 1, 1)
    lines.splice(lineOf(lines, 10), 0, moved!)
    expect(errors(await verify(lines))).toEqual([
      { code: 'reordered_events', line: lineOf(lines, 10) + 1, seq: 3 },
    ])
  })

  it('a cut tail is caught by the checkpoint that covered it', async () => {
    const { lines } = await build()
    lines.splice(lineOf(lines, 10) - 1, 3) // events 10, 11, 12; the last checkpoint line stays
    const report = await verify(lines)
    expect(errors(report)).toEqual([{ code: 'truncated_tail', line: lineOfCheckpoint(lines, 12), seq: 10 }])
    expect(report.problems.find((p) => p.code === 'truncated_tail')!.message).toContain(
      'events 10–12 are missing',
    )
    expect(report.verifiedThrough).toBe(8)
  })
})

describe('verifyAuditExport: tampered checkpoints', () => {
  it('a checkpoint with an altered payload is forged', async () => {
    const { lines } = await build()
    const at = lineOfCheckpoint(lines, 8)
    const [h, p, s] = (JSON.parse(lines[at - 1]!).checkpoint as string).split('.')
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString())
    payload.size = 9
    lines[at - 1] = formatCheckpointLine(
      `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`,
    )
    const report = await verify(lines)
    expect(errors(report)).toEqual([{ code: 'forged_checkpoint', line: at, seq: 9 }])
    expect(report.verifiedThrough).toBe(12) // the next checkpoint still covers everything
  })

  it('a checkpoint signed by another key under our kid is forged; under an unknown kid, unknown_key', async () => {
    const { lines, events } = await build({ checkpointsAt: [4] })
    const other = await generateKeyPair('ES256')
    const payload = { log_id: LOG, size: 12, head: events[11]!.hash, time: 1_750_000_100, prev: null }
    lines.push(formatCheckpointLine(await sign(payload, { privateKey: other.privateKey, kid: 'audit-1' })))
    lines.push(formatCheckpointLine(await sign(payload, { privateKey: other.privateKey, kid: 'stranger' })))
    const report = await verify(lines)
    expect(errors(report)).toEqual([
      { code: 'forged_checkpoint', line: lines.length - 1, seq: 12 },
      { code: 'unknown_key', line: lines.length, seq: undefined },
    ])
    expect(report.verifiedThrough).toBe(4)
  })

  it('a signed checkpoint whose head is not the event at its size is a mismatch', async () => {
    const { lines } = await build({ payload: (p) => (p.size === 8 ? { ...p, head: 'ab'.repeat(32) } : p) })
    const report = await verify(lines)
    expect(errors(report)).toEqual([
      { code: 'checkpoint_mismatch', line: lineOfCheckpoint(lines, 8), seq: 8 },
    ])
    expect(report.verifiedThrough).toBe(12)
  })

  it('a removed checkpoint breaks the checkpoint chain at the next one', async () => {
    const { lines } = await build()
    lines.splice(lineOfCheckpoint(lines, 8) - 1, 1)
    const report = await verify(lines)
    expect(errors(report)).toEqual([
      { code: 'checkpoint_mismatch', line: lineOfCheckpoint(lines, 12), seq: 12 },
    ])
    expect(report.problems[0]!.message).toContain('does not chain')
    expect(report.verifiedThrough).toBe(12) // the remaining checkpoints still vouch for the events
  })

  it('a checkpoint of another log, or an export of another log, is refused', async () => {
    const { lines } = await build({ payload: (p) => (p.size === 12 ? { ...p, log_id: 'other' } : p) })
    expect(errors(await verify(lines))).toEqual([
      { code: 'checkpoint_mismatch', line: lines.length, seq: 12 },
    ])
    const clean = (await build()).lines
    expect(errors(await verify(clean, 'another-log'))).toEqual(
      expect.arrayContaining([{ code: 'wrong_log', line: 1, seq: undefined }]),
    )
  })
})

describe('verifyAuditExport: garbage', () => {
  it('reports malformed lines where they are and still verifies the rest', async () => {
    const { lines } = await build()
    const garbage = [
      'not json',
      '[1,2,3]',
      '{}',
      '{"checkpoint":5}',
      '{"checkpoint":"a.b.c"}',
      '"\u0000\uffff"',
      '{"seq":"x"}',
    ]
    const at = lineOf(lines, 5)
    lines.splice(at - 1, 0, ...garbage)
    const report = await verify(lines)
    expect(errors(report)).toEqual(
      garbage.map((_, i) => ({ code: 'malformed_line', line: at + i, seq: undefined })),
    )
    expect(report.verifiedThrough).toBe(12)
  })

  it('never throws, whatever it is given', async () => {
    const inputs: unknown[] = [
      '',
      '\n\n',
      'garbage',
      '{"consentry_audit_export":2}',
      '{"seq":1,"prev_hash":1}',
      '{"checkpoint":"x.y"}',
      [42, null, {}],
      ['{"consentry_audit_export":1,"log_id":"x"}', '{"seq":1e400,"hash":"","prev_hash":""}'],
    ]
    for (const input of inputs) {
      const report = await verifyAuditExport(input as string, { keys: { keys: [] } })
      expect(report.ok).toBe(false)
      expect(report.problems.length).toBeGreaterThan(0)
    }
    const weirdKeys = await verifyAuditExport((await build()).lines, {
      keys: { keys: [null, { kty: 'oct', kid: 'audit-1' }] } as never,
    })
    expect(weirdKeys.problems.map((p) => p.code)).toContain('unknown_key')
  })

  it('a missing header is reported on line 1', async () => {
    const { lines } = await build()
    lines.shift()
    const report = await verify(lines)
    expect(errors(report)).toEqual([{ code: 'malformed_line', line: 1, seq: undefined }])
  })
})
