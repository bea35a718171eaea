import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type ConsentServer, nodeListener, servesPath, wellKnownPaths } from '@consentry/server'
import { expressHandler } from '@consentry/server/express'
import express from 'express'
import { afterAll, describe, expect, it } from 'vitest'
import { createHolder, type LogCapture, linkReadRevoke } from './helpers/mounted.ts'

const closers: Array<() => Promise<unknown> | unknown> = []
afterAll(async () => {
  for (const close of closers.reverse()) await close()
})

/** Listen on 127.0.0.1, any free port; the handler is bound later (the issuer names the port). */
async function listen(): Promise<{
  http: Server
  origin: string
  handle: (h: (q: IncomingMessage, s: ServerResponse) => void) => void
}> {
  let handler: (q: IncomingMessage, s: ServerResponse) => void = (_q, s) => s.writeHead(503).end()
  const http = createServer((q, s) => handler(q, s))
  await new Promise<void>((ok) => http.listen(0, '127.0.0.1', ok))
  closers.push(() => new Promise((ok) => http.close(ok)))
  return {
    http,
    origin: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    handle: (h) => {
      handler = h
    },
  }
}

describe('node:http: an issuer with a path, beside another app on the same server', () => {
  let issuer: string
  let server: ConsentServer
  const log: LogCapture = { errors: [] }

  it('runs link → read → revoke, with RFC 8414 and RFC 9728 path-insertion discovery', async () => {
    const { origin, handle } = await listen()
    issuer = `${origin}/oauth`
    server = await createHolder(issuer, log)
    const consentry = nodeListener(server.fetch)
    handle((req, res) => {
      if (servesPath(server, (req.url ?? '/').split('?')[0]!)) return consentry(req, res)
      res.writeHead(200, { 'content-type': 'text/plain' }).end('the shop')
    })
    expect(wellKnownPaths(server)).toEqual([
      '/.well-known/oauth-authorization-server/oauth',
      '/.well-known/oauth-protected-resource/oauth/api',
    ])
    await linkReadRevoke(issuer, server)
    expect(log.errors).toEqual([])
  })
})

describe('node:http: an issuer with a path answers only under it', () => {
  it('serves the path-insertion metadata, not a root one that would name another issuer', async () => {
    const { origin, handle } = await listen()
    const server = await createHolder(`${origin}/oauth`)
    handle(nodeListener(server.fetch))
    expect((await fetch(`${origin}/.well-known/oauth-authorization-server/oauth`)).status).toBe(200)
    // The `{issuer}/.well-known/…` form some clients try.
    expect((await fetch(`${origin}/oauth/.well-known/oauth-authorization-server`)).status).toBe(200)
    expect((await fetch(`${origin}/.well-known/oauth-protected-resource/oauth/api`)).status).toBe(200)
    for (const stray of [
      '/.well-known/oauth-authorization-server',
      '/.well-known/oauth-protected-resource/api',
      '/jwks',
    ])
      expect((await fetch(`${origin}${stray}`)).status, stray).toBe(404)
  })
})

/** An Express app listening on 127.0.0.1, its issuer `…/oauth`, with `before` middleware in front. */
async function expressHolder(before: express.RequestHandler[], log: LogCapture = { errors: [] }) {
  const app = express()
  for (const m of before) app.use(m)
  // What reached Consentry: was each POST body already read off the socket by the parsers in front?
  const posts: Array<{ type: string; alreadyRead: boolean }> = []
  app.use((req, _res, next) => {
    if (req.method === 'POST')
      posts.push({ type: req.headers['content-type'] ?? '', alreadyRead: req.readableDidRead })
    next()
  })
  const { origin, handle } = await listen()
  handle(app)
  const server = await createHolder(`${origin}/oauth`, log)
  // The recipe (README "Express"), as written.
  const consentry = expressHandler(server)
  app.use('/oauth', consentry)
  app.get(wellKnownPaths(server), consentry)
  app.get('/', (_req, res) => {
    res.send('the shop')
  })
  return { origin, issuer: `${origin}/oauth`, server, log, posts }
}

/** The parsers in front really consumed the JSON registration and the OAuth forms. */
function expectRebuilt(posts: Array<{ type: string; alreadyRead: boolean }>, types: string[]) {
  for (const type of types) {
    const seen = posts.filter((p) => p.type.startsWith(type))
    expect(seen.length, type).toBeGreaterThan(0)
    expect(
      seen.every((p) => p.alreadyRead),
      type,
    ).toBe(true)
  }
}

describe('Express (@consentry/server/express)', () => {
  it('runs link → read → revoke mounted at /oauth, no body parser in front', async () => {
    const { issuer, server, log, posts } = await expressHolder([])
    await linkReadRevoke(issuer, server)
    expect(log.errors).toEqual([])
    expect(posts.some((p) => p.alreadyRead)).toBe(false) // streamed straight from the socket
  })

  it('runs the loop with express.json() and express.urlencoded() in front', async () => {
    const { issuer, server, log, posts } = await expressHolder([express.json(), express.urlencoded()])
    await linkReadRevoke(issuer, server)
    expect(log.errors).toEqual([])
    expectRebuilt(posts, ['application/json', 'application/x-www-form-urlencoded'])
  })

  it('runs the loop with express.urlencoded({ extended: true }) (qs) and express.json() in front', async () => {
    const { issuer, server, log, posts } = await expressHolder([
      express.urlencoded({ extended: true }),
      express.json(),
    ])
    await linkReadRevoke(issuer, server)
    expect(log.errors).toEqual([])
    expectRebuilt(posts, ['application/json', 'application/x-www-form-urlencoded'])
  })

  it('runs the loop with express.raw() taking every body in front (the bytes pass unchanged)', async () => {
    const { issuer, server, log, posts } = await expressHolder([express.raw({ type: () => true })])
    await linkReadRevoke(issuer, server)
    expect(log.errors).toEqual([])
    expectRebuilt(posts, ['application/json', 'application/x-www-form-urlencoded'])
  })
})

describe('Express with parsers in front: what the rebuilt body means is what was sent', () => {
  it('a repeated OAuth parameter is still refused (RFC 6749 §3.1), NUL in JSON still refused', async () => {
    const { issuer, log } = await expressHolder([express.json(), express.urlencoded()])
    const repeated = await fetch(`${issuer}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=a&token=b',
    })
    expect(repeated.status).toBe(400)
    expect(await repeated.json()).toMatchObject({
      error: 'invalid_request',
      error_description: 'parameter token is repeated',
    })
    const nul = await fetch(`${issuer}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer demo-initial-access-token' },
      body: JSON.stringify({ client_name: 'a\u0000b' }),
    })
    expect(nul.status).toBe(400)
    expect((await nul.json()).error_description).toMatch(/NUL/)
    expect(log.errors).toEqual([])
  })
})

describe('Mounting mistakes are never a bare 500 without a log line', () => {
  it('a body read by middleware that left no req.body: 500 with a request id, the cause logged under it', async () => {
    const swallow: express.RequestHandler = (req, _res, next) => {
      req.on('end', () => next()).resume() // reads the body, keeps nothing
    }
    const { issuer, log } = await expressHolder([swallow])
    const res = await fetch(`${issuer}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer demo-initial-access-token' },
      body: JSON.stringify({ client_name: 'Beacon Lending' }),
    })
    expect(res.status).toBe(500)
    const body = await res.json()
    expect(body).toMatchObject({ error: 'server_error' }) // an OAuth endpoint: an OAuth JSON error
    expect(body.request_id).toMatch(/^[\w-]{16}$/)
    expect(res.headers.get('x-request-id')).toBe(body.request_id)
    expect(log.errors).toHaveLength(1)
    const { fields } = log.errors[0]!
    expect(fields.request_id).toBe(body.request_id)
    expect(fields.path).toBe('/oauth/register')
    expect(fields.error).toMatchObject({ name: 'MountError', code: 'body_already_read' })
    expect(String((fields.error as { message: string }).message)).toMatch(/mount Consentry before/)
  })

  it('a form a parser turned into nested objects cannot be rebuilt: logged as body_not_rebuildable', async () => {
    const { issuer, log } = await expressHolder([express.urlencoded({ extended: true })])
    const res = await fetch(`${issuer}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token[a]=b',
    })
    expect(res.status).toBe(500)
    const body = await res.json()
    expect(log.errors.map((e) => e.fields.request_id)).toEqual([body.request_id])
    expect(log.errors[0]!.fields.error).toMatchObject({ name: 'MountError', code: 'body_not_rebuildable' })
  })

  it('mounted at /oauth with an issuer without the path: a loud warning naming both', async () => {
    const app = express()
    const { origin, handle } = await listen()
    handle(app)
    const warnings: string[] = []
    const server = await createHolder(origin, { errors: [] }, (message) => warnings.push(message))
    app.use('/oauth', expressHandler(server))
    expect((await fetch(`${origin}/oauth/jwks`)).status).toBe(404)
    expect((await fetch(`${origin}/oauth/jwks`)).status).toBe(404)
    expect(warnings).toHaveLength(1) // once, not per request
    expect(warnings[0]).toContain('mounted at /oauth')
    expect(warnings[0]).toContain(`issuer (${origin})`)
  })

  it('a handler that throws under nodeListener: 500 problem with a request id, logged under it', async () => {
    const { origin, handle } = await listen()
    const log: LogCapture = { errors: [] }
    const broken = async () => {
      throw new Error('the wrapper broke')
    }
    handle(
      nodeListener(broken, {
        logger: { error: (m, f = {}) => log.errors.push({ message: m, fields: f }), warn: () => {} },
      }),
    )
    const res = await fetch(`${origin}/oauth/jwks`)
    expect(res.status).toBe(500)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    const body = await res.json()
    expect(body.code).toBe('internal_error')
    expect(log.errors).toHaveLength(1)
    expect(log.errors[0]!.fields).toMatchObject({
      request_id: body.request_id,
      method: 'GET',
      path: '/oauth/jwks',
      error: { name: 'Error', message: 'the wrapper broke' },
    })
  })
})
