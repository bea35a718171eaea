import { verifyAuditExport } from '@consentry/core'
import type { Store } from '@consentry/server'
import { postgresStore } from '@consentry/store-postgres'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type HarborPay, startHarborPay } from '../examples/payment-provider/src/app.ts'
import {
  consent,
  HISTORY_DETAIL,
  insecure,
  oauth,
  pushRequest,
  type Recipient,
  registerRecipient,
  resourceGet,
  resourceRequest,
  withNonceRetry,
} from './helpers/recipient.ts'

/**
 * Two server instances on two ports, one PostgreSQL, one public issuer (as behind a load balancer).
 * Requests are steered to instance B by rewriting the port just before they leave: everything the
 * client signs (DPoP htu, assertion aud) still names the public issuer.
 */
const url =
  process.env.CONSENTRY_TEST_DATABASE_URL ??
  process.env.DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/test'
const schema = `consentry_multi_${process.pid}_${Date.now().toString(36)}`
const PRESENT = { 'x-fapi-customer-ip-address': '203.0.113.9' }

let a: HarborPay
let b: HarborPay
let stores: Store[] = []
let r: Recipient

/** Send to instance B what was addressed (and signed) for the public issuer. */
const viaB = (input: string, init: oauth.CustomFetchOptions<string, unknown> | RequestInit = {}) => {
  const u = new URL(input)
  u.port = String(b.port)
  return fetch(u, init as RequestInit)
}
const onB = { ...insecure, [oauth.customFetch]: viaB }

beforeAll(async () => {
  stores = [
    await postgresStore({ connectionString: url, schema }),
    await postgresStore({ connectionString: url, schema }),
  ]
  a = await startHarborPay({ store: stores[0]!, port: 0, publicHost: '127.0.0.1', maintenance: false })
  b = await startHarborPay({ store: stores[1]!, port: 0, issuer: a.issuer, maintenance: false })
  r = await registerRecipient(a.issuer)
})
afterAll(async () => {
  await a?.close()
  await b?.close()
  for (const s of stores) await s.close()
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  await admin.end()
})

/** Consent through A, exchange the code through B. */
async function linkAcrossInstances() {
  const pending = await pushRequest(r, [HISTORY_DETAIL])
  const answer = await consent(a.issuer, pending, { accounts: ['acc_alice_wallet'] })
  const params = oauth.validateAuthResponse(r.as, r.client, new URL(answer.location!), pending.state)
  const DPoP = oauth.DPoP(r.client, pending.dpopKeys)
  const tokens = await withNonceRetry(
    () =>
      oauth.authorizationCodeGrantRequest(r.as, r.client, r.auth, params, r.redirectUri, pending.verifier, {
        DPoP,
        ...onB,
      }),
    (res) => oauth.processAuthorizationCodeResponse(r.as, r.client, res),
  )
  return { tokens, DPoP }
}

const readOnB = (token: string, path: string, DPoP: oauth.DPoPHandle) =>
  resourceRequest('GET', token, `${a.issuer}/api${path}`, DPoP, PRESENT, onB)

describe('two instances, one PostgreSQL', () => {
  it('uses on B a grant created through A, and stops it on B the very next request after A revokes', async () => {
    const { tokens, DPoP } = await linkAcrossInstances()
    expect((await readOnB(tokens.access_token, '/accounts', DPoP)).status).toBe(200)
    // Revoke through A.
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(r.as, r.client, r.auth, tokens.refresh_token!, insecure),
    )
    const after = await readOnB(tokens.access_token, '/accounts/acc_alice_wallet/transactions', DPoP)
    expect(after.status).toBe(401)
    expect(after.headers.get('www-authenticate')).toContain('invalid_token')
  })

  it('refuses on B a DPoP proof already used on A (replay protection is shared)', async () => {
    const { tokens, DPoP } = await linkAcrossInstances()
    expect((await readOnB(tokens.access_token, '/accounts', DPoP)).status).toBe(200) // DPoP handle now holds a nonce
    // Let oauth4webapi sign one request, but keep it instead of sending it.
    let signed: Request | undefined
    const keep = async (input: string, init: oauth.CustomFetchOptions<string, unknown>) => {
      signed = new Request(input, init as RequestInit)
      return new Response(null, { status: 204 })
    }
    await oauth.protectedResourceRequest(
      tokens.access_token,
      'GET',
      new URL(`${a.issuer}/api/accounts`),
      new Headers(PRESENT),
      null,
      { DPoP, ...insecure, [oauth.customFetch]: keep },
    )
    const onA = await fetch(signed!.url, { headers: signed!.headers })
    expect(onA.status).toBe(200)
    const replayOnB = await viaB(signed!.url, { headers: signed!.headers })
    expect(replayOnB.status).toBe(401)
    expect(replayOnB.headers.get('www-authenticate')).toContain('invalid_dpop_proof')
  })

  it('appends audit events from both instances at once into one log that verifies', async () => {
    const { tokens, DPoP } = await linkAcrossInstances()
    const reads = Array.from({ length: 24 }, (_, i) =>
      i % 2
        ? readOnB(tokens.access_token, '/accounts', DPoP)
        : resourceGet(tokens.access_token, `${a.issuer}/api/accounts`, DPoP, PRESENT),
    )
    const checkpoints = Array.from({ length: 6 }, (_, i) => (i % 2 ? b : a).server.audit.checkpoint())
    const statuses = (await Promise.all(reads)).map((res) => res.status)
    expect(statuses.every((s) => s === 200)).toBe(true)
    await Promise.all(checkpoints)
    await a.server.audit.checkpoint()
    const lines: string[] = []
    for await (const line of b.server.audit.export()) lines.push(line)
    const report = await verifyAuditExport(lines, { verifierKey: a.server.audit.verifierKey })
    expect(b.server.audit.verifierKey).toBe(a.server.audit.verifierKey) // one log key, shared
    expect(report.problems.filter((p) => p.severity === 'error')).toEqual([])
    expect(report.ok).toBe(true)
    expect(report.verifiedThrough).toBe(report.events)
    const events = await a.server.audit.list({})
    // Every event has exactly one leaf index, 0…n-1, whichever instance recorded or integrated it.
    expect(events.map((e) => e.index).sort((x, y) => x! - y!)).toEqual(events.map((_, i) => i))
  })
})
