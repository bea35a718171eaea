/**
 * Issue 14, "Observability", over real HTTP with a real pino logger: a bug in the holder's data
 * source reaches the log with its name, message, stack and the request id the 500 carries; nothing
 * secret is logged; every line of a request shares its id; `DEBUG=consentry:<area>` traces areas
 * with the default logger.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type HolderTransaction, jsonLinesLogger, memoryStore, redact } from '@consentry/server'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type HarborPay, startHarborPay } from '../examples/payment-provider/src/app.ts'
import { createDemoData } from '../examples/payment-provider/src/data.ts'
import { clientAuth } from './helpers/raw.ts'
import {
  INITIAL_ACCESS_TOKEN,
  link,
  oauth,
  type Recipient,
  registerRecipient,
  resourceGet,
} from './helpers/recipient.ts'

/** The holder's own credentials, which a careless error message might carry. */
const HOLDER_API_KEY = 'hk_live_9fK2mQ7xW4pL8vN3bR6tY1zC5dH0jS2aE7uG4iO9'
const DB_PASSWORD = 'hunter2-database-password'

describe('a bug in the data source, with a pino logger', () => {
  let holder: HarborPay
  let r: Recipient
  const out: string[] = []
  const lines = () => out.map((l) => JSON.parse(l) as Record<string, unknown>)
  let bug: 'type-error' | 'leaky' | null = null

  beforeAll(async () => {
    const demo = createDemoData({ today: '2026-11-20' })
    const dataSource = {
      ...demo.dataSource,
      async listTransactions(query: Parameters<typeof demo.dataSource.listTransactions>[0]) {
        const page = await demo.dataSource.listTransactions(query)
        if (bug === 'type-error') {
          // A real bug: the holder's mapping reads a row that is not there.
          const rows = [] as HolderTransaction[]
          return page.map((t, i) => ({ ...t, amount: (rows[i] as HolderTransaction).amount }))
        }
        if (bug === 'leaky')
          throw new Error(`ledger refused Bearer ${HOLDER_API_KEY}`, {
            cause: new Error(`connect ECONNREFUSED postgres://ledger:${DB_PASSWORD}@10.0.0.7/ledger`),
          })
        return page
      },
    }
    holder = await startHarborPay({
      store: memoryStore(),
      port: 0,
      publicHost: '127.0.0.1',
      maintenance: false,
      overrides: {
        dataSource,
        logger: pino({ level: 'debug' }, { write: (line: string) => void out.push(line) }),
      },
    })
    r = await registerRecipient(holder.issuer)
  })
  afterAll(() => holder?.close())

  it('logs name, message, stack and the request id the 500 carries — and no token or secret', async () => {
    const linked = await link(holder.issuer, r)
    const at = linked.tokens.access_token
    const url = `${holder.issuer}/api/accounts/acc_alice_wallet/transactions`
    out.length = 0
    bug = 'type-error'
    let res: Response
    try {
      res = await resourceGet(at, url, linked.DPoP)
    } finally {
      bug = null
    }
    expect(res.status).toBe(500)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    const body = (await res.json()) as Record<string, unknown>
    expect(body).toMatchObject({ code: 'internal_error', status: 500, request_id: expect.any(String) })
    expect(res.headers.get('x-request-id')).toBe(body.request_id)
    expect(JSON.stringify(body)).not.toContain('amount') // the message stays in the log

    const errors = lines().filter((l) => l.level === 50)
    expect(errors).toHaveLength(1)
    const [line] = errors
    expect(line).toMatchObject({
      area: 'resource', // pino's child({ area })
      event: 'request.failed',
      request_id: body.request_id,
      method: 'GET',
      path: '/api/accounts/acc_alice_wallet/transactions',
      msg: "unexpected error: TypeError: Cannot read properties of undefined (reading 'amount')",
    })
    const err = line!.err as { name: string; message: string; stack: string }
    expect(err.name).toBe('TypeError')
    expect(err.message).toBe("Cannot read properties of undefined (reading 'amount')")
    expect(err.stack).toMatch(/^TypeError: Cannot read properties of undefined/)
    expect(err.stack).toContain('observability.test.ts') // it points at the holder's code

    // The request's trace line (debug) has the same id and the status.
    const trace = lines().find((l) => l.level === 20 && l.event === 'request')
    expect(trace).toMatchObject({ area: 'resource', request_id: body.request_id, status: 500, method: 'GET' })

    const logged = out.join('\n')
    for (const secret of [at, linked.tokens.refresh_token!, INITIAL_ACCESS_TOKEN, 'acc_alice_wallet?'])
      expect(logged).not.toContain(secret)
    expect(logged).not.toMatch(/dpop|authorization|cookie/i)
  })

  it('redacts credentials from the message, the stack and the cause', async () => {
    const linked = await link(holder.issuer, r)
    out.length = 0
    bug = 'leaky'
    let res: Response
    try {
      res = await resourceGet(
        linked.tokens.access_token,
        `${holder.issuer}/api/accounts/acc_alice_wallet/transactions`,
        linked.DPoP,
      )
    } finally {
      bug = null
    }
    expect(res.status).toBe(500)
    const { request_id } = (await res.json()) as { request_id: string }
    const line = lines().find((l) => l.level === 50)!
    expect(line.request_id).toBe(request_id)
    // pino's err serializer appends the causes' messages to the message (and keeps `cause`).
    const err = line.err as { message: string; stack: string }
    expect(err.message).toContain('ledger refused Bearer [redacted]')
    expect(JSON.stringify(err)).toContain('connect ECONNREFUSED postgres://ledger:[redacted]@10.0.0.7/ledger')
    const logged = out.join('\n')
    expect(logged).not.toContain(HOLDER_API_KEY)
    expect(logged).not.toContain(DB_PASSWORD)
    expect(logged).not.toContain(linked.tokens.access_token)
  })

  it("names each request's area in its trace line", async () => {
    out.length = 0
    const res = await fetch(`${holder.issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Bearer ${'x'.repeat(43)}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', ...(await clientAuth(r)) }),
    })
    expect(res.status).toBe(400) // no DPoP proof
    const trace = lines().find((l) => l.event === 'request')
    expect(trace).toMatchObject({ area: 'token', path: '/token', status: 400, level: 20 })
    expect(out.join('\n')).not.toContain('x'.repeat(43))
  })

  it('says it started, at info, with the issuer and the signing key id', async () => {
    const seen: string[] = []
    const second = await startHarborPay({
      store: memoryStore(),
      port: 0,
      publicHost: '127.0.0.1',
      maintenance: false,
      overrides: { logger: pino({ level: 'info' }, { write: (l: string) => void seen.push(l) }) },
    })
    await second.close()
    const started = seen.map((l) => JSON.parse(l)).find((l) => l.event === 'server.started')
    expect(started).toMatchObject({
      level: 30,
      area: 'server',
      issuer: second.issuer,
      signing_key: { kid: second.server.jwks().keys[0]!.kid, alg: 'EdDSA' },
    })
    expect(seen.join('\n')).not.toMatch(/"d":/) // no private key member
  })
})

describe('webhook delivery in the log', () => {
  it('traces each attempt and warns when it gives up, naming the origin only', async () => {
    // A port nothing listens on: bind one, then close it.
    const closed = createServer()
    await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', ok))
    const { port } = closed.address() as AddressInfo
    await new Promise<void>((ok) => closed.close(() => ok()))
    const out: string[] = []
    const holder = await startHarborPay({
      store: memoryStore(),
      port: 0,
      publicHost: '127.0.0.1',
      maintenance: false,
      overrides: {
        webhookRetryDelaysMs: [], // give up after the first failure
        logger: pino({ level: 'debug' }, { write: (l: string) => void out.push(l) }),
      },
    })
    try {
      const r = await registerRecipient(holder.issuer, {
        webhookUri: `http://127.0.0.1:${port}/hooks/SECRET-PATH-TOKEN`,
      })
      const { tokens } = await link(holder.issuer, r)
      const res = await oauth.revocationRequest(r.as, r.client, r.auth, tokens.refresh_token!, {
        [oauth.allowInsecureRequests]: true,
      })
      expect(res.status).toBe(200)
      const gaveUp = () => out.map((l) => JSON.parse(l)).find((l) => l.event === 'webhook.gave_up')
      await expect.poll(gaveUp, { timeout: 30_000 }).toMatchObject({
        level: 40,
        area: 'webhook',
        origin: `http://127.0.0.1:${port}`,
        attempt: 1,
        status: 0,
        client_id: r.client.client_id,
      })
      expect(out.join('\n')).not.toContain('SECRET-PATH-TOKEN')
    } finally {
      await holder.close()
    }
  })
})

describe('DEBUG=consentry:<area> with the default logger', () => {
  let holder: HarborPay
  const out: string[] = []
  beforeAll(async () => {
    holder = await startHarborPay({
      store: memoryStore(),
      port: 0,
      publicHost: '127.0.0.1',
      maintenance: false,
      overrides: { logger: jsonLinesLogger({ write: (l) => out.push(l), debug: 'consentry:discovery' }) },
    })
  })
  afterAll(() => holder?.close())

  it('writes trace lines for the named area only', async () => {
    out.length = 0
    expect((await fetch(`${holder.issuer}/.well-known/oauth-authorization-server`)).status).toBe(200)
    expect((await fetch(`${holder.issuer}/jwks`)).status).toBe(200)
    expect((await fetch(`${holder.issuer}/authorize`)).status).toBe(400) // area authorize: not traced
    const lines = out.map((l) => JSON.parse(l))
    expect(lines).toHaveLength(2)
    expect(lines.map((l) => [l.level, l.area, l.event, l.method, l.path, l.status])).toEqual([
      ['debug', 'discovery', 'request', 'GET', '/.well-known/oauth-authorization-server', 200],
      ['debug', 'discovery', 'request', 'GET', '/jwks', 200],
    ])
    for (const l of lines) expect(l.request_id).toMatch(/^[\w-]{16}$/)
    expect(lines[0].request_id).not.toBe(lines[1].request_id)
  })
})

describe('jsonLinesLogger', () => {
  it('takes pino-shaped calls, children and DEBUG patterns', () => {
    const out: string[] = []
    const log = jsonLinesLogger({ write: (l) => out.push(l), debug: 'consentry:*,-consentry:http' })
    const resource = log.child!({ area: 'resource' })
    resource.debug!({ n: 1 }, 'traced')
    log.child!({ area: 'http' }).debug!({ n: 2 }, 'excluded')
    log.info!({ n: 3 }, 'always')
    log.warn({ n: 4 })
    const lines = out.map((l) => JSON.parse(l))
    expect(lines.map((l) => [l.level, l.area, l.n, l.msg])).toEqual([
      ['debug', 'resource', 1, 'traced'],
      ['info', undefined, 3, 'always'],
      ['warn', undefined, 4, undefined],
    ])
    const quiet: string[] = []
    jsonLinesLogger({ write: (l) => quiet.push(l), debug: '' }).child!({ area: 'resource' }).debug!(
      {},
      'not written',
    )
    expect(quiet).toEqual([])
  })

  it('redact() removes credentials and keeps what helps', () => {
    const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl'
    expect(redact(`token ${jwt} refused`)).toBe('token [redacted] refused')
    expect(redact('DPoP abcdefgh12345678 and Basic dXNlcjpwYXNz')).toBe(
      'DPoP [redacted] and Basic [redacted]',
    )
    expect(redact(`refresh ${'a'.repeat(43)}`)).toBe('refresh [redacted]')
    expect(redact('{"kty":"OKP","d":"c2VjcmV0","x":"pub"}')).toBe('{"kty":"OKP","d":"[redacted]","x":"pub"}')
    expect(redact('-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----')).toBe(
      '[redacted private key]',
    )
    expect(redact('the configured s3cr3t-value here', ['s3cr3t-value'])).toBe(
      'the configured [redacted] here',
    )
    // Ids and UUIDs stay readable.
    expect(redact('account 550e8400-e29b-41d4-a716-446655440000 of gr_abcdefghijklmnopqrstuv')).toBe(
      'account 550e8400-e29b-41d4-a716-446655440000 of gr_abcdefghijklmnopqrstuv',
    )
  })
})
