/**
 * Issue 9, "Bad input and robustness" and "Keys", over real HTTP: NUL bytes and odd methods are 4xx
 * (memory and PGlite stores), a refused body never breaks the client's keep-alive connection,
 * unexpected errors are logged with a request id the 500 carries (and nothing secret), ending a
 * grant and queueing its event survive a crash together, and the server's keys are encrypted at rest.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, createServer, request as httpRequest, type Server } from 'node:http'
import { type AddressInfo, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { verifyAuditExport } from '@consentry/core'
import {
  ConfigError,
  type ConsentServer,
  type ConsentServerConfig,
  createConsentServer,
  describeError,
  guardNodeServer,
  jsonLinesLogger,
  type KeyProvider,
  keyEncryptionKeyProvider,
  type Logger,
  memoryStore,
  nodeListener,
  type Store,
  sqliteStore,
} from '@consentry/server'
import { openPglite, pgliteStore, postgresStore } from '@consentry/store-postgres'
import { base64url, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, SignJWT } from 'jose'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type HarborPay, startHarborPay } from '../examples/payment-provider/src/app.ts'
import { createDemoData } from '../examples/payment-provider/src/data.ts'
import { main as cli } from '../packages/cli/src/index.ts'
import { clientAuth, dpopProof, fetchNonce, postForm, rawRequest } from './helpers/raw.ts'
import { INITIAL_ACCESS_TOKEN, link, oauth, type Recipient, registerRecipient } from './helpers/recipient.ts'

// ---- helpers ------------------------------------------------------------------------------------

interface LogLine {
  level: 'error' | 'warn' | 'info' | 'debug'
  msg: string
  fields: Record<string, unknown>
}

/** A logger that keeps every line, to assert on what was (and was not) logged. */
function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = []
  const at =
    (level: LogLine['level']) =>
    (fields: Record<string, unknown>, msg = '') =>
      void lines.push({ level, msg, fields })
  return { logger: { error: at('error'), warn: at('warn'), info: at('info') }, lines }
}

/**
 * Write `data` on one raw TCP connection and read until the server closes it (the last request
 * should say `Connection: close`). Returns every status line, the `Connection` headers, and any
 * socket error (a reset would show here).
 */
function rawExchange(
  port: number,
  data: string | Buffer,
): Promise<{ statuses: number[]; text: string; error?: string }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    let text = ''
    let error: string | undefined
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1')
    })
    socket.on('error', (e: NodeJS.ErrnoException) => {
      error = e.code ?? e.message
    })
    socket.on('close', () =>
      resolve({
        statuses: [...text.matchAll(/^HTTP\/1\.1 (\d{3}) /gm)].map((m) => Number(m[1])),
        text,
        ...(error ? { error } : {}),
      }),
    )
    socket.end(data)
  })
}

const port = (issuer: string) => Number(new URL(issuer).port)
const bigForm = (bytes: number) => `grant_type=client_credentials&pad=${'x'.repeat(bytes)}`

/** One request through a node:http Agent; reports which local port (socket) carried it. */
function viaAgent(
  agent: Agent,
  url: string,
  o: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; connection?: string; localPort?: number; error?: string }> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { method: o.method ?? 'GET', agent, headers: o.headers ?? {} }, (res) => {
      const localPort = res.socket.localPort
      res.resume()
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          ...(res.headers.connection ? { connection: res.headers.connection } : {}),
          ...(localPort ? { localPort } : {}),
        }),
      )
    })
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ status: 0, error: e.code ?? e.message }))
    req.end(o.body)
  })
}

/** A Consentry server over node:http on a free loopback port (guarded as the demo is). */
async function serve(
  config: Omit<ConsentServerConfig, 'issuer' | 'dataSource' | 'accountHolders'> &
    Partial<ConsentServerConfig>,
) {
  let handle: Parameters<typeof createServer>[1] = (_q, r) => r.writeHead(503).end()
  const http = guardNodeServer(createServer((q, r) => handle!(q, r)))
  await new Promise<void>((ok) => http.listen(0, '127.0.0.1', ok))
  const issuer = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
  const demo = createDemoData({ today: '2026-11-20' })
  let server: ConsentServer
  try {
    server = await createConsentServer({
      issuer,
      dataSource: demo.dataSource,
      accountHolders: { verifyPassword: demo.users.verifyPassword },
      initialAccessToken: INITIAL_ACCESS_TOKEN,
      logger: captureLogger().logger, // quiet unless a test listens
      ...config,
    })
  } catch (e) {
    http.close()
    throw e
  }
  handle = nodeListener(server.fetch)
  return {
    issuer,
    server,
    async close() {
      http.closeAllConnections()
      await new Promise<void>((ok) => http.close(() => ok()))
    },
  }
}

const newKek = () => base64url.encode(crypto.getRandomValues(new Uint8Array(32)))
const SECRET_NAMES = ['signing-key', 'dpop-nonce', 'cursor', 'cookie']
const ENVELOPE = /^enc:v1:[\w-]{8}:[\w-]{16}:[\w-]+$/

/** The stored value of a secret, read back raw (the store's `create` is never called when present). */
const rawSecret = (store: Store, name: string) =>
  store.getOrCreateSecret(name, () => {
    throw new Error(`secret ${name} was never stored`)
  })

const jwksOf = async (issuer: string) =>
  (await (await fetch(`${issuer}/jwks`)).json()) as { keys: Array<Record<string, string>> }

// ---- bad input ----------------------------------------------------------------------------------

/** The local PostgreSQL the other PostgreSQL tests use (CONSENTRY_TEST_DATABASE_URL / DATABASE_URL). */
const PG_URL =
  process.env.CONSENTRY_TEST_DATABASE_URL ??
  process.env.DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/test'
const PG_SCHEMA = `consentry_robust_${process.pid}_${Date.now().toString(36)}`

describe('bad input never reaches a store as a 500', () => {
  const temp = mkdtempSync(join(tmpdir(), 'consentry-robust-'))
  afterAll(async () => {
    rmSync(temp, { recursive: true, force: true })
    const admin = new pg.Pool({ connectionString: PG_URL, max: 1 })
    await admin.query(`DROP SCHEMA IF EXISTS "${PG_SCHEMA}" CASCADE`)
    await admin.end()
  })

  for (const kind of ['memory', 'sqlite', 'pglite', 'postgres'] as const) {
    describe(`on the ${kind} store`, () => {
      let holder: HarborPay
      let store: Store
      let r: Recipient
      const captured = captureLogger()
      beforeAll(async () => {
        store =
          kind === 'memory'
            ? memoryStore()
            : kind === 'sqlite'
              ? await sqliteStore({ path: join(temp, 'nul-sqlite', 'consentry.db') })
              : kind === 'pglite'
                ? await pgliteStore({ dataDir: join(temp, 'nul') })
                : await postgresStore({ connectionString: PG_URL, schema: PG_SCHEMA })
        holder = await startHarborPay({
          store,
          port: 0,
          publicHost: '127.0.0.1',
          maintenance: false,
          overrides: { logger: captured.logger },
        })
        r = await registerRecipient(holder.issuer)
      }, 60_000)
      afterAll(async () => {
        await holder?.close()
        await store?.close()
      })

      it('answers NUL in the authorization URL, path ids and query with 400, asking no store', async () => {
        for (const path of [
          '/authorize?client_id=%00%ff&request_uri=%00',
          `/authorize?client_id=${r.client.client_id}&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3A%00`,
          '/authorize/%00',
          '/authorize/ix%00ix',
          '/grants/%00',
          '/consents/%00',
          '/api/accounts/%00/transactions',
          '/jwks?x=%00',
        ]) {
          const res = await rawRequest(holder.issuer, { method: 'GET', path })
          expect(res.status, path).toBe(400)
          expect(String(res.headers['content-type']), path).toMatch(/^application\/(problem\+)?json/)
        }
      })

      it('refuses NUL in form and JSON bodies and in JWT claims with an OAuth error', async () => {
        const token = await postForm(`${holder.issuer}/token`, {
          grant_type: 'client_credentials',
          ...(await clientAuth(r)),
          client_id: 'cl_\u0000',
        })
        expect([token.status, token.body?.error]).toEqual([400, 'invalid_request'])
        const par = await postForm(`${holder.issuer}/par`, { client_id: '\u0000', state: 'a\u0000b' })
        expect([par.status, par.body?.error]).toEqual([400, 'invalid_request'])
        for (const ep of ['revoke', 'introspect']) {
          const res = await postForm(`${holder.issuer}/${ep}`, { token: '\u0000', ...(await clientAuth(r)) })
          expect([ep, res.status]).toEqual([ep, 400])
        }
        const reg = await fetch(`${holder.issuer}/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${INITIAL_ACCESS_TOKEN}` },
          body: JSON.stringify({ client_name: 'A\u0000B', redirect_uris: ['https://a.example/cb'] }),
        })
        expect([reg.status, (await reg.json()).error]).toEqual([400, 'invalid_client_metadata'])
        // A client assertion and a DPoP proof whose jti holds NUL: signed, so only the store guard sees it.
        const withJti = await postForm(`${holder.issuer}/token`, {
          grant_type: 'client_credentials',
          scope: 'grant_management_query',
          ...(await clientAuth(r, { jti: 'jti-\u0000-assertion' })),
        })
        expect([withJti.status, withJti.body?.error]).toEqual([400, 'invalid_request'])
        const keys = await generateKeyPair('ES256', { extractable: true })
        const proof = await dpopProof(keys, {
          htm: 'POST',
          htu: `${holder.issuer}/token`,
          nonce: await fetchNonce(r),
          jti: 'jti-\u0000-proof-xx',
        })
        const dpop = await postForm(
          `${holder.issuer}/token`,
          { grant_type: 'client_credentials', scope: 'grant_management_query', ...(await clientAuth(r)) },
          { dpop: proof },
        )
        expect(dpop.status).toBe(400)
        expect(typeof dpop.body?.error).toBe('string')
      })

      it('logged no unexpected error for any of it', () => {
        expect(captured.lines.filter((l) => l.level === 'error')).toEqual([])
      })
    })
  }
})

describe('odd methods and unparseable requests', () => {
  let holder: HarborPay
  beforeAll(async () => {
    holder = await startHarborPay({
      store: memoryStore(),
      port: 0,
      publicHost: '127.0.0.1',
      maintenance: false,
    })
  })
  afterAll(() => holder.close())

  it('answers TRACE, TRACK, CONNECT, PROPFIND and lowercase methods with 4xx problem+json, echoing nothing', async () => {
    const host = new URL(holder.issuer).host
    const cases: Array<[string, number[]]> = [
      [`TRACE / HTTP/1.1`, [405]],
      [`TRACE /token HTTP/1.1`, [405]],
      [`CONNECT 127.0.0.1:443 HTTP/1.1`, [405]],
      [`TRACK / HTTP/1.1`, [400, 405]],
      [`PROPFIND /jwks HTTP/1.1`, [405]],
      [`MKCOL /consents HTTP/1.1`, [405]],
      [`trace / HTTP/1.1`, [400]],
      [`get /jwks HTTP/1.1`, [400]],
      [`GET /jwks HTTP/9.9`, [400, 505]],
      [`G\u00e9T /jwks HTTP/1.1`, [400]],
    ]
    for (const [line, allowed] of cases) {
      const out = await rawExchange(
        port(holder.issuer),
        Buffer.from(
          `${line}\r\nHost: ${host}\r\nCookie: session=SECRET-COOKIE\r\nAuthorization: Bearer SECRET-TOKEN\r\nConnection: close\r\n\r\n`,
          'latin1',
        ),
      )
      expect(out.error, line).toBeUndefined()
      expect(allowed, `${line} → ${out.statuses}`).toContain(out.statuses[0])
      expect(out.text, line).toMatch(/content-type: application\/(problem\+)?json/i)
      const body = JSON.parse(
        out.text
          .slice(out.text.indexOf('\r\n\r\n') + 4)
          .replace(/^[0-9a-f]+\r\n/, '')
          .split('\r\n')[0]!,
      )
      expect(body.status ?? out.statuses[0], line).toBe(out.statuses[0])
      expect(out.text, line).not.toContain('SECRET')
    }
  })

  it('keeps the connection after a 405 for TRACE or PROPFIND', async () => {
    const host = new URL(holder.issuer).host
    const out = await rawExchange(
      port(holder.issuer),
      `TRACE / HTTP/1.1\r\nHost: ${host}\r\n\r\nPROPFIND /jwks HTTP/1.1\r\nHost: ${host}\r\n\r\nGET /jwks HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
    )
    expect(out).toMatchObject({ statuses: [405, 405, 200] })
    expect(out.error).toBeUndefined()
  })
})

// ---- bodies over the limit ----------------------------------------------------------------------

describe('a body over the limit', () => {
  let holder: HarborPay
  beforeAll(async () => {
    holder = await startHarborPay({
      store: memoryStore(),
      port: 0,
      publicHost: '127.0.0.1',
      maintenance: false,
    })
  })
  afterAll(() => holder.close())

  it('is a 413 OAuth JSON error at every OAuth endpoint, problem+json elsewhere', async () => {
    for (const ep of ['register', 'par', 'token', 'revoke', 'introspect']) {
      const json = ep === 'register'
      const res = await fetch(`${holder.issuer}/${ep}`, {
        method: 'POST',
        headers: {
          'content-type': json ? 'application/json' : 'application/x-www-form-urlencoded',
          authorization: `Bearer ${INITIAL_ACCESS_TOKEN}`,
        },
        body: json ? JSON.stringify({ client_name: 'x'.repeat(70 * 1024) }) : bigForm(70 * 1024),
      })
      expect([ep, res.status, res.headers.get('content-type')]).toEqual([ep, 413, 'application/json'])
      const body = await res.json()
      expect(body).toEqual({ error: 'invalid_request', error_description: expect.stringContaining('65536') })
    }
    for (const path of ['/login']) {
      const res = await fetch(`${holder.issuer}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: bigForm(70 * 1024),
      })
      expect([path, res.status, res.headers.get('content-type')]).toEqual([
        path,
        413,
        'application/problem+json',
      ])
      expect((await res.json()).code).toBe('payload_too_large')
    }
    // A wrong method at an OAuth endpoint is an OAuth error too (with Allow).
    const get = await fetch(`${holder.issuer}/token`)
    expect([get.status, get.headers.get('allow'), (await get.json()).error]).toEqual([
      405,
      'POST',
      'invalid_request',
    ])
  })

  it('leaves a raw keep-alive connection usable: the next request on it is answered', async () => {
    const host = new URL(holder.issuer).host
    for (const size of [70 * 1024, 1024 * 1024]) {
      const body = bigForm(size)
      const out = await rawExchange(
        port(holder.issuer),
        `POST /token HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
          `GET /jwks HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
      )
      expect(out.error, `${size}`).toBeUndefined()
      expect(out.statuses, `${size}`).toEqual([413, 200])
    }
  })

  it('lets a keep-alive agent go on: same socket after 1 MB, told to reconnect after 8 MB, never reset', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    try {
      const headers = { 'content-type': 'application/x-www-form-urlencoded' }
      for (const ep of ['token', 'par', 'revoke', 'introspect']) {
        const refused = await viaAgent(agent, `${holder.issuer}/${ep}`, {
          method: 'POST',
          body: bigForm(1_000_000),
          headers,
        })
        const next = await viaAgent(agent, `${holder.issuer}/jwks`)
        expect([ep, refused.status, refused.connection, refused.error]).toEqual([
          ep,
          413,
          'keep-alive',
          undefined,
        ])
        expect([ep, next.status, next.error]).toEqual([ep, 200, undefined])
        expect(next.localPort, ep).toBe(refused.localPort) // the same connection carried both
      }
      const huge = await viaAgent(agent, `${holder.issuer}/token`, {
        method: 'POST',
        body: bigForm(8 * 1024 * 1024),
        headers,
      })
      expect([huge.status, huge.connection, huge.error]).toEqual([413, 'close', undefined])
      const after = await viaAgent(agent, `${holder.issuer}/jwks`)
      expect([after.status, after.error]).toEqual([200, undefined])
      // A JSON body at registration, declared too large.
      const reg = await viaAgent(agent, `${holder.issuer}/register`, {
        method: 'POST',
        body: JSON.stringify({ client_name: 'x'.repeat(1_000_000) }),
        headers: { 'content-type': 'application/json', authorization: `Bearer ${INITIAL_ACCESS_TOKEN}` },
      })
      const regNext = await viaAgent(agent, `${holder.issuer}/jwks`)
      expect([reg.status, regNext.status, regNext.error]).toEqual([413, 200, undefined])
    } finally {
      agent.destroy()
    }
  }, 60_000)

  it('lets fetch (undici) go on after a refused streamed body', async () => {
    for (const size of [1_000_000, 8 * 1024 * 1024]) {
      const bytes = new TextEncoder().encode(bigForm(size))
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < bytes.length; i += 65536) c.enqueue(bytes.slice(i, i + 65536))
          c.close()
        },
      })
      const refused = await fetch(`${holder.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: stream,
        duplex: 'half',
      } as RequestInit)
      expect([size, refused.status, (await refused.json()).error]).toEqual([size, 413, 'invalid_request'])
      expect((await fetch(`${holder.issuer}/jwks`)).status).toBe(200)
    }
  }, 60_000)
})

// ---- logging ------------------------------------------------------------------------------------

describe('unexpected errors', () => {
  let holder: HarborPay
  let r: Recipient
  let failing = false
  const captured = captureLogger()
  const hooked: unknown[] = []
  const base = memoryStore()
  // A store that can go down: getClient (asked first at the token endpoint) fails while `failing`.
  const store: Store = new Proxy(base, {
    get(target, key) {
      const value = Reflect.get(target, key, target)
      if (key === 'getClient')
        return (id: string) => (failing ? Promise.reject(new Error('db down')) : target.getClient(id))
      return typeof value === 'function' ? value.bind(target) : value
    },
  })

  beforeAll(async () => {
    const demo = createDemoData({ today: '2026-11-20' })
    const dataSource = {
      ...demo.dataSource,
      listAccounts: (subject: string) =>
        failing ? Promise.reject(new Error('db down')) : demo.dataSource.listAccounts(subject),
    }
    holder = await startHarborPay({
      store,
      port: 0,
      publicHost: '127.0.0.1',
      maintenance: false,
      overrides: { dataSource, logger: captured.logger, onError: (e) => hooked.push(e) },
    })
    r = await registerRecipient(holder.issuer)
  })
  afterAll(() => holder.close())

  it('are logged with message, stack and a request id the 500 carries, and nothing secret', async () => {
    const linked = await link(holder.issuer, r)
    const at = linked.tokens.access_token
    const url = `${holder.issuer}/api/accounts`
    const proof = await dpopProof(linked.pending.dpopKeys, {
      htm: 'GET',
      htu: url,
      nonce: await fetchNonce(r),
      accessToken: at,
    })
    failing = true
    let res: Awaited<ReturnType<typeof rawRequest>>
    try {
      res = await rawRequest(holder.issuer, {
        method: 'GET',
        path: '/api/accounts',
        headers: {
          authorization: `DPoP ${at}`,
          dpop: proof,
          cookie: 'consentry-session=COOKIE-SECRET-VALUE',
        },
      })
    } finally {
      failing = false
    }
    expect(res.status).toBe(500)
    expect(res.headers['content-type']).toBe('application/problem+json')
    const body = JSON.parse(res.body.toString())
    expect(body).toMatchObject({
      code: 'internal_error',
      status: 500,
      request_id: expect.stringMatching(/^[\w-]{16}$/),
    })
    expect(res.headers['x-request-id']).toBe(body.request_id)
    expect(res.body.toString()).not.toContain('db down')

    const errors = captured.lines.filter((l) => l.level === 'error')
    expect(errors).toHaveLength(1)
    const [line] = errors
    expect(line!.msg).toBe('unexpected error: Error: db down')
    expect(line!.fields).toMatchObject({
      event: 'request.failed',
      area: 'resource',
      request_id: body.request_id,
      method: 'GET',
      path: '/api/accounts',
    })
    const error = line!.fields.err as { name: string; message: string; stack: string }
    expect(error.message).toBe('db down')
    expect(error.stack).toContain('Error: db down')
    expect(error.stack).toMatch(/\n\s+at /)
    const logged = JSON.stringify(captured.lines)
    for (const secret of [at, proof, 'COOKIE-SECRET-VALUE', linked.tokens.refresh_token!])
      expect(logged).not.toContain(secret)
    // The deprecated onError hook still hears of it, with the error itself.
    expect(hooked.map((e) => (e as Error).message)).toEqual(['db down'])
  })

  it('at an OAuth endpoint are an OAuth server_error with the request id', async () => {
    captured.lines.length = 0
    const auth = await clientAuth(r)
    failing = true
    let res: Awaited<ReturnType<typeof postForm>>
    try {
      res = await postForm(`${holder.issuer}/token`, { grant_type: 'client_credentials', ...auth })
    } finally {
      failing = false
    }
    expect(res.status).toBe(500)
    expect(res.body).toEqual({
      error: 'server_error',
      error_description: 'unexpected error',
      request_id: expect.any(String),
    })
    expect(res.res.headers.get('x-request-id')).toBe(res.body!.request_id)
    const [line] = captured.lines.filter((l) => l.level === 'error')
    expect(line!.fields.request_id).toBe(res.body!.request_id)
    expect(JSON.stringify(captured.lines)).not.toContain(auth.client_assertion)
  })

  it('get a fresh request id each time, whatever X-Request-Id the client sends', async () => {
    const ids = new Set<string>()
    failing = true
    try {
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${holder.issuer}/token`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'x-request-id': 'chosen-by-client',
          },
          body: new URLSearchParams({ grant_type: 'client_credentials', ...(await clientAuth(r)) }),
        })
        ids.add(res.headers.get('x-request-id')!)
      }
    } finally {
      failing = false
    }
    expect(ids.size).toBe(3)
    expect(ids.has('chosen-by-client')).toBe(false)
  })

  it('the default logger writes one JSON line per event, redacting token-shaped strings', () => {
    const out: string[] = []
    const logger = jsonLinesLogger((l) => out.push(l))
    const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl'
    logger.error({ request_id: 'r1' }, 'unexpected error')
    expect(JSON.parse(out[0]!)).toMatchObject({ level: 'error', msg: 'unexpected error', request_id: 'r1' })
    expect(typeof JSON.parse(out[0]!).time).toBe('string')
    // describeError (what the server logs of an error) redacts a token that leaked into a message.
    const fields = describeError(new Error(`bad token ${jwt}`))
    expect(JSON.stringify(fields)).not.toContain(jwt)
    expect(fields.message).toBe('bad token [redacted]')
  })
})

// ---- ending a grant and its event: one transaction ---------------------------------------------

describe('ending a grant and queueing its event', () => {
  let hook: Server
  const received: string[] = []
  let hookUrl: string
  beforeAll(async () => {
    hook = createServer((req, res) => {
      let body = ''
      req.on('data', (d) => {
        body += d
      })
      req.on('end', () => {
        received.push(body)
        res.writeHead(202).end()
      })
    })
    await new Promise<void>((ok) => hook.listen(0, '127.0.0.1', ok))
    hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/events`
  })
  afterAll(() => hook.close())

  it('survive a crash right after the transition: another instance delivers the event', async () => {
    const shared = memoryStore()
    let crashed = false
    const calls: string[] = []
    // The first instance "dies" the moment its store has ended the grant: every later call fails.
    const dying: Store = new Proxy(shared, {
      get(target, key) {
        const value = Reflect.get(target, key, target)
        if (typeof value !== 'function') return value
        return async (...args: unknown[]) => {
          if (crashed) throw new Error('instance crashed')
          calls.push(String(key))
          const result = await (value as (...a: unknown[]) => unknown).apply(target, args)
          if (key === 'transitionGrant' && (args[2] as { status?: string }).status === 'revoked')
            crashed = true
          return result
        }
      },
    })
    const { logger, lines } = captureLogger()
    const first = await startHarborPay({
      store: dying,
      port: 0,
      publicHost: '127.0.0.1',
      maintenance: false,
      overrides: { logger },
    })
    try {
      const r = await registerRecipient(first.issuer, { webhookUri: hookUrl })
      const { tokens } = await link(first.issuer, r)
      const grantId = (tokens as unknown as { grant_id: string }).grant_id
      const res = await oauth.revocationRequest(r.as, r.client, r.auth, tokens.refresh_token!, {
        [oauth.allowInsecureRequests]: true,
      })
      expect(res.status).toBe(500) // the instance died mid-request
      expect(crashed).toBe(true)
      expect(
        lines.filter((l) => l.level === 'error').map((l) => (l.fields.err as { message?: string }).message),
      ).toEqual(['instance crashed'])
      expect(calls).not.toContain('enqueueEvent') // no separate, losable step
      expect((await shared.getGrant(grantId))?.status).toBe('revoked')

      const second = await startHarborPay({
        store: shared,
        port: 0,
        publicHost: '127.0.0.1',
        maintenance: false,
      })
      try {
        received.length = 0
        await second.server.maintain()
        expect(received).toHaveLength(1)
        const payload = JSON.parse(new TextDecoder().decode(base64url.decode(received[0]!.split('.')[1]!)))
        expect(Object.values(payload.events)[0]).toMatchObject({ grant_id: grantId, status: 'revoked' })
      } finally {
        await second.close()
      }
    } finally {
      await first.close()
    }
  }, 60_000)
})

// ---- keys at rest -------------------------------------------------------------------------------

describe('server keys at rest', () => {
  const temp = mkdtempSync(join(tmpdir(), 'consentry-keys-'))
  const savedEnv = process.env.CONSENTRY_KEY_ENCRYPTION_KEY
  beforeAll(() => {
    delete process.env.CONSENTRY_KEY_ENCRYPTION_KEY
  })
  afterAll(() => {
    if (savedEnv === undefined) delete process.env.CONSENTRY_KEY_ENCRYPTION_KEY
    else process.env.CONSENTRY_KEY_ENCRYPTION_KEY = savedEnv
    rmSync(temp, { recursive: true, force: true })
  })

  /** A PGlite directory opened for one step, read back raw through SQL. */
  async function withPglite<T>(
    dir: string,
    fn: (
      store: Store,
      rows: () => Promise<Record<string, string>>,
      sql: (statement: string) => Promise<unknown>,
    ) => Promise<T>,
  ) {
    const db = await openPglite(join(temp, dir))
    const store = await pgliteStore({ pglite: db })
    try {
      return await fn(
        store,
        async () =>
          Object.fromEntries(
            (
              await db.query<{ name: string; value: string }>('SELECT name, value FROM public.secrets')
            ).rows.map((r) => [r.name, r.value]),
          ),
        (statement) => db.exec(statement),
      )
    } finally {
      await store.close()
      await db.close()
    }
  }

  it('are encrypted in a memory store when a key-encryption key is set', async () => {
    const store = memoryStore()
    const holder = await serve({ store, keyEncryptionKey: newKek() })
    try {
      const { keys } = await jwksOf(holder.issuer)
      for (const name of SECRET_NAMES) {
        const value = await rawSecret(store, name)
        expect(value, name).toMatch(ENVELOPE)
      }
      // Nothing of the signing key is readable from the stored value.
      const stored = await rawSecret(store, 'signing-key')
      expect(stored).not.toContain(keys[0]!.x!)
    } finally {
      await holder.close()
    }
  })

  it('on PGlite: encrypted rows, the same keys after a restart, a wrong key refused', async () => {
    const kek = newKek()
    const first = await withPglite('kek', async (store, rows) => {
      const holder = await serve({ store, keyEncryptionKey: kek })
      const jwks = await jwksOf(holder.issuer)
      await holder.close()
      const stored = await rows()
      expect(Object.keys(stored)).toEqual(expect.arrayContaining(SECRET_NAMES))
      for (const [name, value] of Object.entries(stored)) {
        expect(value, name).toMatch(ENVELOPE)
        expect(value).not.toMatch(/"d"|"kty"/)
      }
      // Decrypting with the key gives the real secrets (AAD = the name: swapped rows do not decrypt).
      const provider = keyEncryptionKeyProvider(kek)
      const cookie = await provider.decrypt('cookie', stored.cookie!.slice(4))
      expect(base64url.decode(cookie)).toHaveLength(32)
      await expect(provider.decrypt('cursor', stored.cookie!.slice(4))).rejects.toThrow()
      const signing = JSON.parse(await provider.decrypt('signing-key', stored['signing-key']!.slice(4)))
      expect(signing).toMatchObject({ kty: 'OKP', crv: 'Ed25519', x: jwks.keys[0]!.x })
      return { jwks, stored }
    })
    await withPglite('kek', async (store, rows, sql) => {
      // Same key-encryption key: the same keys, nothing regenerated.
      const holder = await serve({ store, keyEncryptionKey: kek })
      expect(await jwksOf(holder.issuer)).toEqual(first.jwks)
      await holder.close()
      expect(await rows()).toEqual(first.stored)
      // A wrong one: a clear start-up error, never garbage keys.
      await expect(serve({ store, keyEncryptionKey: newKek() })).rejects.toThrow(
        /cannot decrypt stored keys: wrong key-encryption key/,
      )
      await expect(serve({ store, keyEncryptionKey: newKek() })).rejects.toBeInstanceOf(ConfigError)
      // A secret missing (say, one a newer version adds) is not created under the wrong key.
      await sql(`DELETE FROM public.secrets WHERE name = 'cursor'`)
      await expect(serve({ store, keyEncryptionKey: newKek() })).rejects.toThrow(/wrong key-encryption key/)
      expect(Object.keys(await rows())).not.toContain('cursor')
      // Plaintext mode on encrypted rows: refused too.
      await expect(serve({ store, dangerouslyStoreKeysInPlaintext: true })).rejects.toThrow(
        /stored keys are encrypted/,
      )
    })
  }, 60_000)

  it('on a durable store without a key-encryption key, refuse to start, naming the variable', async () => {
    await withPglite('none', async (store, rows) => {
      const error = await serve({ store }).catch((e) => e)
      expect(error).toBeInstanceOf(ConfigError)
      expect(error.message).toContain('CONSENTRY_KEY_ENCRYPTION_KEY')
      expect(await rows()).toEqual({}) // nothing was written in plaintext first
    })
  })

  it('take the key-encryption key from CONSENTRY_KEY_ENCRYPTION_KEY', async () => {
    process.env.CONSENTRY_KEY_ENCRYPTION_KEY = newKek()
    try {
      await withPglite('env', async (store, rows) => {
        const holder = await serve({ store })
        await holder.close()
        for (const value of Object.values(await rows())) expect(value).toMatch(ENVELOPE)
      })
    } finally {
      delete process.env.CONSENTRY_KEY_ENCRYPTION_KEY
    }
    expect(() => keyEncryptionKeyProvider('too-short')).toThrow(/32 random bytes/)
  })

  it('in plaintext only under the loud option, said at start; a key set later encrypts them in place', async () => {
    let jwks: Awaited<ReturnType<typeof jwksOf>>
    await withPglite('plain', async (store, rows) => {
      const { logger, lines } = captureLogger()
      const holder = await serve({ store, dangerouslyStoreKeysInPlaintext: true, logger })
      jwks = await jwksOf(holder.issuer)
      await holder.close()
      const warning = lines.find((l) => l.level === 'warn')
      expect(warning?.msg).toMatch(/PLAINTEXT/)
      expect(warning?.msg).toContain('CONSENTRY_KEY_ENCRYPTION_KEY')
      expect(JSON.parse((await rows())['signing-key']!)).toMatchObject({ kty: 'OKP', crv: 'Ed25519' }) // the generated key is EdDSA
    })
    await withPglite('plain', async (store, rows) => {
      const { logger, lines } = captureLogger()
      const holder = await serve({ store, keyEncryptionKey: newKek(), logger })
      expect(await jwksOf(holder.issuer)).toEqual(jwks) // the same keys, now sealed
      await holder.close()
      for (const value of Object.values(await rows())) expect(value).toMatch(ENVELOPE)
      expect(lines.filter((l) => l.level === 'warn').map((l) => l.fields.secret)).toEqual(
        expect.arrayContaining(SECRET_NAMES),
      )
    })
    // memoryStore keeps nothing: no option, no warning needed.
    const { logger, lines } = captureLogger()
    const holder = await serve({ store: memoryStore(), logger })
    await holder.close()
    expect(lines.filter((l) => l.level !== 'info')).toEqual([])
  }, 60_000)

  it('rotate: under [new, old] the old rows decrypt and are re-encrypted under the new key', async () => {
    const [oldKek, nextKek] = [newKek(), newKek()]
    let jwks: Awaited<ReturnType<typeof jwksOf>>
    let before: Record<string, string> = {}
    await withPglite('rotate', async (store, rows) => {
      const holder = await serve({ store, keyEncryptionKey: oldKek })
      jwks = await jwksOf(holder.issuer)
      await holder.close()
      before = await rows()
    })
    await withPglite('rotate', async (store, rows) => {
      const holder = await serve({ store, keyEncryptionKey: [nextKek, oldKek] })
      expect(await jwksOf(holder.issuer)).toEqual(jwks)
      await holder.close()
      const after = await rows()
      const kid = (v: string) => v.split(':')[2]
      for (const name of SECRET_NAMES) expect(kid(after[name]!), name).not.toBe(kid(before[name]!))
      expect(new Set(Object.values(after).map(kid)).size).toBe(1)
    })
    await withPglite('rotate', async (store) => {
      const holder = await serve({ store, keyEncryptionKey: nextKek }) // the old key can go now
      expect(await jwksOf(holder.issuer)).toEqual(jwks)
      await holder.close()
    })
  }, 60_000)

  it('go through a holder-supplied KeyProvider (a KMS) when given', async () => {
    const inner = keyEncryptionKeyProvider(newKek())
    const calls: string[] = []
    const kms: KeyProvider = {
      async encrypt(name, plaintext) {
        calls.push(`encrypt ${name}`)
        return `kms1.${await inner.encrypt(name, plaintext)}`
      },
      async decrypt(name, ciphertext) {
        calls.push(`decrypt ${name}`)
        if (!ciphertext.startsWith('kms1.')) throw new Error('not mine')
        return inner.decrypt(name, ciphertext.slice(5))
      },
    }
    let jwks: Awaited<ReturnType<typeof jwksOf>>
    await withPglite('kms', async (store, rows) => {
      const holder = await serve({ store, keyProvider: kms })
      jwks = await jwksOf(holder.issuer)
      await holder.close()
      for (const value of Object.values(await rows())) expect(value).toMatch(/^enc:kms1\.v1:/)
      expect(calls).toEqual(expect.arrayContaining(SECRET_NAMES.map((n) => `encrypt ${n}`)))
    })
    calls.length = 0
    await withPglite('kms', async (store) => {
      const holder = await serve({ store, keyProvider: kms })
      expect(await jwksOf(holder.issuer)).toEqual(jwks)
      await holder.close()
      expect(calls).toEqual(expect.arrayContaining(SECRET_NAMES.map((n) => `decrypt ${n}`)))
    })
    await expect(
      serve({ store: memoryStore(), keyProvider: kms, keyEncryptionKey: newKek() }),
    ).rejects.toThrow(/not both/)
  }, 60_000)
})

// ---- a separate audit-checkpoint key ------------------------------------------------------------

describe('a separate audit-checkpoint key', () => {
  let holder: HarborPay
  let auditJwk: Record<string, unknown>
  const temp = mkdtempSync(join(tmpdir(), 'consentry-audit-key-'))
  beforeAll(async () => {
    // The audit log key signs C2SP checkpoints: Ed25519.
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
    auditJwk = { ...(await exportJWK(privateKey)), kid: 'audit-2026', alg: 'EdDSA' }
    holder = await startHarborPay({
      store: memoryStore(),
      port: 0,
      publicHost: '127.0.0.1',
      maintenance: false,
      overrides: { auditSigningKey: auditJwk },
    })
  })
  afterAll(async () => {
    await holder.close()
    rmSync(temp, { recursive: true, force: true })
  })

  it('signs checkpoints, is published in the JWKS, verifies offline and with the CLI — and never verifies tokens', async () => {
    const r = await registerRecipient(holder.issuer)
    const linked = await link(holder.issuer, r)
    const jwks = await jwksOf(holder.issuer)
    const tokenKid = decodeProtectedHeader(linked.tokens.access_token).kid
    expect(jwks.keys.map((k) => k.kid)).toEqual([tokenKid, 'audit-2026'])
    expect(jwks.keys[1]).not.toHaveProperty('d')

    // The log's published note verifier key is this key's public half.
    const metadata = await (await fetch(`${holder.issuer}/.well-known/oauth-authorization-server`)).json()
    const verifierKey = metadata.audit_log.verifier_key as string
    expect(
      Buffer.from(verifierKey.split('+').slice(2).join('+'), 'base64').subarray(1).toString('base64url'),
    ).toBe(auditJwk.x)
    expect(await holder.server.audit.checkpoint()).toBeTruthy()
    expect((await holder.server.audit.verify()).ok).toBe(true)

    const lines: string[] = []
    for await (const line of holder.server.audit.export()) lines.push(line)
    expect((await verifyAuditExport(lines, { verifierKey })).ok).toBe(true)
    // With another key the checkpoint does not verify: it really is signed by this one.
    const { privateKey: otherKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
    const { formatVerifierKey } = await import('@consentry/core')
    const otherX = Buffer.from((await exportJWK(otherKey)).x!, 'base64url')
    const other = formatVerifierKey(metadata.audit_log.origin, new Uint8Array(otherX))
    expect((await verifyAuditExport(lines, { verifierKey: other })).ok).toBe(false)

    const exportFile = join(temp, 'audit.jsonl')
    writeFileSync(exportFile, `${lines.join('\n')}\n`)
    const printed: string[] = []
    const io = { stdout: (t: string) => void printed.push(t), stderr: (t: string) => void printed.push(t) }
    expect(await cli(['audit', 'verify', exportFile, '--key', verifierKey], io)).toBe(0)
    expect(printed.join('')).not.toMatch(/forged|TAMPERED/i)

    // An access token signed with the audit key (its claims copied from a real one) is refused.
    const claims = JSON.parse(
      new TextDecoder().decode(base64url.decode(linked.tokens.access_token.split('.')[1]!)),
    )
    const header = decodeProtectedHeader(linked.tokens.access_token)
    const forged = await new SignJWT(claims)
      .setProtectedHeader({ ...header, alg: 'EdDSA', kid: 'audit-2026' })
      .sign(await importJWK(auditJwk as never, 'EdDSA'))
    const url = `${holder.issuer}/api/accounts`
    const proof = await dpopProof(linked.pending.dpopKeys, {
      htm: 'GET',
      htu: url,
      nonce: await fetchNonce(r),
      accessToken: forged,
    })
    const res = await rawRequest(holder.issuer, {
      method: 'GET',
      path: '/api/accounts',
      headers: { authorization: `DPoP ${forged}`, dpop: proof },
    })
    expect(res.status).toBe(401)
  })

  it('must not be a token signing key', async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
    const jwk = { ...(await exportJWK(privateKey)), kid: 'same', alg: 'EdDSA' }
    await expect(serve({ store: memoryStore(), signingKey: jwk, auditSigningKey: jwk })).rejects.toThrow(
      /auditSigningKey must be a different key/,
    )
    // And it must be Ed25519: checkpoints are C2SP signed notes.
    const { privateKey: ec } = await generateKeyPair('ES256', { extractable: true })
    const ecJwk = { ...(await exportJWK(ec)), kid: 'audit-ec', alg: 'ES256' }
    await expect(serve({ store: memoryStore(), auditSigningKey: ecJwk })).rejects.toThrow(/Ed25519/)
  })
})
