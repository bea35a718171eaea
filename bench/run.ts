/**
 * Consentry benchmarks over real HTTP on 127.0.0.1. See bench/README.md.
 *
 *   npm run bench [-- --configs memory,jose,oidc-provider,postgres,sqlite,pglite] [--rounds 3] [--seconds 10] [--slices 4]
 *                                                   the side-by-side read comparison (bench/compare.ts)
 *   npm run bench -- --store memory|sqlite|pglite|postgres [--quick] [--only resource,paging,...]
 *                    [--pg postgres://…] [--profile DIR] [--no-micro]   the scenario suite on one store
 */
import { type ChildProcess, fork } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { FormBrowser } from '../test/helpers/browser.ts'
import {
  consent,
  HISTORY_DETAIL,
  insecure,
  oauth,
  type PendingLink,
  pushRequest,
  type Recipient,
  registerRecipient,
} from '../test/helpers/recipient.ts'
import { fmt, now, type Op, PG_OPTION, type RunResult, run, type Summary, summarize } from './lib.ts'
import { type MicroResult, microBenchmarks } from './micro.ts'

const { values: args } = parseArgs({
  options: {
    store: { type: 'string' },
    configs: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '10' },
    slices: { type: 'string', default: '4' },
    pg: PG_OPTION,
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    profile: { type: 'string' },
    'no-micro': { type: 'boolean', default: false },
  },
})
if (!args.store) {
  const { compare, CONFIGS } = await import('./compare.ts')
  await compare({
    configs: args.configs ? args.configs.split(',') : [...CONFIGS],
    rounds: Number(args.rounds),
    seconds: Number(args.seconds),
    slices: Number(args.slices),
    pg: args.pg!,
    ...(args.profile ? { profile: args.profile } : {}),
  })
  process.exit(0)
}
const storeKind = args.store
if (!['memory', 'sqlite', 'pglite', 'postgres'].includes(storeKind))
  throw new Error('--store memory|sqlite|pglite|postgres')
const only = args.only ? new Set(args.only.split(',')) : null
const wanted = (name: string) => !only || only.has(name)

// Budgets: requests (operations) after warm-up, and a time cap per measured phase.
const Q = args.quick ? 0.2 : 1
const BUDGET = {
  resource: { ops: Math.round(500 * Q), warmup: 50 },
  paging: { ops: Math.max(4, Math.round(64 * Q)), warmup: 2 }, // walks (each ~10 pages of 50)
  refresh: { ops: Math.round(300 * Q), warmup: 20 },
  linkLogin: { ops: 16, warmup: 1 }, // capped by the server's 10 sign-ins per user per 15 min
  linkSession: { ops: Math.round(50 * Q), warmup: 3 },
  revoked: { ops: Math.round(500 * Q), warmup: 50 },
}
const MAX_MS = 30_000
const CONCURRENCY = [1, 8, 32]
const PRESENT = { 'x-fapi-customer-ip-address': '203.0.113.7' }

// ---- the server, in a child process -------------------------------------------------------------

const stamp = `${process.pid}_${Date.now().toString(36)}`
const schema = `consentry_bench_${stamp}`
const temp = mkdtempSync(join(tmpdir(), 'consentry-bench-'))

function startServer(): Promise<{ child: ChildProcess; issuer: string }> {
  const where =
    storeKind === 'pglite' || storeKind === 'sqlite'
      ? join(temp, 'db')
      : storeKind === 'postgres'
        ? args.pg!
        : ''
  const execArgv = ['--conditions=source', '--import', 'tsx']
  if (args.profile) {
    mkdirSync(args.profile, { recursive: true })
    execArgv.push('--cpu-prof', `--cpu-prof-dir=${args.profile}`)
  }
  const child = fork(new URL('./server.ts', import.meta.url).pathname, [storeKind, where, schema], {
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ child, issuer: (m as { issuer: string }).issuer }))
    child.once('exit', (code) => reject(new Error(`server exited early (${code})`)))
  })
}

async function stopServer(child: ChildProcess) {
  const exited = new Promise((r) => child.once('exit', r))
  child.send('stop')
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))])
  if (child.exitCode === null) child.kill()
}

// ---- the recipient ------------------------------------------------------------------------------

/** DPoP nonce retries (use_dpop_nonce answers), counted per scenario. */
let nonceRetries = 0

interface Session {
  token: string
  refresh: string
  grantId: string
  DPoP: oauth.DPoPHandle
}

/** GET with DPoP; one retry on use_dpop_nonce (counted). Returns the final response. */
async function get(s: Session, url: string, headers: Record<string, string> = PRESENT): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    let res: Response
    try {
      res = await oauth.protectedResourceRequest(s.token, 'GET', new URL(url), new Headers(headers), null, {
        DPoP: s.DPoP,
        ...insecure,
      })
    } catch (e) {
      if (!(e instanceof oauth.WWWAuthenticateChallengeError)) throw e
      res = e.response
    }
    if (
      attempt === 0 &&
      res.status === 401 &&
      res.headers.get('www-authenticate')?.includes('use_dpop_nonce')
    ) {
      nonceRetries++
      await res.arrayBuffer().catch(() => {})
      continue
    }
    return res
  }
}

/** A token-endpoint call with one retry on use_dpop_nonce (counted). */
async function tokenCall<T>(
  send: () => Promise<Response>,
  process: (res: Response) => Promise<T>,
): Promise<T> {
  try {
    return await process(await send())
  } catch (e) {
    if (!oauth.isDPoPNonceError(e)) throw e
    nonceRetries++
    return process(await send())
  }
}

interface LinkTimes {
  par: number
  /** authorize → (login) → consent page → consent answer: 4 requests with login, 2 without. */
  browser: number
  token: number
}

/** PAR → (login) → consent → code exchange, timed by stage. */
async function fullLink(r: Recipient, issuer: string, browser: FormBrowser, username: string) {
  const t0 = now()
  const pending: PendingLink = await pushRequest(r, [{ ...HISTORY_DETAIL, period: { lookback_days: 365 } }])
  const t1 = now()
  const answer = await consent(issuer, pending, { username, password: username }, browser)
  if (answer.status !== 303 || !answer.location)
    throw new Error(`consent answer ${answer.status} ${answer.page.slice(0, 200)}`)
  const t2 = now()
  const params = oauth.validateAuthResponse(r.as, r.client, new URL(answer.location), pending.state)
  const DPoP = oauth.DPoP(r.client, pending.dpopKeys)
  const tokens = await tokenCall(
    () =>
      oauth.authorizationCodeGrantRequest(r.as, r.client, r.auth, params, r.redirectUri, pending.verifier, {
        DPoP,
        ...insecure,
      }),
    (res) => oauth.processAuthorizationCodeResponse(r.as, r.client, res),
  )
  const t3 = now()
  const session: Session = {
    token: tokens.access_token,
    refresh: tokens.refresh_token!,
    grantId: (tokens as unknown as { grant_id: string }).grant_id,
    DPoP,
  }
  const times: LinkTimes = { par: t1 - t0, browser: t2 - t1, token: t3 - t2 }
  return { session, times, total: t3 - t0 }
}

async function refresh(r: Recipient, s: Session) {
  const tokens = await tokenCall(
    () => oauth.refreshTokenGrantRequest(r.as, r.client, r.auth, s.refresh, { DPoP: s.DPoP, ...insecure }),
    (res) => oauth.processRefreshTokenResponse(r.as, r.client, res),
  )
  s.token = tokens.access_token
  s.refresh = tokens.refresh_token!
}

// ---- scenarios ----------------------------------------------------------------------------------

interface ScenarioResult extends RunResult {
  scenario: string
  nonceRetries: number
  extra?: Record<string, unknown>
}

const results: ScenarioResult[] = []

async function measure(
  scenario: string,
  op: Op,
  budget: { ops: number; warmup: number },
  concurrency: number,
  extra?: () => Record<string, unknown>,
) {
  const before = nonceRetries
  const r = await run(op, { ...budget, concurrency, maxMs: MAX_MS })
  const row: ScenarioResult = { scenario, ...r, nonceRetries: nonceRetries - before }
  const more = extra?.()
  if (more) row.extra = more
  results.push(row)
  console.error(
    `  ${scenario} c=${concurrency}: ${r.requests} req in ${fmt(r.elapsedMs)} ms, ${r.throughput.toFixed(0)} req/s, ` +
      `p50 ${fmt(r.latency.p50)} p95 ${fmt(r.latency.p95)} p99 ${fmt(r.latency.p99)} ms` +
      (r.errors ? `, ${r.errors} errors (${r.firstError})` : ''),
  )
  return row
}

async function main() {
  let admin: pg.Pool | undefined
  if (storeKind === 'postgres') admin = new pg.Pool({ connectionString: args.pg, max: 1 })
  const { child, issuer } = await startServer()
  const startedAt = new Date()
  let micro: MicroResult[] = []
  try {
    console.error(`# ${storeKind}: Harbor Pay at ${issuer} (pid ${child.pid})`)
    const r = await registerRecipient(issuer)
    const api = `${issuer}/api`

    // alice links once through the real login and consent forms; her signed-in browser is kept.
    const alice = new FormBrowser()
    const main = (await fullLink(r, issuer, alice, 'alice')).session
    const listAccounts = await get(main, `${api}/accounts`)
    const accounts = (await listAccounts.json()).data as { id: string }[]
    const account = accounts.find((a) => a.id === 'acc_alice_wallet')?.id ?? accounts[0]!.id
    const txUrl = `${api}/accounts/${encodeURIComponent(account)}/transactions`
    /** A fresh access token before each phase (they live 5 minutes). */
    const renew = () => refresh(r, main)

    if (wanted('resource')) {
      const url = `${txUrl}?limit=100`
      const op: Op = async (sample) => {
        const t = now()
        const res = await get(main, url)
        const body = await res.text()
        sample(now() - t)
        if (res.status !== 200) throw new Error(`${res.status} ${body.slice(0, 200)}`)
      }
      for (const c of CONCURRENCY) {
        await renew()
        await measure('resource: first page, limit 100', op, BUDGET.resource, c)
      }
    }

    if (wanted('paging')) {
      let walks: number[] = []
      let pages: number[] = []
      let records = 0
      const op: Op = async (sample) => {
        const w0 = now()
        let cursor: string | undefined
        let n = 0
        let count = 0
        do {
          const url = `${txUrl}?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
          const t = now()
          const res = await get(main, url)
          const body = await res.json()
          sample(now() - t)
          if (res.status !== 200) throw new Error(`${res.status} ${JSON.stringify(body).slice(0, 200)}`)
          cursor = body.next_cursor
          count += body.data.length
          n++
        } while (cursor)
        walks.push(now() - w0)
        pages.push(n)
        records = count
      }
      for (const c of CONCURRENCY) {
        await renew()
        walks = []
        pages = []
        await measure('paging: 365-day walk, limit 50 (per page)', op, BUDGET.paging, c, () => ({
          walkMs: summarize(walks.slice(BUDGET.paging.warmup)),
          pagesPerWalk: pages[0],
          recordsPerWalk: records,
        }))
      }
    }

    if (wanted('refresh')) {
      const op: Op = async (sample) => {
        const t = now()
        await refresh(r, main)
        sample(now() - t)
      }
      await measure('token refresh (rotating)', op, BUDGET.refresh, 1)
    }

    if (wanted('link')) {
      // With login: a fresh browser each time, alternating bob and alice (the server allows 10
      // sign-ins per user per 15 minutes, and alice has used one).
      let k = 0
      let stages: LinkTimes[] = []
      const withLogin: Op = async (sample) => {
        const user = k++ % 2 === 0 ? 'bob' : 'alice'
        const l = await fullLink(r, issuer, new FormBrowser(), user)
        sample(l.total)
        stages.push(l.times)
      }
      const stageSummary = () => {
        const s = stages.slice(-Math.min(stages.length, 100))
        return {
          stagesP50: {
            par: summarize(s.map((x) => x.par)).p50,
            browser: summarize(s.map((x) => x.browser)).p50,
            token: summarize(s.map((x) => x.token)).p50,
          },
        }
      }
      await measure('full link with login', withLogin, BUDGET.linkLogin, 1, stageSummary)
      stages = []
      const signedIn: Op = async (sample) => {
        const l = await fullLink(r, issuer, alice, 'alice')
        sample(l.total)
        stages.push(l.times)
      }
      await measure('full link, signed-in browser', signedIn, BUDGET.linkSession, 1, stageSummary)
    }

    if (wanted('revoked')) {
      const gone = (await fullLink(r, issuer, alice, 'alice')).session
      // Warm the grant path once while it is alive, then revoke through the revocation endpoint.
      const alive = await get(gone, `${txUrl}?limit=100`)
      if (alive.status !== 200) throw new Error(`pre-revocation read ${alive.status}`)
      await alive.arrayBuffer()
      await oauth.processRevocationResponse(
        await oauth.revocationRequest(r.as, r.client, r.auth, gone.refresh, insecure),
      )
      const url = `${txUrl}?limit=100`
      const op: Op = async (sample) => {
        const t = now()
        const res = await get(gone, url)
        await res.arrayBuffer()
        sample(now() - t)
        const challenge = res.headers.get('www-authenticate') ?? ''
        if (res.status !== 401 || !challenge.includes('invalid_token'))
          throw new Error(`expected 401 invalid_token, got ${res.status} ${challenge}`)
      }
      for (const c of CONCURRENCY) await measure('revoked grant refused (401)', op, BUDGET.revoked, c)
    }
  } finally {
    await stopServer(child)
  }

  if (!args['no-micro'] && wanted('micro')) {
    console.error('# micro-benchmarks (in-process, no HTTP)')
    micro = await microBenchmarks(storeKind, {
      dataDir: join(temp, 'micro-db'),
      pg: args.pg!,
      schema: `${schema}_micro`,
      quick: args.quick!,
    })
  }

  if (admin) {
    for (const s of [schema, `${schema}_micro`]) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`)
    await admin.end()
  }
  rmSync(temp, { recursive: true, force: true })

  report(startedAt, micro)
}

// ---- report -------------------------------------------------------------------------------------

function report(startedAt: Date, micro: MicroResult[]) {
  const lines = [
    `### ${storeKind} — ${startedAt.toISOString()} — ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}`,
    '',
    '| scenario | conc | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | errors | nonce retries |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...results.map(
      (r) =>
        `| ${r.scenario} | ${r.concurrency} | ${r.requests}${r.timedOut ? ' (time cap)' : ''} | ${r.throughput.toFixed(0)} | ` +
        `${fmt(r.latency.p50)} | ${fmt(r.latency.p95)} | ${fmt(r.latency.p99)} | ${fmt(r.latency.max)} | ${r.errors} | ${r.nonceRetries} |`,
    ),
  ]
  const extras = results.filter((r) => r.extra)
  if (extras.length) {
    lines.push('')
    for (const r of extras) {
      const e = r.extra as {
        walkMs?: Summary
        pagesPerWalk?: number
        recordsPerWalk?: number
        stagesP50?: LinkTimes
      }
      if (e.walkMs)
        lines.push(
          `- ${r.scenario}, c=${r.concurrency}: ${e.pagesPerWalk} pages / ${e.recordsPerWalk} records per walk; ` +
            `walk p50 ${fmt(e.walkMs.p50)} ms, p95 ${fmt(e.walkMs.p95)} ms (${e.walkMs.n} walks)`,
        )
      if (e.stagesP50)
        lines.push(
          `- ${r.scenario}: p50 by stage — PAR ${fmt(e.stagesP50.par)} ms, browser (authorize/login/consent) ` +
            `${fmt(e.stagesP50.browser)} ms, code exchange ${fmt(e.stagesP50.token)} ms`,
        )
    }
  }
  if (micro.length) {
    lines.push(
      '',
      '| micro-benchmark (in-process) | conc | ops | ops/s | p50 µs | p95 µs | p99 µs |',
      '|---|---:|---:|---:|---:|---:|---:|',
    )
    for (const m of micro)
      lines.push(
        `| ${m.name} | ${m.concurrency} | ${m.ops} | ${m.throughput.toFixed(0)} | ${(m.latency.p50 * 1000).toFixed(0)} | ` +
          `${(m.latency.p95 * 1000).toFixed(0)} | ${(m.latency.p99 * 1000).toFixed(0)} |`,
      )
  }
  console.log(lines.join('\n'))

  const dir = new URL('./results/', import.meta.url).pathname
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${storeKind}-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`)
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        store: storeKind,
        startedAt: startedAt.toISOString(),
        machine: { cpus: cpus().length, model: cpus()[0]?.model.trim(), node: process.version },
        options: {
          quick: args.quick,
          only: args.only ?? null,
          profile: args.profile ?? null,
          maxMs: MAX_MS,
          budget: BUDGET,
        },
        scenarios: results,
        micro,
      },
      null,
      2,
    )}\n`,
  )
  console.error(`results: ${file}`)
}

await main()
