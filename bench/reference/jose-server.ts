/**
 * Reference 1: a hand-written jose resource server — what the crypto alone allows. EdDSA (Ed25519)
 * access tokens, ES256 DPoP proofs (RFC 9449 §4.3: typ, alg, embedded public key, signature, htm,
 * htu, iat, ath, jti), the proof key imported once per thumbprint, an in-memory jti set, the same
 * 100-record JSON body Consentry serves. No consent checks, no store, no audit. Run as a child of
 * bench/compare.ts (IPC: sends `{ url }`, gets `'stop'`).
 *
 * With a PostgreSQL URL and a schema (`jose-pg` in bench/compare.ts): a FLOOR for any server that
 * keeps a read's guarantees on a shared database — the least durable state one read must write, in
 * the cheapest shape: ONE statement per request, one round trip, one synchronous commit, that
 * records the proof's jti (insert-if-absent: replays refused by every instance, after restarts),
 * checks the grant is still active (revocation on the next request), counts the read in a one-row
 * counter and inserts its audit event — all only if the jti is new and the grant active, before the
 * body is sent. No consent checks, no Merkle tree, no sequencer, no exact sliding window. (Split in
 * two — jti, grant and counter committed without waiting, then the audit insert synchronously —
 * it measured the same on this machine: 0.42–0.43 × the jose server against 0.44–0.45.)
 *
 *   node --import tsx bench/reference/jose-server.ts <body.json> [<postgres url> <schema>]
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import {
  type CryptoKey,
  calculateJwkThumbprint,
  decodeProtectedHeader,
  generateKeyPair,
  importJWK,
  type JWK,
  jwtVerify,
  SignJWT,
} from 'jose'

const body = JSON.parse(readFileSync(process.argv[2]!, 'utf8'))
const [pgUrl, schema] = process.argv.slice(3)
const db = pgUrl && schema ? await openFloor(pgUrl, schema) : undefined

/** The floor's tables and its one statement per read (see the header). */
async function openFloor(url: string, schema: string) {
  const { default: pg } = await import('pg')
  const pool = new pg.Pool({ connectionString: url, max: 10 })
  const s = `"${schema}"`
  await pool.query(`
    CREATE SCHEMA ${s};
    CREATE TABLE ${s}.jtis (key text PRIMARY KEY, expires_at bigint NOT NULL);
    CREATE INDEX ON ${s}.jtis (expires_at);
    CREATE TABLE ${s}.grants (id text PRIMARY KEY, status text NOT NULL);
    CREATE TABLE ${s}.read_counts (grant_id text PRIMARY KEY, used bigint NOT NULL);
    CREATE TABLE ${s}.audit_events (seq bigserial PRIMARY KEY, grant_id text NOT NULL, event json NOT NULL);
    CREATE INDEX ON ${s}.audit_events (grant_id, seq);
    INSERT INTO ${s}.grants VALUES ('g1', 'active');
  `)
  const text = `WITH j AS (
      INSERT INTO ${s}.jtis (key, expires_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING RETURNING 1
    ), g AS (
      SELECT 1 FROM ${s}.grants WHERE id = $3 AND status = 'active' AND EXISTS (SELECT 1 FROM j)
    ), q AS (
      INSERT INTO ${s}.read_counts (grant_id, used) SELECT $3, 1 FROM g
      ON CONFLICT (grant_id) DO UPDATE SET used = read_counts.used + 1 RETURNING used
    ), a AS (
      INSERT INTO ${s}.audit_events (grant_id, event) SELECT $3, $4 FROM q RETURNING seq
    )
    SELECT count(*)::int AS ok FROM a`
  return async (jti: string, expiresAt: number, event: string) => {
    const r = await pool.query({ name: 'floor', text, values: [jti, expiresAt, 'g1', event] })
    return r.rows[0]?.ok === 1
  }
}
const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' })
const ISSUER = 'http://127.0.0.1/reference'
const seen = new Map<string, number>() // jti → expiry (ms)
const keys = new Map<string, Promise<CryptoKey>>()

function deny(res: import('node:http').ServerResponse, status: number, error: string) {
  res.writeHead(status, { 'content-type': 'application/json', 'www-authenticate': `DPoP error="${error}"` })
  res.end(JSON.stringify({ error }))
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url!, `http://${req.headers.host}`)
  if (url.pathname === '/token') {
    // Not measured: mints the access token bound to the load generator's DPoP key.
    const token = await new SignJWT({ client_id: 'bench', cnf: { jkt: url.searchParams.get('jkt') } })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setAudience(ISSUER)
      .setSubject('alice')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey)
    res.end(JSON.stringify({ access_token: token }))
    return
  }
  try {
    const auth = req.headers.authorization ?? ''
    if (!auth.startsWith('DPoP ')) return deny(res, 401, 'invalid_token')
    const token = auth.slice(5)
    const { payload: at } = await jwtVerify(token, publicKey, {
      typ: 'at+jwt',
      algorithms: ['EdDSA'],
      issuer: ISSUER,
      audience: ISSUER,
    })
    const proof = req.headers.dpop
    if (typeof proof !== 'string') return deny(res, 401, 'invalid_dpop_proof')
    const h = decodeProtectedHeader(proof)
    if (h.typ !== 'dpop+jwt' || h.alg !== 'ES256' || !h.jwk) return deny(res, 401, 'invalid_dpop_proof')
    const jkt = await calculateJwkThumbprint(h.jwk as JWK)
    let key = keys.get(jkt)
    if (!key) {
      key = importJWK(h.jwk as JWK, 'ES256') as Promise<CryptoKey>
      keys.set(jkt, key)
    }
    const { payload: p } = await jwtVerify(proof, await key, { typ: 'dpop+jwt', algorithms: ['ES256'] })
    const nowS = Date.now() / 1000
    if (
      p.htm !== 'GET' ||
      p.htu !== `http://${req.headers.host}${url.pathname}` ||
      typeof p.iat !== 'number' ||
      Math.abs(nowS - p.iat) > 60 ||
      typeof p.jti !== 'string' ||
      p.ath !== createHash('sha256').update(token).digest('base64url') ||
      (at.cnf as { jkt?: string } | undefined)?.jkt !== jkt
    )
      return deny(res, 401, 'invalid_dpop_proof')
    if (db) {
      const event = JSON.stringify({
        type: 'data.read',
        grant_id: 'g1',
        client_id: at.client_id,
        at: new Date().toISOString(),
        data: { records: 100, attended: true },
      })
      if (!(await db(`${jkt}:${p.jti}`, (p.iat + 120) * 1000, event)))
        return deny(res, 401, 'invalid_dpop_proof')
    } else {
      if (seen.has(p.jti)) return deny(res, 401, 'invalid_dpop_proof')
      seen.set(p.jti, (p.iat + 120) * 1000)
      if (seen.size > 200_000) for (const [j, exp] of seen) if (exp < Date.now()) seen.delete(j)
    }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
    res.end(JSON.stringify(body))
  } catch {
    deny(res, 401, 'invalid_token')
  }
})
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as import('node:net').AddressInfo
  process.send!({ url: `http://127.0.0.1:${port}/api/accounts/acc_alice_wallet/transactions` })
})
process.on('message', (m) => m === 'stop' && server.close(() => process.exit(0)))
process.on('message', (m) => {
  // bench/compare.ts: the CPU this process has used (user + system µs), around a measured phase.
  if (m === 'cpu') process.send!({ cpu: process.cpuUsage() })
})
process.on('disconnect', () => process.exit(0))
