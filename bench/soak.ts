/**
 * Soak: does the holder's memory stay flat under a steady load? See bench/README.md ("Soak").
 *
 *   node --conditions=source --import tsx bench/soak.ts --store postgres --minutes 10 --rate 300
 *        [--pg postgres://…] [--sample 10] [--connections 32] [--snapshots DIR]
 *
 * Starts the Harbor Pay demo holder (bench/server.ts) in its own process with background maintenance
 * ON (sweeps, the audit sequencer, as users run it), links one grant, then reads
 * `GET …/transactions?limit=100` (attended, DPoP) at a FIXED rate — open loop: requests are sent on
 * schedule whether or not earlier ones have answered — for N minutes. Every `--sample` seconds it asks
 * the child over IPC for `process.memoryUsage()` and the audit log's progress (integrated = checkpoint
 * size, pending = not yet integrated). Prints a per-minute table and a verdict: RSS growth from minute 2
 * to the end and the least-squares slope (MB/min) over those samples.
 *
 * `--snapshots DIR` writes a V8 heap snapshot of the child at minute 2 and at the end (compare them in
 * Chrome DevTools → Memory → Comparison to see what grew).
 */
import type { ChildProcess } from 'node:child_process'
import { createHash, KeyObject } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { Agent } from 'node:http'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { exportJWK } from 'jose'
import pg from 'pg'
import {
  HISTORY_DETAIL,
  insecure,
  link,
  oauth,
  type Recipient,
  registerRecipient,
  withNonceRetry,
} from '../test/helpers/recipient.ts'
import { forkChild, get, proofSigner, stop } from './compare.ts'
import { fmt, now, PG_OPTION, summarize } from './lib.ts'

const { values: args } = parseArgs({
  options: {
    store: { type: 'string', default: 'postgres' },
    minutes: { type: 'string', default: '10' },
    rate: { type: 'string', default: '300' },
    sample: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    grants: { type: 'string', default: '10' },
    snapshots: { type: 'string' },
    pg: PG_OPTION,
  },
})
const kind = args.store!
if (!['memory', 'pglite', 'postgres'].includes(kind)) throw new Error('--store memory|pglite|postgres')
const MINUTES = Number(args.minutes)
const RATE = Number(args.rate)
const SAMPLE_S = Number(args.sample)
const CONNECTIONS = Number(args.connections)
/**
 * Reads go round-robin over this many grants (alice's, one recipient). The bench server lifts the
 * attended cap to 1,000,000 a day, and the quota counts a grant's reads of the last 24 h on every read
 * (migration 9's consume_read_quota): one grant read 30,000 times makes that count itself the cost.
 */
const GRANTS = Number(args.grants)
/** Requests waiting for an answer beyond this are not sent (counted as `skipped`): the generator's queue stays bounded. */
const MAX_IN_FLIGHT = CONNECTIONS * 16
const MB = 1024 * 1024
const mb = (x: number | null) => (x === null ? '–' : x.toFixed(1))
const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`

interface Stats {
  memory: NodeJS.MemoryUsage
  /** Heap used after the child's latest full GC (bytes), `null` before the first. */
  heapAfterFullGc: number | null
  integrated: number
  pending: number
}

interface Sample {
  /** Seconds since the load started. */
  t: number
  rssMb: number
  heapUsedMb: number
  heapTotalMb: number
  /** Heap used after the latest full GC: the leak signal (heapUsed itself is a sawtooth). */
  heapAfterGcMb: number | null
  externalMb: number
  served: number
  errors: number
  skipped: number
  integrated: number
  pending: number
  load1: number
}

function ask<T>(child: ChildProcess, message: unknown, key: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: unknown) => {
      if (!m || typeof m !== 'object' || !(key in m)) return
      child.off('message', on)
      resolve((m as Record<string, T>)[key]!)
    }
    child.on('message', on)
    child.send(message as string)
  })
}

/** The holder in its child process, and one registered recipient. */
async function startHolder(temp: string, schema: string) {
  const where = kind === 'pglite' ? join(temp, 'db') : kind === 'postgres' ? args.pg! : ''
  const { child, msg } = await forkChild('./server.ts', [kind, where, schema, 'maintenance'])
  const issuer = (msg as { issuer: string }).issuer
  return {
    child,
    issuer,
    r: await registerRecipient(issuer),
    url: new URL(`${issuer}/api/accounts/acc_alice_wallet/transactions?limit=100`),
  }
}

type Linked = Awaited<ReturnType<typeof linkGrant>>

/** One linked grant and what its reads need: its token, DPoP key and handle, refresh token. */
async function linkGrant(issuer: string, r: Recipient) {
  const { tokens, pending, DPoP } = await link(issuer, r, [
    { ...HISTORY_DETAIL, period: { lookback_days: 365 } },
  ])
  const ath = (token: string) => createHash('sha256').update(token).digest('base64url')
  return {
    DPoP,
    sign: proofSigner(
      KeyObject.from(pending.dpopKeys.privateKey),
      await exportJWK(pending.dpopKeys.publicKey),
    ),
    token: tokens.access_token,
    ath: ath(tokens.access_token),
    refresh: tokens.refresh_token!,
    expiresIn: tokens.expires_in ?? 300,
    renewTimer: undefined as NodeJS.Timeout | undefined,
    /** Swap in a refreshed token pair. */
    renewed(t: oauth.TokenEndpointResponse) {
      this.token = t.access_token
      this.ath = ath(t.access_token)
      this.refresh = t.refresh_token!
      this.expiresIn = t.expires_in ?? 300
    },
  }
}

function refreshTokens(r: Recipient, DPoP: oauth.DPoPHandle, refreshToken: string) {
  return withNonceRetry(
    () => oauth.refreshTokenGrantRequest(r.as, r.client, r.auth, refreshToken, { DPoP, ...insecure }),
    (res) => oauth.processRefreshTokenResponse(r.as, r.client, res),
  )
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length
  if (n < 2) return 0
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my)
    den += (xs[i]! - mx) ** 2
  }
  return den ? num / den : 0
}

async function soak() {
  const temp = mkdtempSync(join(tmpdir(), 'consentry-soak-'))
  const schema = `consentry_soak_${process.pid}_${Date.now().toString(36)}`
  const startedAt = new Date()
  const holder = await startHolder(temp, schema)
  // FIFO: every keep-alive socket is used in turn, so none sits idle into the server's keep-alive
  // timeout (with LIFO, rarely used sockets did, and a request written as the server closed one got
  // ECONNRESET: the generator's race, not the server's error).
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS, scheduling: 'fifo' })
  const htu = `${holder.url.origin}${holder.url.pathname}`
  const grants: Linked[] = []
  for (let i = 0; i < GRANTS; i++) grants.push(await linkGrant(holder.issuer, holder.r))
  const session = { nonce: undefined as string | undefined, refreshes: 0 }
  // The server's nonce (the first read is answered use_dpop_nonce with it), and a check that reads work.
  const g0 = grants[0]!
  let first = await get(agent, holder.url, g0.token, g0.sign(htu, g0.ath, undefined))
  session.nonce = first.nonce
  if (first.status === 401)
    first = await get(agent, holder.url, g0.token, g0.sign(htu, g0.ath, session.nonce))
  if (first.status !== 200) throw new Error(`first read: ${first.status} ${first.body.slice(0, 300)}`)

  const counts = { served: 0, errors: 0, skipped: 0, inFlight: 0 }
  const statuses = new Map<string, number>()
  let firstError: string | undefined
  /** Latencies (ms) of the minute in progress; summarised and cleared at each minute's end. */
  let minuteLatencies: number[] = []
  const minuteSummaries: { p50: number; p99: number }[] = []
  const fail = (what: string) => {
    counts.errors++
    statuses.set(what, (statuses.get(what) ?? 0) + 1)
  }

  const send = () => {
    if (counts.inFlight >= MAX_IN_FLIGHT) {
      counts.skipped++
      return
    }
    counts.inFlight++
    const s = now()
    const g = grants[sent % GRANTS]!
    get(agent, holder.url, g.token, g.sign(htu, g.ath, session.nonce))
      .then((reply) => {
        if (reply.nonce && reply.nonce !== session.nonce) session.nonce = reply.nonce
        if (reply.status === 200) {
          counts.served++
          minuteLatencies.push(now() - s)
        } else {
          fail(String(reply.status))
          firstError ??= `${reply.status} ${reply.challenge} ${reply.body.slice(0, 200)}`
        }
      })
      .catch((e: unknown) => {
        fail(`network ${(e as { code?: string }).code ?? ''}`.trim())
        firstError ??= String(e)
      })
      .finally(() => counts.inFlight--)
  }

  // Access tokens are short-lived: each grant's pair rotates at 60 % of its lifetime, in the background.
  const renew = async (g: Linked) => {
    try {
      g.renewed(await refreshTokens(holder.r, g.DPoP, g.refresh))
      session.refreshes++
      g.renewTimer = setTimeout(() => renew(g), g.expiresIn * 600)
    } catch (e) {
      fail('refresh')
      firstError ??= `refresh: ${String(e)}`
      g.renewTimer = setTimeout(() => renew(g), 5_000)
    }
  }
  for (const g of grants) g.renewTimer = setTimeout(() => renew(g), g.expiresIn * 600)
  const stopRenewing = () => {
    for (const g of grants) clearTimeout(g.renewTimer)
  }

  const samples: Sample[] = []
  const takeSample = async (t: number): Promise<Sample> => {
    const stats = await ask<Stats>(holder.child, 'stats', 'stats')
    const sample: Sample = {
      t,
      rssMb: stats.memory.rss / MB,
      heapUsedMb: stats.memory.heapUsed / MB,
      heapTotalMb: stats.memory.heapTotal / MB,
      heapAfterGcMb: stats.heapAfterFullGc === null ? null : stats.heapAfterFullGc / MB,
      externalMb: stats.memory.external / MB,
      served: counts.served,
      errors: counts.errors,
      skipped: counts.skipped,
      integrated: stats.integrated,
      pending: stats.pending,
      load1: Math.round(loadavg()[0]! * 100) / 100,
    }
    samples.push(sample)
    console.error(
      `  ${t.toFixed(0).padStart(4)} s: RSS ${sample.rssMb.toFixed(1)} MB, heap ${sample.heapUsedMb.toFixed(1)}/${sample.heapTotalMb.toFixed(1)} MB ` +
        `(after full GC ${mb(sample.heapAfterGcMb)}), ` +
        `external ${sample.externalMb.toFixed(1)} MB, ` +
        `served ${sample.served}, errors ${sample.errors}, skipped ${sample.skipped}, in flight ${counts.inFlight}, ` +
        `audit integrated ${sample.integrated} pending ${sample.pending}, load ${sample.load1}`,
    )
    return sample
  }
  const snapshot = async (name: string) => {
    if (!args.snapshots) return
    mkdirSync(args.snapshots, { recursive: true })
    const file = await ask<string>(
      holder.child,
      { snapshot: resolve(args.snapshots, `${name}.heapsnapshot`) },
      'snapshot',
    )
    console.error(`  heap snapshot: ${file}`)
  }

  let stopping = false
  process.once('SIGINT', () => {
    stopping = true
  })
  const before = await takeSample(0)
  const durationMs = MINUTES * 60_000
  const t0 = now()
  let sent = 0
  let nextSample = SAMPLE_S * 1000
  let nextMinute = 60_000
  let snapped = false
  try {
    // Open loop: every 5 ms, send what the schedule says is due by now.
    await new Promise<void>((done) => {
      const tick = setInterval(async () => {
        const elapsed = now() - t0
        if (stopping || elapsed >= durationMs) {
          clearInterval(tick)
          done()
          return
        }
        const due = Math.floor((elapsed / 1000) * RATE)
        while (sent < due) {
          sent++
          send()
        }
        if (elapsed >= nextMinute) {
          nextMinute += 60_000
          minuteSummaries.push(summarize(minuteLatencies))
          minuteLatencies = []
        }
        if (elapsed >= nextSample) {
          nextSample += SAMPLE_S * 1000
          await takeSample(Math.round(elapsed / 1000))
          if (!snapped && elapsed >= 120_000) {
            snapped = true
            await snapshot('minute-2')
          }
        }
      }, 5)
    })
    stopRenewing()
    // Let the last requests answer, then the sequencer catch up (it runs every 100 ms).
    const elapsedMs = now() - t0
    minuteSummaries.push(summarize(minuteLatencies))
    while (counts.inFlight > 0) await new Promise((r) => setTimeout(r, 20))
    const atStop = await takeSample(Math.round(elapsedMs / 1000))
    const drainStart = now()
    let drained = atStop
    while (drained.pending > 0 && now() - drainStart < 10_000) {
      await new Promise((r) => setTimeout(r, 200))
      drained = await ask<Stats>(holder.child, 'stats', 'stats').then((s) => ({
        ...atStop,
        integrated: s.integrated,
        pending: s.pending,
      }))
    }
    const drainMs = now() - drainStart
    await snapshot('end')
    report({
      startedAt,
      elapsedMs,
      sent,
      before,
      atStop,
      drained,
      drainMs,
      samples,
      minuteSummaries,
      statuses,
      firstError,
      refreshes: session.refreshes,
    })
  } finally {
    stopRenewing()
    agent.destroy()
    await stop(holder.child)
    if (kind === 'postgres') {
      const admin = new pg.Pool({ connectionString: args.pg, max: 1 })
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {})
      await admin.end()
    }
    rmSync(temp, { recursive: true, force: true })
  }
}

interface Outcome {
  startedAt: Date
  elapsedMs: number
  sent: number
  before: Sample
  atStop: Sample
  drained: Sample
  drainMs: number
  samples: Sample[]
  minuteSummaries: { p50: number; p99: number }[]
  statuses: Map<string, number>
  firstError: string | undefined
  refreshes: number
}

function report(o: Outcome) {
  const { samples } = o
  const at = (s: number) => samples.filter((x) => x.t <= s).at(-1)!
  const minutes = Math.max(1, Math.round(o.elapsedMs / 60_000))
  const lines = [
    `### Soak ${o.startedAt.toISOString()} — ${kind}, ${RATE} req/s open loop for ${MINUTES} min; ` +
      `${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}`,
    '',
    '| minute | RSS MB | heapUsed MB | heap after full GC MB | heapTotal MB | req served (that minute) | p50 ms | p99 ms | errors (total) | audit pending | load avg |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    `| 0 | ${o.before.rssMb.toFixed(1)} | ${o.before.heapUsedMb.toFixed(1)} | ${mb(o.before.heapAfterGcMb)} | ${o.before.heapTotalMb.toFixed(1)} | – | – | – | 0 | ${o.before.pending} | ${o.before.load1} |`,
  ]
  let prevServed = 0
  for (let m = 1; m <= minutes; m++) {
    const s = m === minutes ? o.atStop : at(m * 60)
    const lat = o.minuteSummaries[m - 1]
    lines.push(
      `| ${m} | ${s.rssMb.toFixed(1)} | ${s.heapUsedMb.toFixed(1)} | ${mb(s.heapAfterGcMb)} | ${s.heapTotalMb.toFixed(1)} | ${s.served - prevServed} | ` +
        `${lat ? fmt(lat.p50) : '–'} | ${lat ? fmt(lat.p99) : '–'} | ${s.errors} | ${s.pending} | ${s.load1} |`,
    )
    prevServed = s.served
  }
  const steady = samples.filter((s) => s.t >= 120)
  const from = at(120)
  const rssSlope = slope(
    steady.map((s) => s.t / 60),
    steady.map((s) => s.rssMb),
  )
  const afterGc = steady.filter((s) => s.heapAfterGcMb !== null)
  const heapSlope = slope(
    afterGc.map((s) => s.t / 60),
    afterGc.map((s) => s.heapAfterGcMb!),
  )
  const growth = o.atStop.rssMb - from.rssMb
  // RSS is a sawtooth (V8 grows the young generation, then its memory reducer shrinks it): the
  // per-minute peaks show whether the plateau itself moves.
  const peaks = Array.from({ length: Math.max(0, minutes - 2) }, (_, k) => k + 3).map((m) => ({
    m,
    rss: Math.max(...samples.filter((s) => s.t > (m - 1) * 60 && s.t <= m * 60).map((s) => s.rssMb)),
  }))
  const peakSlope = slope(
    peaks.map((p) => p.m),
    peaks.map((p) => p.rss),
  )
  const gcValues = afterGc.map((s) => s.heapAfterGcMb!)
  const appended = o.drained.integrated + o.drained.pending - (o.before.integrated + o.before.pending)
  lines.push(
    '',
    `- served ${o.atStop.served} of ${o.sent} sent (${((o.atStop.served / o.elapsedMs) * 1000).toFixed(1)} req/s), ` +
      `errors ${o.atStop.errors}${o.statuses.size ? ` (${[...o.statuses].map(([k, v]) => `${k}: ${v}`).join(', ')})` : ''}` +
      `, not sent (over ${MAX_IN_FLIGHT} in flight) ${o.atStop.skipped}, token refreshes ${o.refreshes}` +
      (o.firstError ? `; first error: ${o.firstError}` : ''),
    `- audit: ${appended} events appended during the run (one data.read per served read, plus token events); ` +
      `integrated ${o.drained.integrated} in all; pending at stop ${o.atStop.pending}, ` +
      `${o.drained.pending} after ${(o.drainMs / 1000).toFixed(1)} s`,
    minutes < 4
      ? '- (no verdict: the first two minutes are warm-up; run 4 minutes or more)'
      : `- **RSS from minute 2 to minute ${minutes}: ${from.rssMb.toFixed(1)} → ${o.atStop.rssMb.toFixed(1)} MB ` +
          `(${signed(growth)} MB); linear fit over ${steady.length} samples: ` +
          `${signed(rssSlope)} MB/min RSS (peak RSS of minutes 3…${minutes}: ${signed(peakSlope)} MB/min); heap after full GC ` +
          `${signed(heapSlope)} MB/min (${mb(afterGc[0]?.heapAfterGcMb ?? null)} → ${mb(afterGc.at(-1)?.heapAfterGcMb ?? null)} MB, ` +
          `range ${mb(gcValues.length ? Math.min(...gcValues) : null)}–${mb(gcValues.length ? Math.max(...gcValues) : null)}).**`,
  )
  console.log(lines.join('\n'))
  const dir = new URL('./results/', import.meta.url).pathname
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `soak-${kind}-${o.startedAt.toISOString().replace(/[:.]/g, '-')}.json`)
  writeFileSync(
    file,
    `${JSON.stringify({ ...o, statuses: Object.fromEntries(o.statuses), options: args, rssSlope, peakSlope, heapSlope }, null, 2)}\n`,
  )
  console.error(`results: ${file}`)
}

await soak()
