/**
 * The side-by-side read benchmark (the default of `npm run bench`): the Consentry demo holder on each
 * store, as users run it (background maintenance on), and two reference servers, each in its own
 * child process, driven in ONE run by the same cheap load generator. See bench/README.md.
 *
 * Load: `CONNECTIONS` keep-alive connections, closed loop, `GET …/transactions?limit=100` attended
 * (`x-fapi-customer-ip-address`). Every request carries a fresh DPoP proof taken from a pool signed
 * beforehand (unique `jti`, right `htu`, `ath` and server nonce), so the generator only writes bytes:
 * the pool is sized from the warm-up rate and signed again (time excluded) if the server's nonce moves.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { createHash, generateKeyPairSync, KeyObject, randomBytes, sign } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose'
import pg from 'pg'
import { HISTORY_DETAIL, link, registerRecipient } from '../test/helpers/recipient.ts'
import { fmt, now, type Summary, summarize } from './lib.ts'

export interface CompareOptions {
  /** Configurations to run, in order (default: all). */
  configs: string[]
  rounds: number
  /** Measured seconds per configuration and round (after a warm-up of a fifth of it). */
  seconds: number
  pg: string
  /** Measured slices per server and round, interleaved across the round's servers (default 4). */
  slices: number
  /** Write the Consentry children's CPU profiles here (`node --cpu-prof`). */
  profile?: string
}

export const CONFIGS = ['memory', 'jose', 'oidc-provider', 'postgres', 'jose-pg', 'sqlite', 'pglite'] as const
const LABEL: Record<string, string> = {
  jose: 'hand-written jose resource server (EdDSA AT + ES256 DPoP, key cache, in-memory jti set, no consent, no audit)',
  'jose-pg':
    'floor: the jose server + one statement per read on PostgreSQL (jti insert-if-absent, grant still active, read counter, audit insert; synchronous commit)',
  'oidc-provider': 'node-oidc-provider 9 userinfo, DPoP-bound opaque token, nonces, memory adapter',
  memory: 'Consentry (Harbor Pay demo holder, maintenance on), memory store',
  postgres: 'Consentry (Harbor Pay demo holder, maintenance on), PostgreSQL store',
  sqlite:
    'Consentry (Harbor Pay demo holder, maintenance on), embedded SQLite store (node:sqlite, the default)',
  pglite: 'Consentry (Harbor Pay demo holder, maintenance on), embedded PGlite store',
}
const CONNECTIONS = 10
const PRESENT = '203.0.113.7'

interface Target {
  child: ChildProcess
  url: string
  token: string
  key: KeyObject
  jwk: JWK
}

interface Measured {
  config: string
  round: number
  load: number[]
  requests: number
  elapsedMs: number
  throughput: number
  latency: Summary
  errors: number
  firstError?: string
  nonceChanges: number
  /** Server-process CPU per request (µs, user + system): independent of how busy the machine is. */
  cpuUs: number
  /** The part of cpuUs spent in the kernel (socket writes and reads, mostly). */
  systemCpuUs: number
  /** CPU of every `postgres` process on this host per request (µs; PostgreSQL configurations only). */
  dbCpuUs?: number
  /** This process's (the load generator's) CPU per request (µs). */
  loadCpuUs: number
}

// ---- DPoP proofs, signed ahead of time ----------------------------------------------------------

const b64u = (s: string | Buffer) => Buffer.from(s).toString('base64url')

/** Signs DPoP proofs (ES256, RFC 9449) for GET `htu` with `ath` and the server's nonce, in node:crypto. */
export function proofSigner(key: KeyObject, jwk: JWK) {
  const header = b64u(
    JSON.stringify({
      typ: 'dpop+jwt',
      alg: 'ES256',
      jwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y },
    }),
  )
  return (htu: string, ath: string, nonce: string | undefined) => {
    const payload = b64u(
      JSON.stringify({
        jti: randomBytes(16).toString('base64url'),
        htm: 'GET',
        htu,
        iat: Math.floor(Date.now() / 1000),
        ath,
        ...(nonce ? { nonce } : {}),
      }),
    )
    const input = `${header}.${payload}`
    const sig = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
    return `${input}.${sig.toString('base64url')}`
  }
}

export interface Reply {
  status: number
  body: string
  nonce: string | undefined
  challenge: string
}

/** One attended resource read with the DPoP-bound token and a proof. */
export function get(agent: Agent, url: URL, token: string, proof: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        agent,
        headers: { authorization: `DPoP ${token}`, dpop: proof, 'x-fapi-customer-ip-address': PRESENT },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            body: Buffer.concat(chunks).toString(),
            nonce: res.headers['dpop-nonce'] as string | undefined,
            challenge: String(res.headers['www-authenticate'] ?? ''),
          }),
        )
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end()
  })
}

/** Closed loop over a proof pool: stops when the pool or the time is spent. */
async function drive(t: Target, agent: Agent, state: { nonce?: string }, pool: number, maxMs: number) {
  const url = new URL(t.url)
  const htu = `${url.origin}${url.pathname}`
  const ath = createHash('sha256').update(t.token).digest('base64url')
  const signer = proofSigner(t.key, t.jwk)
  let proofs: string[] = []
  const fill = (n: number) => {
    proofs = Array.from({ length: n }, () => signer(htu, ath, state.nonce))
  }
  fill(pool)
  const samples: number[] = []
  let errors = 0
  let firstError: string | undefined
  let paused = 0
  let nonceChanges = 0
  const t0 = now()
  const worker = async () => {
    for (;;) {
      if (now() - t0 - paused > maxMs) return
      const proof = proofs.pop()
      if (!proof) return
      const s = now()
      let r: Reply
      try {
        r = await get(agent, url, t.token, proof)
      } catch (e) {
        errors++
        firstError ??= String(e)
        continue
      }
      if (r.nonce && r.nonce !== state.nonce) {
        // The server's nonce moved: sign the rest of the pool again (not counted as load time).
        state.nonce = r.nonce
        nonceChanges++
        const p0 = now()
        fill(proofs.length)
        paused += now() - p0
      }
      if (r.status === 200) samples.push(now() - s)
      else {
        errors++
        firstError ??= `${r.status} ${r.challenge} ${r.body.slice(0, 200)}`
      }
    }
  }
  await Promise.all(Array.from({ length: CONNECTIONS }, worker))
  const elapsedMs = now() - t0 - paused
  return { samples, errors, firstError, elapsedMs, nonceChanges }
}

// ---- the servers --------------------------------------------------------------------------------

/** Start a bench server script in its own process (IPC); resolves with its first message. */
export function forkChild(
  script: string,
  argv: string[],
  profile?: string,
  nodeFlags: string[] = [],
): Promise<{ child: ChildProcess; msg: unknown }> {
  const execArgv = ['--conditions=source', '--import', 'tsx', ...nodeFlags]
  if (profile) execArgv.push('--cpu-prof', `--cpu-prof-dir=${profile}`)
  const child = fork(new URL(script, import.meta.url).pathname, argv, {
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  return new Promise((resolve, reject) => {
    child.once('message', (msg) => resolve({ child, msg }))
    child.once('exit', (code) => reject(new Error(`${script} exited early (${code})`)))
  })
}

/** The child's CPU time so far (µs): user + system, and system alone. */
function cpuOf(child: ChildProcess): Promise<{ total: number; system: number }> {
  return new Promise((resolve) => {
    const on = (m: unknown) => {
      const cpu = (m as { cpu?: { user: number; system: number } }).cpu
      if (!cpu) return
      child.off('message', on)
      resolve({ total: cpu.user + cpu.system, system: cpu.system })
    }
    child.on('message', on)
    child.send('cpu')
  })
}

/**
 * CPU time so far (µs, user + system) of every process named `postgres` on this host, from /proc: the
 * backends, the WAL writer, the checkpointer, autovacuum — and, through the postmaster's reaped-children
 * times (cutime + cstime), the backends that have exited since (a pool closing an idle connection
 * otherwise took its CPU out of the sum: negative deltas). 0 where /proc is not readable.
 */
function postgresCpu(): number {
  let total = 0
  let dirs: string[] = []
  try {
    dirs = readdirSync('/proc').filter((d) => /^\d+$/.test(d))
  } catch {
    return 0
  }
  for (const d of dirs) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8')
      const open = stat.indexOf('(')
      const close = stat.lastIndexOf(')')
      if (stat.slice(open + 1, close) !== 'postgres') continue
      const f = stat.slice(close + 2).split(' ')
      // utime + stime + cutime + cstime, in clock ticks (100/s)
      total += (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 10_000
    } catch {
      // the process ended between the listing and the read
    }
  }
  return total
}

/** Ask a child to stop (`'stop'`), kill it after 10 s. */
export async function stop(child: ChildProcess) {
  const exited = new Promise((r) => child.once('exit', r))
  child.send('stop')
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))])
  if (child.exitCode === null) child.kill()
}

async function startConsentry(
  kind: string,
  o: CompareOptions,
  temp: string,
  schema: string,
): Promise<Target> {
  const where =
    kind === 'pglite' || kind === 'sqlite' ? join(temp, `db-${Date.now()}`) : kind === 'postgres' ? o.pg : ''
  const { child, msg } = await forkChild('./server.ts', [kind, where, schema, 'maintenance'], o.profile)
  const issuer = (msg as { issuer: string }).issuer
  const r = await registerRecipient(issuer)
  const { tokens, pending } = await link(issuer, r, [{ ...HISTORY_DETAIL, period: { lookback_days: 365 } }])
  return {
    child,
    url: `${issuer}/api/accounts/acc_alice_wallet/transactions?limit=100`,
    token: tokens.access_token,
    key: KeyObject.from(pending.dpopKeys.privateKey),
    jwk: await exportJWK(pending.dpopKeys.publicKey),
  }
}

async function startReference(
  kind: 'jose' | 'oidc-provider',
  bodyFile: string,
  floor?: { pg: string; schema: string },
): Promise<Target> {
  const script = kind === 'jose' ? './reference/jose-server.ts' : './reference/oidc-provider-server.ts'
  const { child, msg } = await forkChild(script, floor ? [bodyFile, floor.pg, floor.schema] : [bodyFile])
  const url = new URL((msg as { url: string }).url)
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = publicKey.export({ format: 'jwk' }) as JWK
  const jkt = await calculateJwkThumbprint(jwk)
  const minted = await fetch(`${url.origin}/${kind === 'jose' ? 'token' : 'bench-token'}?jkt=${jkt}`)
  const { access_token } = (await minted.json()) as { access_token: string }
  return {
    child,
    url: `${url.href}${kind === 'jose' ? '?limit=100' : ''}`,
    token: access_token,
    key: privateKey,
    jwk,
  }
}

/** A started, warmed server and what its measured slices add up to. */
interface Live {
  config: string
  target: Target
  state: { nonce?: string }
  /** Requests per second in the warm-up: sizes each slice's proof pool. */
  warmRate: number
  body: string
  samples: number[]
  errors: number
  firstError?: string
  elapsedMs: number
  nonceChanges: number
  cpu: { total: number; system: number }
  dbCpu: number
  loadCpu: number
  load: number[]
}

const onPostgres = (config: string) => config === 'postgres' || config === 'jose-pg'

/** First read (the server's nonce; the body), then a warm-up of `ms`. */
async function warm(config: string, t: Target, ms: number): Promise<Live> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS })
  const state: { nonce?: string } = {}
  const url = new URL(t.url)
  const ath = createHash('sha256').update(t.token).digest('base64url')
  const signer = proofSigner(t.key, t.jwk)
  let first = await get(agent, url, t.token, signer(`${url.origin}${url.pathname}`, ath, undefined))
  state.nonce = first.nonce
  if (first.status === 401)
    first = await get(agent, url, t.token, signer(`${url.origin}${url.pathname}`, ath, state.nonce))
  if (first.status !== 200) {
    agent.destroy()
    await stop(t.child)
    throw new Error(`${config}: ${first.status} ${first.challenge} ${first.body.slice(0, 300)}`)
  }
  const w = await drive(t, agent, state, 20_000, ms)
  agent.destroy()
  return {
    config,
    target: t,
    state,
    warmRate: (w.samples.length / w.elapsedMs) * 1000,
    body: first.body,
    samples: [],
    errors: 0,
    elapsedMs: 0,
    nonceChanges: 0,
    cpu: { total: 0, system: 0 },
    dbCpu: 0,
    loadCpu: 0,
    load: loadavg().map((x) => Math.round(x * 100) / 100),
  }
}

/**
 * One measured slice of `ms` on a live server, added to its totals. Its own keep-alive connections:
 * those of the previous slice were idle past the server's keep-alive timeout.
 */
async function slice(l: Live, ms: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS })
  const cpu0 = await cpuOf(l.target.child)
  const db0 = onPostgres(l.config) ? postgresCpu() : 0
  const load0 = process.cpuUsage()
  const m = await drive(l.target, agent, l.state, Math.ceil(((l.warmRate * ms) / 1000) * 1.5) + 200, ms)
  const loadCpu = process.cpuUsage(load0)
  agent.destroy()
  if (onPostgres(l.config)) l.dbCpu += postgresCpu() - db0
  const cpu1 = await cpuOf(l.target.child)
  l.cpu.total += cpu1.total - cpu0.total
  l.cpu.system += cpu1.system - cpu0.system
  l.loadCpu += loadCpu.user + loadCpu.system
  for (const x of m.samples) l.samples.push(x)
  l.errors += m.errors
  l.firstError ??= m.firstError
  l.elapsedMs += m.elapsedMs
  l.nonceChanges += m.nonceChanges
}

function rowOf(l: Live, round: number): Measured {
  const served = Math.max(1, l.samples.length + l.errors)
  return {
    config: l.config,
    round,
    load: l.load,
    requests: l.samples.length,
    elapsedMs: l.elapsedMs,
    throughput: (l.samples.length / l.elapsedMs) * 1000,
    latency: summarize(l.samples),
    errors: l.errors,
    ...(l.firstError ? { firstError: l.firstError } : {}),
    nonceChanges: l.nonceChanges,
    cpuUs: l.cpu.total / served,
    systemCpuUs: l.cpu.system / served,
    ...(onPostgres(l.config) ? { dbCpuUs: l.dbCpu / served } : {}),
    loadCpuUs: l.loadCpu / served,
  }
}

// ---- the run ------------------------------------------------------------------------------------

export async function compare(o: CompareOptions): Promise<void> {
  const temp = mkdtempSync(join(tmpdir(), 'consentry-compare-'))
  const schema = `consentry_compare_${process.pid}_${Date.now().toString(36)}`
  const bodyFile = join(temp, 'body.json')
  let body: string | undefined
  const rows: Measured[] = []
  const startedAt = new Date()
  // The reference servers serve Consentry's own body: a Consentry configuration runs first.
  const isReference = (c: string) => c === 'jose' || c === 'oidc-provider' || c === 'jose-pg'
  const order = [...o.configs].sort((a, b) => Number(isReference(a)) - Number(isReference(b)))
  try {
    for (let round = 1; round <= o.rounds; round++) {
      // Every server of the round is started and warmed first, then measured in interleaved slices
      // (a slice of each in turn, the order rotated): the machine's speed drifts by ±20 % over tens of
      // seconds, and a drift now lands on every server of the round alike instead of on one of them.
      const live: Live[] = []
      try {
        for (const config of round === 1 ? order : o.configs) {
          if (isReference(config) && !body)
            throw new Error(
              'the reference servers need a Consentry configuration in the same run (for the body)',
            )
          const t =
            config === 'jose' || config === 'oidc-provider'
              ? await startReference(config, bodyFile)
              : config === 'jose-pg'
                ? await startReference('jose', bodyFile, { pg: o.pg, schema: `${schema}_floor_${round}` })
                : await startConsentry(config, o, temp, `${schema}_${round}`)
          const l = await warm(config, t, (o.seconds * 1000) / 5)
          live.push(l)
          if (!body) {
            body = l.body
            writeFileSync(bodyFile, body)
          }
        }
        const slices = Math.max(1, o.slices)
        for (let k = 0; k < slices; k++)
          for (let i = 0; i < live.length; i++)
            await slice(live[(i + k) % live.length]!, (o.seconds * 1000) / slices)
        for (const l of live) {
          const row = rowOf(l, round)
          rows.push(row)
          console.error(
            `  round ${round} ${row.config}: ${row.throughput.toFixed(0)} req/s (${row.requests} req, p50 ${fmt(row.latency.p50)} ms, ` +
              `p99 ${fmt(row.latency.p99)} ms, ${row.cpuUs.toFixed(0)} µs CPU/req (system ${row.systemCpuUs.toFixed(0)})` +
              `${row.dbCpuUs !== undefined ? ` + database ${row.dbCpuUs.toFixed(0)}` : ''}, load generator ${row.loadCpuUs.toFixed(0)}, ` +
              `${row.errors} errors${row.firstError ? `: ${row.firstError}` : ''}), load ${row.load.join(' ')}`,
          )
        }
      } finally {
        await Promise.all(live.map((l) => stop(l.target.child)))
      }
    }
  } finally {
    if (o.configs.includes('postgres') || o.configs.includes('jose-pg')) {
      const admin = new pg.Pool({ connectionString: o.pg, max: 1 })
      for (let round = 1; round <= o.rounds; round++)
        for (const name of [`${schema}_${round}`, `${schema}_floor_${round}`])
          await admin.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`).catch(() => {})
      await admin.end()
    }
    rmSync(temp, { recursive: true, force: true })
  }
  report(startedAt, o, rows)
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

function report(startedAt: Date, o: CompareOptions, rows: Measured[]) {
  const med = (c: string) => median(rows.filter((r) => r.config === c).map((r) => r.throughput))
  const hasRef = o.configs.includes('jose')
  /** Ratio to the jose server of the same round (the machine's load moves between rounds), median. */
  const ratio = (c: string) =>
    median(
      rows
        .filter((r) => r.config === c)
        .map((r) => r.throughput / rows.find((j) => j.config === 'jose' && j.round === r.round)!.throughput),
    )
  const cpu = (c: string) => median(rows.filter((r) => r.config === c).map((r) => r.cpuUs))
  const dbCpu = (c: string) => {
    const xs = rows.filter((r) => r.config === c && r.dbCpuUs !== undefined).map((r) => r.dbCpuUs!)
    return xs.length ? median(xs).toFixed(0) : '–'
  }
  const loadCpu = (c: string) => median(rows.filter((r) => r.config === c).map((r) => r.loadCpuUs)).toFixed(0)
  const lines = [
    `### ${startedAt.toISOString()} — ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}; ` +
      `${CONNECTIONS} connections, ${o.seconds} s per run, ${o.rounds} rounds`,
    '',
    '| server | req/s (median) | × jose (same round, median) | runs (req/s @ load avg) | p50 ms | p99 ms | server CPU µs/req | × jose by CPU | database CPU µs/req | load generator CPU µs/req | errors |',
    '|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|',
  ]
  const shown = [
    ...CONFIGS.filter((c) => c === 'jose' || c === 'oidc-provider' || c === 'jose-pg'),
    ...CONFIGS.filter((c) => c !== 'jose' && c !== 'oidc-provider' && c !== 'jose-pg'),
  ]
  for (const c of shown) {
    if (!o.configs.includes(c)) continue
    const rs = rows.filter((r) => r.config === c)
    lines.push(
      `| ${LABEL[c]} | ${med(c).toFixed(0)} | ${hasRef ? ratio(c).toFixed(2) : '–'} | ` +
        `${rs.map((r) => `${r.throughput.toFixed(0)} @ ${r.load[0]}`).join(', ')} | ` +
        `${fmt(median(rs.map((r) => r.latency.p50)))} | ${fmt(median(rs.map((r) => r.latency.p99)))} | ` +
        `${cpu(c).toFixed(0)} | ${hasRef ? (cpu('jose') / cpu(c)).toFixed(2) : '–'} | ${dbCpu(c)} | ${loadCpu(c)} | ` +
        `${rs.reduce((a, r) => a + r.errors, 0)} |`,
    )
  }
  console.log(lines.join('\n'))
  const dir = new URL('./results/', import.meta.url).pathname
  const file = join(dir, `compare-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`)
  mkdirSync(dir, { recursive: true })
  writeFileSync(
    file,
    `${JSON.stringify({ startedAt, options: o, connections: CONNECTIONS, rows }, null, 2)}\n`,
  )
  console.error(`results: ${file}`)
}
