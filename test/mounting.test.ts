import { type ChildProcess, spawn } from 'node:child_process'
import { accessSync, constants, readdirSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { delimiter, join, relative, sep } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { type ConsentServer, nodeListener, servesPath, wellKnownPaths } from '@consentry/server'
import { expressHandler } from '@consentry/server/express'
import { fastifyPlugin } from '@consentry/server/fastify'
import { honoHandler } from '@consentry/server/hono'
import { getRequestListener, serve } from '@hono/node-server'
import express from 'express'
import Fastify, { type FastifyInstance } from 'fastify'
import { Hono } from 'hono'
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
      if (servesPath(server, req.url!.split('?')[0]!)) return consentry(req, res)
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
    expect(fields.err).toMatchObject({ name: 'MountError', code: 'body_already_read' })
    expect(String((fields.err as { message: string }).message)).toMatch(/mount Consentry before/)
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
    expect(log.errors[0]!.fields.err).toMatchObject({ name: 'MountError', code: 'body_not_rebuildable' })
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
        logger: { error: (f, m = '') => log.errors.push({ message: m, fields: f }), warn: () => {} },
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
      err: { name: 'Error', message: 'the wrapper broke' },
    })
  })
})

describe('Fastify (@consentry/server/fastify)', () => {
  /** Fastify on a node:http server already listening (so the issuer can name its port). */
  async function fastifyHolder(setup: (app: FastifyInstance) => void = () => {}) {
    const { http, origin, handle } = await listen()
    const app = Fastify({
      serverFactory: (handler) => {
        handle(handler)
        return http
      },
    })
    const log: LogCapture = { errors: [] }
    const server = await createHolder(`${origin}/oauth`, log)
    setup(app)
    // The recipe (README "Fastify"), as written.
    await app.register(fastifyPlugin(server))
    app.get('/', async () => 'the shop')
    await app.ready()
    closers.push(() => app.close())
    return { app, origin, issuer: `${origin}/oauth`, server, log }
  }

  it('runs link → read → revoke; the app keeps its own routes', async () => {
    const { origin, issuer, server, log } = await fastifyHolder()
    await linkReadRevoke(issuer, server)
    expect(log.errors).toEqual([])
    expect(await (await fetch(`${origin}/`)).text()).toBe('the shop')
  })

  it('the app’s own body parsers (JSON, a urlencoded one) stay outside the plugin: the loop still runs', async () => {
    const parsed: string[] = []
    const { app, issuer, server, log } = await fastifyHolder((app) => {
      app.addContentTypeParser(
        'application/x-www-form-urlencoded',
        { parseAs: 'string' },
        (_req, body, done) => {
          parsed.push('form')
          done(null, Object.fromEntries(new URLSearchParams(body as string)))
        },
      )
      app.post('/echo', async (request) => request.body)
    })
    await linkReadRevoke(issuer, server)
    expect(log.errors).toEqual([])
    expect(parsed).toEqual([]) // never ran on Consentry's requests
    // …and still work for the app's own routes.
    const echo = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'a=1',
    })
    expect(echo.json()).toEqual({ a: '1' })
    expect(parsed).toEqual(['form'])
  })

  it('an issuer at the root: the plugin takes every path but the app’s own routes', async () => {
    const { http, origin, handle } = await listen()
    const app = Fastify({
      serverFactory: (handler) => {
        handle(handler)
        return http
      },
    })
    const server = await createHolder(origin)
    await app.register(fastifyPlugin(server))
    app.get('/shop', async () => 'the shop')
    await app.ready()
    closers.push(() => app.close())
    expect((await (await fetch(`${origin}/.well-known/oauth-authorization-server`)).json()).issuer).toBe(
      origin,
    )
    expect((await fetch(`${origin}/jwks`)).status).toBe(200)
    expect(await (await fetch(`${origin}/shop`)).text()).toBe('the shop')
  })

  it('Consentry answers its own errors at its endpoints (an oversized body is an OAuth 413, a bodiless POST an OAuth 400)', async () => {
    const { issuer } = await fastifyHolder()
    const big = await fetch(`${issuer}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${'a'.repeat(70 * 1024)}`,
    })
    expect(big.status).toBe(413)
    expect((await big.json()).error).toBe('invalid_request')
    const none = await fetch(`${issuer}/revoke`, { method: 'POST' })
    expect(none.status).toBe(400)
    expect((await none.json()).error).toBe('invalid_request')
    const missing = await fetch(`${issuer}/nothing-here`)
    expect(missing.status).toBe(404)
    expect(missing.headers.get('content-type')).toBe('application/problem+json')
  })
})

describe('Hono (@consentry/server/hono) on @hono/node-server', () => {
  async function honoHolder(setup: (app: Hono) => void = () => {}) {
    const app = new Hono()
    setup(app)
    const http = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' })
    await new Promise<void>((ok) => (http.listening ? ok() : http.once('listening', () => ok())))
    closers.push(() => new Promise((ok) => http.close(ok)))
    const origin = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
    const log: LogCapture = { errors: [] }
    const server = await createHolder(`${origin}/oauth`, log)
    // The recipe (README "Hono"), as written.
    const consentry = honoHandler(server)
    app.all('/oauth/*', consentry)
    for (const path of wellKnownPaths(server)) app.get(path, consentry)
    app.get('/', (c) => c.text('the shop'))
    return { origin, issuer: `${origin}/oauth`, server, log }
  }

  it('runs link → read → revoke; /oauth itself and the app’s routes are routed too', async () => {
    const { origin, issuer, server, log } = await honoHolder()
    await linkReadRevoke(issuer, server)
    expect(log.errors).toEqual([])
    expect((await fetch(`${origin}/oauth`)).headers.get('content-type')).toBe('application/problem+json') // Consentry's 404
    expect(await (await fetch(`${origin}/`)).text()).toBe('the shop')
  })

  it('runs the loop with middleware in front that already read the bodies (c.req.json(), c.req.formData())', async () => {
    const read: string[] = []
    const { issuer, server, log } = await honoHolder((app) =>
      app.use('*', async (c, next) => {
        const type = c.req.header('content-type') ?? ''
        if (type.startsWith('application/json')) read.push(`json:${typeof (await c.req.json())}`)
        if (type.startsWith('application/x-www-form-urlencoded'))
          read.push(
            `form:${(await c.req.formData()).has('client_id') || (await c.req.formData()).has('csrf')}`,
          )
        await next()
      }),
    )
    await linkReadRevoke(issuer, server)
    expect(log.errors).toEqual([])
    expect(read).toContain('json:object')
    expect(read).toContain('form:true')
  })
})

/**
 * Next.js App Router route files under `dir`, matched the way Next matches them: static segments,
 * `[name]`, `[...name]` (one or more) and `[[...name]]` (zero or more). Next itself is not installed:
 * this is its routing rule, enough to run the recipe's route files as written.
 */
function appRoutes(dir: string) {
  const files: string[] = []
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }))
      if (e.isDirectory()) walk(join(d, e.name))
      else if (e.name === 'route.ts') files.push(join(d, e.name))
  }
  walk(dir)
  return files.map((file) => {
    const segments = relative(dir, file).split(sep).slice(0, -1)
    const source = segments
      .map((seg) => {
        if (seg.startsWith('[[...')) return '(?:/[^/]+)*'
        if (seg.startsWith('[...')) return '(?:/[^/]+)+'
        if (seg.startsWith('[')) return '/[^/]+'
        return `/${seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`
      })
      .join('')
    return { file, path: `/${segments.join('/')}`, pattern: new RegExp(`^${source || '/'}$`) }
  })
}

describe('Next.js route handlers (@consentry/server/next)', () => {
  it('the recipe’s route files, served as Next serves them, run link → read → revoke', async () => {
    const { origin, handle } = await listen()
    const issuer = `${origin}/oauth`
    process.env.CONSENTRY_ISSUER = issuer
    const appDir = fileURLToPath(new URL('./fixtures/next-app/app', import.meta.url))
    const routes = await Promise.all(
      appRoutes(appDir).map(async (r) => ({
        ...r,
        module: (await import(r.file)) as Record<string, unknown>,
      })),
    )
    const lib = await import('./fixtures/next-app/lib/consentry.ts')
    const server = await lib.server
    // One route file per path-insertion metadata URL: exactly the ones the helper names.
    expect(
      routes
        .map((r) => r.path)
        .filter((p) => p.startsWith('/.well-known/'))
        .sort(),
    ).toEqual([...wellKnownPaths(server)].sort())
    // Next's request handling: find the route file, call the exported method handler with the
    // Request and a context; a method the file does not export is a 405, HEAD falls back to GET.
    handle(
      getRequestListener(async (request) => {
        const pathname = new URL(request.url).pathname
        const route = routes.find((r) => r.pattern.test(pathname))
        if (!route) return new Response('not found', { status: 404 })
        const method = request.method === 'HEAD' && !route.module.HEAD ? 'GET' : request.method
        const handler = route.module[method] as ((r: Request, ctx: unknown) => Promise<Response>) | undefined
        if (!handler) return new Response(null, { status: 405 })
        return handler(request, { params: Promise.resolve({}) })
      }),
    )
    await linkReadRevoke(issuer, server)
    expect(lib.log.errors).toEqual([])
    expect(routes.find((r) => r.pattern.test('/oauth'))?.path).toBe('/oauth/[[...path]]') // /oauth itself
  })
})

/**
 * A runtime binary: `$BUN_BIN` / `$DENO_BIN`, else on PATH, else in the repository's
 * node_modules/.bin (`npm i --no-save bun deno` puts both there: they are ~100 MB each, so not a
 * devDependency). Absent: the test is skipped and says why.
 */
function runtime(name: 'bun' | 'deno'): string | undefined {
  const explicit = process.env[`${name.toUpperCase()}_BIN`]
  const root = fileURLToPath(new URL('..', import.meta.url))
  const candidates = [
    ...(explicit ? [explicit] : []),
    ...(process.env.PATH ?? '').split(delimiter).map((d) => join(d, name)),
    join(root, 'node_modules', '.bin', name),
  ]
  return candidates.find((file) => {
    try {
      accessSync(file, constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

/** Start the runtime fixture; resolves with its origin and the error lines it prints. */
async function startRuntime(bin: string, args: string[]) {
  const fixture = fileURLToPath(new URL('./fixtures/runtime-server.ts', import.meta.url))
  const child: ChildProcess = spawn(bin, [...args, fixture], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  closers.push(() => child.kill())
  const errors: string[] = []
  const origin = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${bin} exited (${code}) before listening`)))
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('listening ')) resolve(line.slice('listening '.length))
      else if (line.startsWith('error ')) errors.push(line)
    })
  })
  return { origin, errors }
}

const bun = runtime('bun')
const deno = runtime('deno')

describe.skipIf(!bun)(
  `Bun: Bun.serve({ fetch }) ${bun ? '' : '(skipped: no bun binary; set BUN_BIN or npm i --no-save bun)'}`,
  () => {
    it('runs link → read → revoke against Harbor Pay served by Bun', async () => {
      const { origin, errors } = await startRuntime(bun!, ['--conditions=source'])
      await linkReadRevoke(`${origin}/oauth`)
      expect(errors).toEqual([])
    })
  },
)

describe.skipIf(!deno)(
  `Deno: Deno.serve(handler) ${deno ? '' : '(skipped: no deno binary; set DENO_BIN or npm i --no-save deno)'}`,
  () => {
    it('runs link → read → revoke against Harbor Pay served by Deno', async () => {
      const { origin, errors } = await startRuntime(deno!, [
        'run',
        '--allow-net=127.0.0.1',
        '--allow-env',
        '--allow-read',
        '--conditions=source',
      ])
      await linkReadRevoke(`${origin}/oauth`)
      expect(errors).toEqual([])
    })
  },
)
