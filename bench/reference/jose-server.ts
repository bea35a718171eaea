/**
 * Reference 1: a hand-written jose resource server — what the crypto alone allows. EdDSA (Ed25519)
 * access tokens, ES256 DPoP proofs (RFC 9449 §4.3: typ, alg, embedded public key, signature, htm,
 * htu, iat, ath, jti), the proof key imported once per thumbprint, an in-memory jti set, the same
 * 100-record JSON body Consentry serves. No consent checks, no store, no audit. Run as a child of
 * bench/compare.ts (IPC: sends `{ url }`, gets `'stop'`).
 *
 *   node --import tsx bench/reference/jose-server.ts <body.json>
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
    if (seen.has(p.jti)) return deny(res, 401, 'invalid_dpop_proof')
    seen.set(p.jti, (p.iat + 120) * 1000)
    if (seen.size > 200_000) for (const [j, exp] of seen) if (exp < Date.now()) seen.delete(j)
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
