import { generateKeyPairSync, type KeyObject, sign as nodeSign } from 'node:crypto'
import { SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { decodeJwt, verifyJwt } from '../src/tokens/jws.ts'
import { jwkThumbprint, sha256 } from '../src/util/hash.ts'
import { Lru } from '../src/util/lru.ts'

const NOW = 1_700_000_000_000
const ed = generateKeyPairSync('ed25519')
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' })

const sign = (
  alg: string,
  key: KeyObject,
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
) =>
  new SignJWT({ sub: 's', jti: 'j', ...claims })
    .setProtectedHeader({ alg, typ: 'at+jwt', ...header })
    .setIssuer('https://as')
    .setAudience('https://rs')
    .setIssuedAt(NOW / 1000)
    .setExpirationTime(NOW / 1000 + 60)
    .sign(key)

/** An Ed25519 JWS over any header and payload (what jose would refuse to produce). */
const raw = (header: Record<string, unknown>, payload: Record<string, unknown>) => {
  const b = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  const input = `${b(header)}.${b(payload)}`
  return `${input}.${nodeSign(null, Buffer.from(input), ed.privateKey).toString('base64url')}`
}
const claims = {
  iss: 'https://as',
  aud: 'https://rs',
  sub: 's',
  jti: 'j',
  iat: NOW / 1000,
  exp: NOW / 1000 + 60,
}

const opts = {
  typ: 'at+jwt',
  algorithms: ['EdDSA', 'ES256'],
  now: NOW,
  issuer: 'https://as',
  audience: 'https://rs',
}

describe('verifyJwt (node:crypto, jose rules)', () => {
  it('accepts a valid EdDSA and ES256 token and returns its claims', async () => {
    const a = await verifyJwt(await sign('EdDSA', ed.privateKey), () => ed.publicKey, opts)
    expect(a?.payload).toMatchObject({ sub: 's', iss: 'https://as', aud: 'https://rs' })
    const b = await verifyJwt(await sign('ES256', ec.privateKey), () => ec.publicKey, opts)
    expect(b?.header.alg).toBe('ES256')
  })
  it('refuses a key of another type than alg says, a disallowed alg, and alg none', async () => {
    const token = await sign('ES256', ec.privateKey)
    expect(await verifyJwt(token, () => ed.publicKey, opts)).toBeNull()
    expect(await verifyJwt(token, () => ec384.publicKey, opts)).toBeNull()
    expect(await verifyJwt(token, () => ec.publicKey, { ...opts, algorithms: ['EdDSA'] })).toBeNull()
    const [, p, s] = token.split('.')
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')
    expect(await verifyJwt(`${none}.${p}.`, () => ec.publicKey, opts)).toBeNull()
    expect(await verifyJwt(`${none}.${p}.${s}`, () => ec.publicKey, opts)).toBeNull()
  })
  it('refuses a tampered payload or signature, extra segments and non-base64url', async () => {
    const token = await sign('EdDSA', ed.privateKey)
    const [h, p, s] = token.split('.') as [string, string, string]
    const other = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: 'x' }),
    ).toString('base64url')
    expect(await verifyJwt(`${h}.${other}.${s}`, () => ed.publicKey, opts)).toBeNull()
    // One bit of the signature flipped (not its last byte: an Ed25519 S has its top bits clear, so
    // zeroing the tail would leave 1 in 16 signatures unchanged).
    const flipped = Buffer.from(s, 'base64url')
    flipped[10]! ^= 1
    expect(await verifyJwt(`${h}.${p}.${flipped.toString('base64url')}`, () => ed.publicKey, opts)).toBeNull()
    expect(await verifyJwt(`${token}.x`, () => ed.publicKey, opts)).toBeNull()
    expect(await verifyJwt(`${h}.${p}.${s}=`, () => ed.publicKey, opts)).toBeNull()
    expect(await verifyJwt(`${h}.${p}+.${s}`, () => ed.publicKey, opts)).toBeNull()
    expect(decodeJwt('a.b')).toBeNull()
    expect(decodeJwt('x'.repeat(20_000))).toBeNull()
  })
  it('refuses crit, a wrong typ (accepting jose’s application/ prefix and case), no key', async () => {
    const h = { alg: 'EdDSA', typ: 'at+jwt' }
    expect(await verifyJwt(raw(h, claims), () => ed.publicKey, opts)).not.toBeNull()
    expect(await verifyJwt(raw({ ...h, crit: ['exp'], exp: 1 }, claims), () => ed.publicKey, opts)).toBeNull()
    expect(
      await verifyJwt(await sign('EdDSA', ed.privateKey, {}, { typ: 'JWT' }), () => ed.publicKey, opts),
    ).toBeNull()
    expect(
      await verifyJwt(
        await sign('EdDSA', ed.privateKey, {}, { typ: 'application/AT+JWT' }),
        () => ed.publicKey,
        opts,
      ),
    ).not.toBeNull()
    expect(await verifyJwt(await sign('EdDSA', ed.privateKey), () => null, opts)).toBeNull()
  })
  it('checks exp, nbf, iat type, issuer, audience (string or array) and required claims', async () => {
    const key = () => ed.publicKey
    expect(
      await verifyJwt(await sign('EdDSA', ed.privateKey), key, { ...opts, now: NOW + 60_000 }),
    ).toBeNull()
    expect(
      await verifyJwt(await sign('EdDSA', ed.privateKey), key, { ...opts, now: NOW + 59_999 }),
    ).not.toBeNull()
    expect(
      await verifyJwt(await sign('EdDSA', ed.privateKey, { nbf: NOW / 1000 + 10 }), key, opts),
    ).toBeNull()
    expect(
      await verifyJwt(raw({ alg: 'EdDSA', typ: 'at+jwt' }, { ...claims, iat: 'now' }), key, opts),
    ).toBeNull()
    expect(
      await verifyJwt(raw({ alg: 'EdDSA', typ: 'at+jwt' }, { ...claims, exp: '9999999999' }), key, opts),
    ).toBeNull()
    expect(
      await verifyJwt(await sign('EdDSA', ed.privateKey), key, { ...opts, issuer: 'https://other' }),
    ).toBeNull()
    expect(
      await verifyJwt(await sign('EdDSA', ed.privateKey), key, { ...opts, audience: 'https://other' }),
    ).toBeNull()
    expect(
      await verifyJwt(await sign('EdDSA', ed.privateKey, { aud: ['x', 'https://rs'] }), key, opts),
    ).not.toBeNull()
    expect(
      await verifyJwt(await sign('EdDSA', ed.privateKey), key, { ...opts, requiredClaims: ['cnf'] }),
    ).toBeNull()
  })
})

describe('verifyJwt with a header cache (DPoP proofs: one header per recipient key)', () => {
  it('keeps the parsed header of a token that verified, frozen, and only by its exact text', async () => {
    const headers = new Lru<string, Readonly<Record<string, unknown>>>(10)
    const first = await sign('EdDSA', ed.privateKey)
    const text = first.split('.')[0]!
    expect(await verifyJwt(first, () => ed.publicKey, { ...opts, headers })).not.toBeNull()
    const cached = headers.get(text)
    expect(cached).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt' })
    expect(Object.isFrozen(cached)).toBe(true)
    // Another token with the same header text gets the same object (what dpop.ts memoises keys on).
    const second = await sign('EdDSA', ed.privateKey, { jti: 'k' })
    const seen: unknown[] = []
    const key = (h: Record<string, unknown>) => {
      seen.push(h)
      return ed.publicKey
    }
    expect((await verifyJwt(second, key, { ...opts, headers }))?.payload.jti).toBe('k')
    expect(seen[0]).toBe(cached)
  })
  it('never caches what did not verify, and a cached header does not make a bad signature pass', async () => {
    const headers = new Lru<string, Readonly<Record<string, unknown>>>(10)
    const [h, p] = (await sign('EdDSA', ed.privateKey)).split('.')
    const forged = `${h}.${p}.${Buffer.alloc(64).toString('base64url')}`
    expect(await verifyJwt(forged, () => ed.publicKey, { ...opts, headers })).toBeNull()
    expect(headers.get(h!)).toBeUndefined()
    expect(
      await verifyJwt(`${h}.${p}.${(await sign('EdDSA', ed.privateKey)).split('.')[2]}`, () => ed.publicKey, {
        ...opts,
        headers,
      }),
    ).not.toBeNull()
    expect(headers.get(h!)).toBeDefined()
    expect(await verifyJwt(forged, () => ed.publicKey, { ...opts, headers })).toBeNull()
  })
  it('checks the key against the algorithm whatever the cache holds', async () => {
    const token = await sign('ES256', ec.privateKey)
    expect(await verifyJwt(token, () => ec.publicKey, opts)).not.toBeNull()
    // The same P-256 key named under EdDSA, and an Ed25519 key under ES256: refused.
    const [, p, s] = token.split('.')
    const asEd = `${Buffer.from(JSON.stringify({ alg: 'EdDSA', typ: 'at+jwt' })).toString('base64url')}.${p}.${s}`
    expect(await verifyJwt(asEd, () => ec.publicKey, opts)).toBeNull()
    expect(await verifyJwt(token, () => ed.publicKey, opts)).toBeNull()
  })
})

describe('util/hash', () => {
  it('computes RFC 7638 thumbprints (the RFC §3.1 example) and SHA-256', () => {
    const jwk = {
      kty: 'RSA',
      n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
      alg: 'RS256',
      kid: '2011-04-29',
    }
    expect(jwkThumbprint(jwk)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs')
    expect(() => jwkThumbprint({ kty: 'oct', k: 'x' })).toThrow()
    expect(() => jwkThumbprint({ kty: 'EC', crv: 'P-256', x: 'a' })).toThrow()
    expect(sha256('abc', 'hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  })
})
