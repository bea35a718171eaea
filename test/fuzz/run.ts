/**
 * The fuzz runner: starts a Harbor Pay holder on a store, links a recipient (so the generator has a
 * live client, grant, access token and DPoP key to weave in), then sends generated requests over a
 * real keep-alive socket and checks the invariant on every answer: never a 5xx, never a dropped
 * connection, never an unexpected-error log line. Used by `test/fuzz.test.ts` (CI size) and
 * `bench/fuzz.ts` (a million, locally).
 */
import { Agent, request as httpRequest } from 'node:http'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { Store } from '@consentry/server'
import fc from 'fast-check'
import { base64url } from 'jose'
import { type HarborPay, startHarborPay } from '../../examples/payment-provider/src/app.ts'
import { clientAssertion, dpopProof, fetchNonce, JWT_BEARER } from '../helpers/raw.ts'
import { link, type Recipient, registerRecipient } from '../helpers/recipient.ts'
import { type FuzzRequest, fuzzRequest, type Known } from './requests.ts'

/** Requests in flight at once. */
const BATCH = 8

export interface FuzzStats {
  runs: number
  byStatus: Record<number, number>
  /** Requests answered ≥ 500 or not at all, with what was sent (first few). */
  failures: string[]
  unexpectedErrors: number
  rssStartMb: number
  rssEndMb: number
  rssMaxMb: number
  /** Live heap after a full GC, before and after the run (only when node runs with --expose-gc). */
  heapStartMb?: number
  heapEndMb?: number
  seconds: number
  seed: number
}

export interface FuzzTarget {
  holder: HarborPay
  known: Known
  recipient: Recipient
  dpopKeys: CryptoKeyPair
  /** Errors the server reported through its error hook. */
  unexpected: unknown[]
  close(): Promise<void>
}

/** A holder on `store` with one linked recipient, and everything the generator needs to know. */
export async function startFuzzTarget(store: Store): Promise<FuzzTarget> {
  const unexpected: unknown[] = []
  const holder = await startHarborPay({
    store,
    port: 0,
    publicHost: '127.0.0.1',
    maintenance: false,
    overrides: {
      onError: (e) => unexpected.push(e),
      // Every host name a generated jwks_uri / webhook_uri / logo_uri names "resolves" to loopback:
      // the guarded fetch then refuses it (or finds nothing listening), and no DNS query leaves.
      egress: { resolve: async () => [{ address: '127.0.0.1', family: 4 }], timeoutMs: 1000 },
    },
  })
  const recipient = await registerRecipient(holder.issuer)
  const linked = await link(holder.issuer, recipient)
  const resourcePath = new URL(holder.server.urls.resource).pathname
  const known: Known = {
    clientId: recipient.client.client_id,
    grantId: String(linked.tokens.grant_id),
    accountId: 'acc_alice_wallet',
    accessToken: linked.tokens.access_token,
    refreshToken: String(linked.tokens.refresh_token),
    redirectUri: recipient.redirectUri,
    resourcePath,
    issuer: holder.issuer,
  }
  return {
    holder,
    known,
    recipient,
    dpopKeys: linked.pending.dpopKeys,
    unexpected,
    close: () => holder.close(),
  }
}

/** Percent-encode what node:http will not put in a request line (anything outside `!`..`~`). */
function wireSafe(s: string): string {
  return Array.from(s, (c) =>
    /^[!-~]$/.test(c)
      ? c
      : Array.from(
          new TextEncoder().encode(c),
          (b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
        ).join(''),
  ).join('')
}

function describe(r: FuzzRequest): string {
  const body =
    r.body?.type === 'form'
      ? `form ${JSON.stringify(r.body.fields).slice(0, 300)} assertion=${JSON.stringify(r.body.assertion)}`
      : r.body
        ? `raw ${r.body.bytes.byteLength} bytes: ${JSON.stringify(new TextDecoder().decode(r.body.bytes.slice(0, 200)))}`
        : 'no body'
  return `${r.method} ${r.path} ?${JSON.stringify(r.query).slice(0, 200)} headers=${JSON.stringify(r.headers).slice(0, 300)} proof=${r.proof} ${body}`
}

/**
 * `proof` re-signed (ES256, validly) with hostile claims merged in. Signed by hand: jose rightly
 * refuses to sign a non-finite `nbf` or a string `iat`, which is exactly what the server must survive.
 */
async function withClaims(keys: CryptoKeyPair, proof: string, claims: Record<string, unknown>) {
  const [h, p] = proof.split('.') as [string, string]
  const payload = { ...JSON.parse(new TextDecoder().decode(base64url.decode(p))), ...claims }
  const input = `${h}.${base64url.encode(JSON.stringify(payload))}`
  const signature = await crypto.subtle.sign(
    { name: 'ECDSA', hash: 'SHA-256' },
    keys.privateKey,
    new TextEncoder().encode(input),
  )
  return `${input}.${base64url.encode(new Uint8Array(signature))}`
}

/** A full-GC function, so memory is measured as the live heap (RSS moves with the collector's mood). */
function exposeGc(): (() => void) | undefined {
  const existing = (globalThis as { gc?: () => void }).gc
  if (existing) return existing
  try {
    setFlagsFromString('--expose-gc')
    return runInNewContext('gc') as () => void
  } catch {
    return undefined
  }
}

/** Send `count` generated requests (fast-check property) and report what came back. */
export async function fuzz(
  t: FuzzTarget,
  o: {
    /** About this many requests are sent (batches of 1 to {@link BATCH}). */
    runs: number
    seed?: number
    /** How many failing requests to describe. Default 20. */
    maxFailures?: number
    /** Fail the property (and let fast-check shrink) at the first bad answer. */
    stopOnFailure?: boolean
    onProgress?: (done: number, s: FuzzStats) => void
  },
): Promise<FuzzStats> {
  const seed = o.seed ?? Date.now() ^ (Math.random() * 2 ** 31)
  const issuer = new URL(t.holder.issuer)
  const agent = new Agent({ keepAlive: true, maxSockets: BATCH })
  const mb = () => Math.round(process.memoryUsage().rss / 2 ** 20)
  const gc = exposeGc()
  const liveHeapMb = () => {
    gc?.()
    return gc ? Math.round(process.memoryUsage().heapUsed / 2 ** 20) : undefined
  }
  const heapStartMb = liveHeapMb()
  const stats: FuzzStats = {
    runs: 0,
    byStatus: {},
    failures: [],
    unexpectedErrors: 0,
    rssStartMb: mb(),
    rssEndMb: 0,
    rssMaxMb: mb(),
    seconds: 0,
    seed,
  }
  const started = performance.now()
  let nonce = await fetchNonce(t.recipient)
  let nonceAt = Date.now()
  const basePath = issuer.pathname.replace(/\/$/, '')

  const send = async (r: FuzzRequest): Promise<number> => {
    if (Date.now() - nonceAt > 60_000) {
      nonce = await fetchNonce(t.recipient)
      nonceAt = Date.now()
    }
    const path = basePath + wireSafe(r.path)
    const query = r.query.map(([k, v]) => `${wireSafe(k)}=${wireSafe(v)}`).join('&')
    const headers: Record<string, string> = { ...r.headers }
    if (r.proof !== 'none') {
      const proof = await dpopProof(t.dpopKeys, {
        htm: r.method,
        htu: `${issuer.origin}${path}`,
        nonce,
        accessToken: t.known.accessToken,
      })
      headers.dpop = r.proof === 'fuzzed' ? await withClaims(t.dpopKeys, proof, r.proofClaims) : proof
    }
    let bytes: Uint8Array | undefined
    if (r.body?.type === 'form') {
      const fields = new URLSearchParams()
      for (const [k, v] of r.body.fields) fields.append(k, v)
      if (r.body.assertion.kind === 'assertion') {
        const claims = r.body.assertion.claims
        fields.set('client_id', t.known.clientId)
        fields.set('client_assertion_type', JWT_BEARER)
        fields.set(
          'client_assertion',
          await clientAssertion(t.recipient, {
            ...(claims.aud !== undefined ? { aud: claims.aud as string } : {}),
            ...(Number.isFinite(claims.exp) ? { exp: claims.exp as number } : {}),
          }),
        )
      }
      bytes = new TextEncoder().encode(fields.toString())
    } else if (r.body) bytes = r.body.bytes
    // Framed explicitly: node's client sends a GET/HEAD/DELETE body with no length at all, which a
    // server can only read as the start of the next request.
    if (bytes) headers['content-length'] = String(bytes.byteLength)
    return new Promise<number>((resolve) => {
      const req = httpRequest(
        {
          agent,
          host: issuer.hostname,
          port: issuer.port,
          method: r.method,
          path: query ? `${path}?${query}` : path,
          headers,
        },
        (res) => {
          res.resume()
          res.on('end', () => resolve(res.statusCode ?? 0))
          res.on('error', () => resolve(0))
        },
      )
      // node:http answers a CONNECT on the 'connect' event, whatever the status.
      req.on('connect', (res, socket) => {
        socket.destroy()
        resolve(res.statusCode ?? 0)
      })
      req.on('error', () => resolve(0))
      req.setTimeout(15_000, () => {
        req.destroy()
        resolve(-1)
      })
      if (bytes) req.end(bytes)
      else req.end()
    })
  }

  try {
    await fc.assert(
      // A batch of requests at once over BATCH keep-alive sockets: the holder and the generator share
      // one thread, so concurrency is what keeps both busy.
      fc.asyncProperty(fc.array(fuzzRequest(t.known), { minLength: 1, maxLength: BATCH }), async (batch) => {
        const statuses = await Promise.all(batch.map(send))
        let ok = true
        for (const [i, status] of statuses.entries()) {
          stats.runs++
          stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1
          if (stats.runs % 1000 === 0) {
            stats.rssMaxMb = Math.max(stats.rssMaxMb, mb())
            o.onProgress?.(stats.runs, stats)
          }
          const bad = status >= 500 || status <= 0 || t.unexpected.length > stats.unexpectedErrors
          stats.unexpectedErrors = t.unexpected.length
          if (bad) ok = false
          if (bad && stats.failures.length < (o.maxFailures ?? 20))
            stats.failures.push(
              `${status}: ${describe(batch[i]!)}${t.unexpected.length ? ` (${String(t.unexpected.at(-1))})` : ''}`,
            )
        }
        // Keep going unless told to stop at the first failure: a run reports every class it meets.
        return o.stopOnFailure ? ok : true
      }),
      { numRuns: Math.ceil(o.runs / ((BATCH + 1) / 2)), seed, endOnFailure: true },
    )
  } finally {
    agent.destroy()
    stats.seconds = Math.round((performance.now() - started) / 100) / 10
    stats.rssEndMb = mb()
    const heapEndMb = liveHeapMb()
    if (heapStartMb !== undefined && heapEndMb !== undefined) Object.assign(stats, { heapStartMb, heapEndMb })
    stats.rssMaxMb = Math.max(stats.rssMaxMb, stats.rssEndMb)
  }
  return stats
}
