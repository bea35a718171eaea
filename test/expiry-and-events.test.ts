import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { GRANT_ENDED_EVENT, memoryStore } from '@consentry/server'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type HarborPay, startHarborPay } from '../examples/payment-provider/src/app.ts'
import { formAction, hiddenInput } from './helpers/browser.ts'
import {
  browserFor,
  HISTORY_DETAIL,
  link,
  oauth,
  pushRequest,
  type Recipient,
  registerRecipient,
  resourceGet,
} from './helpers/recipient.ts'

/** A recipient's webhook endpoint over real HTTP that fails the first `failFirst` deliveries. */
let hook: Server
let received: string[] = []
let failFirst = 0
let holder: HarborPay
let r: Recipient
let offset = 0
/** When set, the holder's clock stands still at this time. */
let frozenAt: number | undefined
const now = () => frozenAt ?? Date.now() + offset

/** Poll a condition (bounded by attempts, not by how fast the machine is). */
async function until<T>(check: () => T | undefined | Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const value = await check()
    if (value !== undefined) return value
    await new Promise((res) => setTimeout(res, 25))
  }
  throw new Error(`timed out waiting for ${what}`)
}

beforeAll(async () => {
  hook = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (d: string) => {
      body += d
    })
    req.on('end', () => {
      if (failFirst > 0) {
        failFirst--
        return res.writeHead(503).end()
      }
      if (req.headers['content-type'] === 'application/secevent+jwt') received.push(body)
      res.writeHead(202).end()
    })
  })
  await new Promise<void>((ok) => hook.listen(0, '127.0.0.1', ok))
  holder = await startHarborPay({
    store: memoryStore(),
    port: 0,
    publicHost: '127.0.0.1',
    maintenance: false,
    overrides: { now, webhookRetryDelaysMs: [20, 20, 20] },
  })
  r = await registerRecipient(holder.issuer, {
    webhookUri: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/events`,
  })
})
afterAll(async () => {
  await holder?.close()
  hook?.close()
})

async function verifyEvent(set: string) {
  const jwks = createLocalJWKSet(holder.server.jwks() as never)
  const { payload, protectedHeader } = await jwtVerify(set, jwks, {
    issuer: holder.issuer,
    audience: r.client.client_id,
    currentDate: new Date(now()),
  })
  expect(protectedHeader.typ).toBe('secevent+jwt')
  return (
    payload.events as Record<
      string,
      { grant_id: string; status: string; reason: string; consent_receipt: string }
    >
  )[GRANT_ENDED_EVENT]!
}

/** The grant-ended event received for `grantId` (other grants' late deliveries are not it). */
async function eventFor(grantId: string) {
  for (const set of received) {
    const event = await verifyEvent(set)
    if (event.grant_id === grantId) return event
  }
  return undefined
}

describe('grants end on their own, and recipients are told', () => {
  it('pushes a signed grant-ended event with the final receipt, retrying until delivered', async () => {
    received = []
    failFirst = 2
    const { tokens } = await link(holder.issuer, r, [HISTORY_DETAIL])
    const grantId = (tokens as unknown as { grant_id: string }).grant_id
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(r.as, r.client, r.auth, tokens.refresh_token!, {
        [oauth.allowInsecureRequests]: true,
      }),
    )
    const set = await until(() => received[0], 'the event')
    const event = await verifyEvent(set)
    expect(event).toMatchObject({ grant_id: grantId, status: 'revoked', reason: 'revoked_by_client' })
    const { payload: receipt } = await jwtVerify(
      event.consent_receipt,
      createLocalJWKSet(holder.server.jwks() as never),
      { currentDate: new Date(now()) },
    )
    expect(receipt).toMatchObject({ grant_id: grantId, status: 'revoked', ended_reason: 'revoked_by_client' })
    await until(
      async () =>
        (await holder.server.audit.list({ grantId, types: ['webhook.delivered'] })).length ? true : undefined,
      'the delivery to be audited',
    )
    const log = await holder.server.audit.list({ grantId, types: ['webhook.failed', 'webhook.delivered'] })
    expect(log.map((e) => e.type)).toEqual(['webhook.failed', 'webhook.failed', 'webhook.delivered'])
  })

  it('retries on schedule even when the retry timer fires before the clock reaches the retry', async () => {
    // With the clock standing still, every retry timer fires "early": the retry is due at
    // frozen + 20 ms, and the clock never gets there. The retry must still be attempted on its
    // timer (maintenance is off here), not left for the next maintenance run.
    received = []
    failFirst = 1
    const { tokens } = await link(holder.issuer, r, [HISTORY_DETAIL])
    const grantId = (tokens as unknown as { grant_id: string }).grant_id
    frozenAt = now()
    try {
      await oauth.processRevocationResponse(
        await oauth.revocationRequest(r.as, r.client, r.auth, tokens.refresh_token!, {
          [oauth.allowInsecureRequests]: true,
        }),
      )
      expect(await until(() => eventFor(grantId), 'the retried event')).toMatchObject({
        grant_id: grantId,
        status: 'revoked',
      })
      const log = await holder.server.audit.list({ grantId, types: ['webhook.failed', 'webhook.delivered'] })
      expect(log.map((e) => e.type)).toEqual(['webhook.failed', 'webhook.delivered'])
    } finally {
      frozenAt = undefined
    }
  })

  it('expires a grant at its end of life: refused at once, then swept, audited and notified', async () => {
    received = []
    const short = { ...HISTORY_DETAIL, expires_in: 3600 }
    const { tokens, DPoP } = await link(holder.issuer, r, [short])
    const grantId = (tokens as unknown as { grant_id: string }).grant_id
    expect((await holder.server.store.getGrant(grantId))?.status).toBe('active')
    offset += 3601_000 // an hour later
    r.client[oauth.clockSkew] = Math.round(offset / 1000)
    const res = await resourceGet(tokens.access_token, `${holder.issuer}/api/accounts`, DPoP)
    expect(res.status).toBe(401) // the access token itself expired too; either way, refused
    await holder.server.maintain()
    expect(await holder.server.store.getGrant(grantId)).toMatchObject({
      status: 'expired',
      endedReason: 'lifetime_elapsed',
    })
    const event = await until(() => eventFor(grantId), 'the expiry event')
    expect(event).toMatchObject({ grant_id: grantId, status: 'expired' })
    expect((await holder.server.audit.list({ grantId, types: ['grant.expired'] })).length).toBe(1)
  })
})

describe('abandoned consent requests', () => {
  it('end as expired once the interaction is over, without telling the recipient', async () => {
    received = []
    const pending = await pushRequest(r, [HISTORY_DETAIL])
    // Open the consent page (signed in), then walk away.
    const browser = browserFor(holder.issuer, 'alice')
    let { res, url } = await browser.follow(pending.url, holder.issuer)
    if (url.includes('/login')) {
      const page = await res.text()
      ;({ res } = await browser.follow(formAction(page, url), holder.issuer, {
        form: { csrf: hiddenInput(page, 'csrf'), username: 'alice', password: 'alice' },
      }))
    }
    expect(res.status).toBe(200)
    const [grant] = (await holder.server.store.listGrants({ clientId: r.client.client_id })).filter(
      (g) => g.status === 'pending',
    )
    expect(grant).toBeDefined()
    offset += 601_000 // past the 10-minute interaction
    r.client[oauth.clockSkew] = Math.round(offset / 1000)
    await holder.server.maintain()
    expect(await holder.server.store.getGrant(grant!.id)).toMatchObject({
      status: 'expired',
      endedReason: 'consent_not_given',
    })
    await new Promise((ok) => setTimeout(ok, 100))
    expect(received).toEqual([])
  })
})

describe('the event outbox survives the instance', () => {
  it('delivers, from a new instance on the same store, an event the old one could not', async () => {
    const store = memoryStore()
    let skew = 0
    const clock = () => Date.now() + skew
    const first = await startHarborPay({
      store,
      port: 0,
      publicHost: '127.0.0.1',
      maintenance: false,
      overrides: { now: clock, webhookRetryDelaysMs: [60_000, 60_000] },
    })
    const rp = await registerRecipient(first.issuer, {
      webhookUri: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/events`,
    })
    received = []
    failFirst = 1 // the recipient is down for the first attempt
    const { tokens } = await link(first.issuer, rp, [HISTORY_DETAIL])
    const grantId = (tokens as unknown as { grant_id: string }).grant_id
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(rp.as, rp.client, rp.auth, tokens.refresh_token!, {
        [oauth.allowInsecureRequests]: true,
      }),
    )
    await until(
      async () =>
        (await store.listAuditEvents({ grantId, types: ['webhook.failed'] })).length ? true : undefined,
      'the failed attempt',
    )
    await first.close() // the instance goes away with the retry still pending
    expect(received).toEqual([])

    skew = 61_000 // the retry is due
    const second = await startHarborPay({
      store,
      port: 0,
      publicHost: '127.0.0.1',
      maintenance: false,
      overrides: { now: clock },
    })
    await second.server.maintain()
    const set = await until(() => received[0], 'the redelivered event')
    const [, payload] = set
      .split('.')
      .slice(0, 2)
      .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()))
    expect(payload.events[GRANT_ENDED_EVENT]).toMatchObject({ grant_id: grantId, status: 'revoked' })
    expect(
      (await store.listAuditEvents({ grantId, types: ['webhook.delivered'] })).map((e) => e.data.attempt),
    ).toEqual([2])
    await second.close()
  })
})
