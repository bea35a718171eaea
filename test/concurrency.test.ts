import type { Store } from '@consentry/server'
import { postgresStore } from '@consentry/store-postgres'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type HarborPay, startHarborPay } from '../examples/payment-provider/src/app.ts'
import {
  consent,
  HISTORY_DETAIL,
  insecure,
  link,
  oauth,
  pushRequest,
  type Recipient,
  registerRecipient,
} from './helpers/recipient.ts'

/** 50 parallel redemptions of one single-use thing, over real HTTP, on PostgreSQL: exactly one wins. */
const url =
  process.env.CONSENTRY_TEST_DATABASE_URL ??
  process.env.DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/test'
const schema = `consentry_conc_${process.pid}_${Date.now().toString(36)}`
const N = 50
let store: Store
let holder: HarborPay
let r: Recipient

beforeAll(async () => {
  store = await postgresStore({ connectionString: url, schema })
  holder = await startHarborPay({ store, port: 0, publicHost: '127.0.0.1', maintenance: false })
  r = await registerRecipient(holder.issuer)
})
afterAll(async () => {
  await holder?.close()
  await store?.close()
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  await admin.end()
})

/** Prime a DPoP handle with the server nonce (a refused request that consumes nothing). */
async function primeNonce(DPoP: oauth.DPoPHandle) {
  const res = await oauth.refreshTokenGrantRequest(r.as, r.client, r.auth, 'not-a-token', {
    DPoP,
    ...insecure,
  })
  expect(res.status).toBe(400)
}

const outcome = async (p: Promise<Response>) => (await p).status

describe(`${N} parallel redemptions, exactly one succeeds`, () => {
  it('one authorization code', async () => {
    const pending = await pushRequest(r, [HISTORY_DETAIL])
    const answer = await consent(holder.issuer, pending)
    const params = oauth.validateAuthResponse(r.as, r.client, new URL(answer.location!), pending.state)
    const DPoP = oauth.DPoP(r.client, pending.dpopKeys)
    await primeNonce(DPoP)
    const statuses = await Promise.all(
      Array.from({ length: N }, () =>
        outcome(
          oauth.authorizationCodeGrantRequest(
            r.as,
            r.client,
            r.auth,
            params,
            r.redirectUri,
            pending.verifier,
            { DPoP, ...insecure },
          ),
        ),
      ),
    )
    expect(statuses.filter((s) => s === 200)).toHaveLength(1)
    expect(statuses.filter((s) => s === 400)).toHaveLength(N - 1)
    // The replays mean the code leaked: the grant is revoked, so what the winner got is dead too.
    const grants = await store.listGrants({ clientId: r.client.client_id })
    expect(grants[0]).toMatchObject({ status: 'revoked', endedReason: 'authorization_code_reuse' })
  })

  it('one request_uri', async () => {
    const pending = await pushRequest(r, [HISTORY_DETAIL])
    const statuses = await Promise.all(
      Array.from({ length: N }, () => fetch(pending.url, { redirect: 'manual' }).then((res) => res.status)),
    )
    expect(statuses.filter((s) => s === 303)).toHaveLength(1)
    expect(statuses.filter((s) => s === 400)).toHaveLength(N - 1)
  })

  it('one refresh token', async () => {
    const { tokens, DPoP } = await link(holder.issuer, r, [HISTORY_DETAIL])
    const statuses = await Promise.all(
      Array.from({ length: N }, () =>
        outcome(
          oauth.refreshTokenGrantRequest(r.as, r.client, r.auth, tokens.refresh_token!, {
            DPoP,
            ...insecure,
          }),
        ),
      ),
    )
    expect(statuses.filter((s) => s === 200)).toHaveLength(1)
    expect(statuses.filter((s) => s === 400)).toHaveLength(N - 1)
    // Reuse detection: the replays revoked the grant.
    const grantId = (tokens as unknown as { grant_id: string }).grant_id
    expect(await store.getGrant(grantId)).toMatchObject({
      status: 'revoked',
      endedReason: 'refresh_token_reuse',
    })
  })

  it('one DPoP proof', async () => {
    const { tokens, DPoP } = await link(holder.issuer, r, [HISTORY_DETAIL])
    let signed: Request | undefined
    const keep = async (input: string, init: oauth.CustomFetchOptions<string, unknown>) => {
      signed = new Request(input, init as RequestInit)
      return new Response(null, { status: 204 })
    }
    const api = new URL(`${holder.issuer}/api/accounts`)
    await oauth.protectedResourceRequest(tokens.access_token, 'GET', api, new Headers(), null, {
      DPoP,
      ...insecure,
      [oauth.customFetch]: keep,
    })
    const statuses = await Promise.all(
      Array.from({ length: N }, () =>
        fetch(signed!.url, { headers: signed!.headers }).then((res) => res.status),
      ),
    )
    expect(statuses.filter((s) => s === 200)).toHaveLength(1)
    expect(statuses.filter((s) => s === 401)).toHaveLength(N - 1)
  })
})
