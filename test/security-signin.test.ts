/**
 * Sign-in under attack (issue 9, "Sign-in"), over real HTTP: failure-only throttling per (username,
 * client address) with growing delays and a per-address ceiling, the client address (socket peer, or
 * a trusted proxy's header), server-side revocable sessions, the cookie naming rule, CSRF bound to
 * the person and the session, and the same-origin check on every state-changing form POST.
 *
 * Different client addresses are real: the client sockets bind to 127.0.0.2, 127.0.0.3, … (all of
 * 127.0.0.0/8 is local). Time is an injected clock, never the wall clock's speed.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  type ConsentServer,
  type ConsentServerConfig,
  createConsentServer,
  memoryStore,
  nodeListener,
  type Store,
} from '@consentry/server'
import { exportJWK, generateKeyPair } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type HarborPay, startHarborPay } from '../examples/payment-provider/src/app.ts'
import { createDemoData } from '../examples/payment-provider/src/data.ts'
import { formAction, hiddenInput } from './helpers/browser.ts'
import { clientAuth } from './helpers/raw.ts'
import { consent, exchange, HISTORY_DETAIL, pushRequest, registerRecipient } from './helpers/recipient.ts'

interface Reply {
  status: number
  headers: IncomingHttpHeaders
  /** Raw `Set-Cookie` lines. */
  cookies: string[]
  body: string
  location: string | undefined
}

/**
 * A person's browser, reduced to what these tests need: a cookie jar, a source address for its
 * sockets (`from`), and any extra headers (Origin, Sec-Fetch-Site, X-Forwarded-For…).
 */
class Person {
  jar = new Map<string, string>()
  constructor(
    readonly base: string,
    readonly from = '127.0.0.1',
  ) {}

  request(
    path: string,
    o: { method?: string; form?: Record<string, string | string[]>; headers?: Record<string, string> } = {},
  ): Promise<Reply> {
    const url = new URL(path, this.base)
    let body: string | undefined
    const headers: Record<string, string> = { connection: 'close', ...o.headers }
    if (o.form) {
      const p = new URLSearchParams()
      for (const [k, v] of Object.entries(o.form)) for (const item of [v].flat()) p.append(k, item)
      body = p.toString()
      headers['content-type'] = 'application/x-www-form-urlencoded'
      headers['content-length'] = String(Buffer.byteLength(body))
    }
    if (this.jar.size && !headers.cookie)
      headers.cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ')
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          method: o.method ?? (o.form ? 'POST' : 'GET'),
          headers,
          localAddress: this.from,
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => {
            const cookies = res.headers['set-cookie'] ?? []
            for (const line of cookies) {
              const [pair] = line.split(';')
              const i = pair!.indexOf('=')
              if (/;\s*Max-Age=0(;|$)/i.test(line)) this.jar.delete(pair!.slice(0, i))
              else this.jar.set(pair!.slice(0, i), pair!.slice(i + 1))
            }
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              cookies,
              body: Buffer.concat(chunks).toString('utf8'),
              location: res.headers.location,
            })
          })
        },
      )
      req.on('error', reject)
      req.end(body)
    })
  }

  /** Open the built-in sign-in form and send it. */
  async signIn(username: string, password: string, headers: Record<string, string> = {}): Promise<Reply> {
    const page = await this.request('/login', { headers })
    const action = new URL(formAction(page.body, this.base))
    return this.request(action.pathname + action.search, {
      form: { csrf: hiddenInput(page.body, 'csrf'), username, password },
      headers,
    })
  }
}

/** `n` sign-in forms opened first, then all sent at once (wrong passwords); their statuses. */
async function burst(issuer: string, from: string, username: (i: number) => string, n: number) {
  const people = Array.from({ length: n }, () => new Person(issuer, from))
  const pages = await Promise.all(people.map((p) => p.request('/login')))
  const replies = await Promise.all(
    people.map((p, i) =>
      p.request('/login', {
        form: { csrf: hiddenInput(pages[i]!.body, 'csrf'), username: username(i), password: 'x' },
      }),
    ),
  )
  return replies.map((r) => r.status)
}

/**
 * The memory store with a few milliseconds of latency on every call, as a database has: concurrent
 * requests then really interleave between their reads and writes.
 */
function withLatency(store: Store): Store {
  return new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver)
      if (typeof value !== 'function') return value
      return async (...args: unknown[]) => {
        await new Promise((r) => setTimeout(r, 2))
        return value.apply(target, args)
      }
    },
  })
}

/** A Harbor Pay with an injected clock (frozen unless a test moves it) and a store with latency. */
async function harbor(overrides: Partial<ConsentServerConfig> = {}) {
  const clock = { now: Date.now() }
  const holder = await startHarborPay({
    store: withLatency(memoryStore()),
    port: 0,
    publicHost: '127.0.0.1',
    maintenance: false,
    overrides: { now: () => clock.now, ...overrides },
  })
  return { holder, clock }
}

const cookieNamed = (reply: Reply, name: string) => reply.cookies.find((c) => c.startsWith(`${name}=`))

describe('sign-in throttling counts failures per (username, address) and per address', () => {
  let h: HarborPay
  let clock: { now: number }
  beforeAll(async () => {
    ;({ holder: h, clock } = await harbor())
  })
  afterAll(() => h?.close())

  it('12 wrong passwords from address A do not stop the owner at address B', async () => {
    const stranger = new Person(h.issuer, '127.0.0.2')
    const statuses: number[] = []
    for (let i = 0; i < 12; i++) statuses.push((await stranger.signIn('alice', `guess-${i}`)).status)
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429, 429, 429, 429, 429])
    // At A even the right password is refused without being checked.
    expect((await stranger.signIn('alice', 'alice')).status).toBe(429)

    const owner = new Person(h.issuer, '127.0.0.3')
    const ok = await owner.signIn('alice', 'alice')
    expect(ok.status).toBe(303)
    expect(cookieNamed(ok, 'consentry-session')).toBeTruthy()
    expect((await owner.request('/consents')).status).toBe(200)
  })

  it('the owner at A below the threshold still signs in, and the success resets the count', async () => {
    const owner = new Person(h.issuer, '127.0.0.4')
    for (let i = 0; i < 4; i++) expect((await owner.signIn('bob', `typo-${i}`)).status).toBe(401)
    expect((await owner.signIn('bob', 'bob')).status).toBe(303)
    // Had the success not reset the pair, the next wrong password would already wait (frozen clock).
    for (let i = 0; i < 5; i++) expect((await owner.signIn('bob', `typo-again-${i}`)).status).toBe(401)
    const sixth = await owner.signIn('bob', 'bob')
    expect(sixth.status).toBe(429)
    expect(sixth.headers['retry-after']).toBe('1')
  })

  it('delays grow 1 s, 2 s, 4 s … up to 15 minutes: 429 with Retry-After and the page’s message', async () => {
    const p = new Person(h.issuer, '127.0.0.5')
    for (let i = 0; i < 5; i++) expect((await p.signIn('carol', `x-${i}`)).status).toBe(401)
    const waits: number[] = []
    for (let round = 0; round < 13; round++) {
      const throttled = await p.signIn('carol', 'x')
      expect(throttled.status).toBe(429)
      expect(throttled.body).toContain('Too many sign-in attempts')
      expect(throttled.body).toMatch(/role="alert"/)
      const wait = Number(throttled.headers['retry-after'])
      waits.push(wait)
      clock.now += wait * 1000 - 1
      expect((await p.signIn('carol', 'x')).status).toBe(429) // 1 ms early: still waiting
      clock.now += 1
      expect((await p.signIn('carol', `x-late-${round}`)).status).toBe(401)
    }
    expect(waits).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900])
    const last = await p.signIn('carol', 'x')
    expect(last.body).toContain('Try again in 15 minutes')
  })

  it('a burst of 20 parallel guesses gets exactly the 5 free ones checked (counted atomically, up front)', async () => {
    const statuses = await burst(h.issuer, '127.0.0.15', () => 'frank', 20)
    expect(statuses.filter((s) => s === 401)).toHaveLength(5)
    expect(statuses.filter((s) => s === 429)).toHaveLength(15)
  })

  it('usernames differing only in case, spacing or width share one counter', async () => {
    const p = new Person(h.issuer, '127.0.0.6')
    for (const variant of ['Dave  Smith', ' dave smith', 'DAVE SMITH ', 'dave\tsmith', 'ｄａｖｅ ｓｍｉｔｈ'])
      expect((await p.signIn(variant, 'wrong')).status).toBe(401)
    expect((await p.signIn('dave smith', 'wrong')).status).toBe(429)
    // Another username from the same address has its own count.
    expect((await p.signIn('erin', 'wrong')).status).toBe(401)
  })

  it('records each failed sign-in as an audit event: username and address hashed, no password anywhere', async () => {
    const secret = 'Corr3ct-Horse-Battery-Staple-never-logged'
    const p = new Person(h.issuer, '127.0.0.7')
    expect((await p.signIn('Mallory.Guesser', secret)).status).toBe(401)
    expect((await p.signIn('  mallory.guesser ', secret)).status).toBe(401)
    const events = await h.server.store.listAuditEvents({ types: ['subject.sign_in_failed'] })
    const mine = events.slice(-2)
    expect(mine).toHaveLength(2)
    for (const e of mine) {
      expect(e.data).toMatchObject({ reason: 'invalid_credentials' })
      expect(e.data.username_hash).toMatch(/^[A-Za-z0-9_-]{43}$/)
      expect(e.subject).toBeUndefined()
    }
    // Same person, same hash (case and spaces), counted together.
    expect(mine[0]!.data.username_hash).toBe(mine[1]!.data.username_hash)
    expect(mine.map((e) => e.data.failures)).toEqual([1, 2])
    const trail = JSON.stringify(await h.server.store.listAuditEvents({}))
    expect(trail).not.toContain(secret)
    expect(trail.toLowerCase()).not.toContain('mallory')
    expect(trail).not.toContain('127.0.0.7')
  })
})

describe('the per-address ceiling against password spraying', () => {
  let h: HarborPay
  let clock: { now: number }
  beforeAll(async () => {
    ;({ holder: h, clock } = await harbor({ signIn: { maxFailuresPerAddress: 8, windowMs: 60_000 } }))
  })
  afterAll(() => h?.close())

  it('blocks one address after 8 failures across usernames, for the rest of the window', async () => {
    const sprayer = new Person(h.issuer, '127.0.0.8')
    for (let i = 0; i < 8; i++) expect((await sprayer.signIn(`user-${i}`, 'Summer2025!')).status).toBe(401)
    const blocked = await sprayer.signIn('user-8', 'Summer2025!')
    expect(blocked.status).toBe(429)
    expect(blocked.headers['retry-after']).toBe('60')
    // Even a right password from there waits; from any other address it works.
    expect((await sprayer.signIn('alice', 'alice')).status).toBe(429)
    expect((await new Person(h.issuer, '127.0.0.9').signIn('alice', 'alice')).status).toBe(303)
    clock.now += 60_000
    expect((await sprayer.signIn('alice', 'alice')).status).toBe(303)
  })

  it('a parallel spray across 20 usernames gets exactly 8 checked', async () => {
    const statuses = await burst(h.issuer, '127.0.0.16', (i) => `sprayed-${i}`, 20)
    expect(statuses.filter((s) => s === 401)).toHaveLength(8)
    expect(statuses.filter((s) => s === 429)).toHaveLength(12)
  })

  it('successes do not use up the ceiling', async () => {
    const office = new Person(h.issuer, '127.0.0.10')
    for (let i = 0; i < 7; i++) expect((await office.signIn(`typo-${i}`, 'x')).status).toBe(401)
    for (let i = 0; i < 10; i++)
      expect((await office.signIn(i % 2 ? 'alice' : 'bob', i % 2 ? 'alice' : 'bob')).status).toBe(303)
    expect((await office.signIn('typo-last', 'x')).status).toBe(401) // the 8th failure
    expect((await office.signIn('typo-over', 'x')).status).toBe(429)
  })
})

describe('the client address: socket peer, or a trusted proxy’s header only when configured', () => {
  it('ignores X-Forwarded-For without trustedProxy (a client cannot pick its own address)', async () => {
    const { holder } = await harbor()
    try {
      const p = new Person(holder.issuer, '127.0.0.11')
      const codes: number[] = []
      for (let i = 0; i < 6; i++) {
        const headers = { 'x-forwarded-for': `198.51.100.${i + 1}` }
        const page = await p.request('/login', { headers })
        codes.push(
          (
            await p.request('/login', {
              form: { csrf: hiddenInput(page.body, 'csrf'), username: 'alice', password: `g${i}` },
              headers,
            })
          ).status,
        )
      }
      expect(codes).toEqual([401, 401, 401, 401, 401, 429])
    } finally {
      await holder.close()
    }
  })

  it('with trustedProxy, counts by the right-most entry of the header (one proxy in front)', async () => {
    const { holder } = await harbor({ trustedProxy: { header: 'x-forwarded-for' } })
    try {
      // Every request arrives from the same socket address (the "proxy"): only the header differs.
      const viaProxy = (client: string) => {
        const p = new Person(holder.issuer, '127.0.0.12')
        return (password: string, spoof = '') =>
          p.signIn('alice', password, { 'x-forwarded-for': `${spoof}${client}` })
      }
      const attacker = viaProxy('203.0.113.7')
      for (let i = 0; i < 5; i++) expect((await attacker(`g${i}`)).status).toBe(401)
      expect((await attacker('g5')).status).toBe(429)
      // What the client wrote to the left of its real address changes nothing.
      expect((await attacker('g6', '192.0.2.1, ')).status).toBe(429)
      // The owner behind the same proxy, at another address, is not slowed.
      expect((await viaProxy('203.0.113.8')('alice')).status).toBe(303)
    } finally {
      await holder.close()
    }
  })

  it('reads RFC 7239 Forwarded with hops, and counts IPv6 clients by their /64', async () => {
    const { holder } = await harbor({ trustedProxy: { header: 'forwarded', hops: 2 } })
    try {
      // Two proxies: the client is the second entry from the right.
      const from = (client: string) => {
        const p = new Person(holder.issuer, '127.0.0.13')
        return (password: string) =>
          p.signIn('bob', password, {
            forwarded: `for=192.0.2.99, for="${client}";proto=https, for=10.0.0.2`,
          })
      }
      for (let i = 0; i < 5; i++) {
        // Five addresses of one /64: one counter.
        expect((await from(`[2001:db8:cafe:1::${i + 1}]:4711`)(`g${i}`)).status).toBe(401)
      }
      expect((await from('[2001:db8:cafe:1:ffff::9]')('g')).status).toBe(429)
      expect((await from('[2001:db8:cafe:2::1]')('bob')).status).toBe(303)
    } finally {
      await holder.close()
    }
  })

  it('without any address (a bare fetch call) every request shares the `unknown` bucket', async () => {
    const demo = createDemoData()
    const issuer = 'http://127.0.0.1:9' // never contacted: requests go straight to server.fetch
    const server = await createConsentServer({
      issuer,
      store: memoryStore(),
      dataSource: demo.dataSource,
      accountHolders: { verifyPassword: demo.users.verifyPassword },
      now: () => 1_750_000_000_000,
    })
    const attempt = async (password: string, info?: { clientAddress: string }) => {
      const page = await server.fetch(new Request(`${issuer}/login`), info)
      const csrfCookie = page.headers.getSetCookie()[0]!.split(';')[0]!
      return server.fetch(
        new Request(`${issuer}/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: csrfCookie },
          body: new URLSearchParams({
            csrf: hiddenInput(await page.text(), 'csrf'),
            username: 'alice',
            password,
          }),
        }),
        info,
      )
    }
    for (let i = 0; i < 5; i++) expect((await attempt(`g${i}`)).status).toBe(401)
    expect((await attempt('alice')).status).toBe(429)
    expect((await attempt('alice', { clientAddress: '127.0.0.14' })).status).toBe(303)
  })
})

describe('server-side sessions and cookie names', () => {
  let h: HarborPay
  beforeAll(async () => {
    ;({ holder: h } = await harbor())
  })
  afterAll(() => h?.close())

  it('sign-out ends the session on the server: a copied cookie no longer works', async () => {
    const p = new Person(h.issuer)
    const signedIn = await p.signIn('alice', 'alice')
    expect(signedIn.status).toBe(303)
    const stolen = p.jar.get('consentry-session')!
    expect(stolen).toMatch(/^[A-Za-z0-9_-]{43}$/) // a random id, nothing readable
    const dashboard = await p.request('/consents')
    expect(dashboard.status).toBe(200)
    const out = await p.request('/logout', { form: { csrf: hiddenInput(dashboard.body, 'csrf') } })
    expect(out.status).toBe(303)
    expect(out.location).toBe('/login')
    expect(cookieNamed(out, 'consentry-session')).toMatch(/Max-Age=0/)
    const events = await h.server.store.listAuditEvents({ types: ['subject.signed_out'] })
    expect(events.at(-1)).toMatchObject({ subject: 'alice' })

    const replay = await new Person(h.issuer).request('/consents', {
      headers: { cookie: `consentry-session=${stolen}` },
    })
    expect(replay.status).toBe(303)
    expect(replay.location).toMatch(/^\/login\?return_to=/)
  })

  it('each sign-in gets a new session id, and signing in again ends the previous one', async () => {
    const p = new Person(h.issuer)
    await p.signIn('bob', 'bob')
    const first = p.jar.get('consentry-session')!
    await p.signIn('bob', 'bob')
    const second = p.jar.get('consentry-session')!
    expect(second).not.toBe(first)
    const old = await new Person(h.issuer).request('/consents', {
      headers: { cookie: `consentry-session=${first}` },
    })
    expect(old.status).toBe(303)
    expect((await p.request('/consents')).status).toBe(200)
  })

  it('on http loopback: plain names, HttpOnly, SameSite=Lax, no Secure, no Domain', async () => {
    const p = new Person(h.issuer)
    const page = await p.request('/login')
    const csrf = cookieNamed(page, 'consentry-login-csrf')!
    expect(csrf).toMatch(/; Path=\/; HttpOnly; SameSite=Lax; Max-Age=1800$/)
    const signedIn = await p.signIn('alice', 'alice')
    const session = cookieNamed(signedIn, 'consentry-session')!
    expect(session).toMatch(/; Path=\/; HttpOnly; SameSite=Lax; Max-Age=1800$/)
    for (const c of [csrf, session]) expect(c).not.toMatch(/Secure|Domain/i)
  })

  /** An https issuer behind a TLS-terminating proxy: the server itself speaks http on loopback. */
  async function behindTls(issuer: string) {
    const demo = createDemoData()
    let handle: (q: IncomingMessage, r: ServerResponse) => void = (_q, r) => void r.writeHead(503).end()
    const http = createServer((q, r) => handle(q, r))
    await new Promise<void>((ok) => http.listen(0, '127.0.0.1', ok))
    const server = await createConsentServer({
      issuer,
      store: memoryStore(),
      dataSource: demo.dataSource,
      accountHolders: { verifyPassword: demo.users.verifyPassword },
      initialAccessToken: 'demo-initial-access-token',
    })
    handle = nodeListener(server.fetch)
    return { http, local: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, server }
  }

  it('on an https issuer at /: __Host- names with Path=/ and Secure; path-scoped ones get __Secure-', async () => {
    const { http, local } = await behindTls('https://pay.example')
    try {
      const p = new Person(local)
      const page = await p.request('/login')
      expect(cookieNamed(page, '__Host-consentry-login-csrf')).toMatch(
        /; Path=\/; HttpOnly; SameSite=Lax; Secure; Max-Age=1800$/,
      )
      const signedIn = await p.signIn('alice', 'alice')
      expect(signedIn.status).toBe(303)
      const session = cookieNamed(signedIn, '__Host-consentry-session')!
      expect(session).toMatch(/; Path=\/; HttpOnly; SameSite=Lax; Secure; Max-Age=1800$/)
      expect(session).not.toMatch(/Domain/i)
      expect((await p.request('/consents')).status).toBe(200)
      // The unprefixed name is not accepted in its place (a sibling host could have set it).
      const plain = await new Person(local).request('/consents', {
        headers: { cookie: `consentry-session=${p.jar.get('__Host-consentry-session')}` },
      })
      expect(plain.status).toBe(303)

      // The interaction cookie is scoped to /authorize/{id}: not Path=/, so __Secure-.
      const ix = await startInteraction(local, 'https://pay.example')
      const cookie = cookieNamed(ix, '__Secure-consentry-interaction')!
      expect(cookie).toMatch(/; Path=\/authorize\/[\w-]+; HttpOnly; SameSite=Lax; Secure; Max-Age=600$/)
    } finally {
      http.close()
    }
  })

  it('on an https issuer with a path: __Secure- names scoped to that path', async () => {
    const { http, local } = await behindTls('https://pay.example/consent')
    try {
      const p = new Person(local)
      const page = await p.request('/consent/login')
      expect(cookieNamed(page, '__Secure-consentry-login-csrf')).toMatch(/; Path=\/consent; .*Secure/)
      const action = new URL(formAction(page.body, local))
      const signedIn = await p.request(action.pathname + action.search, {
        form: { csrf: hiddenInput(page.body, 'csrf'), username: 'alice', password: 'alice' },
      })
      expect(signedIn.status).toBe(303)
      expect(cookieNamed(signedIn, '__Secure-consentry-session')).toMatch(
        /; Path=\/consent; HttpOnly; SameSite=Lax; Secure; Max-Age=1800$/,
      )
      expect((await p.request('/consent/consents')).status).toBe(200)
    } finally {
      http.close()
    }
  })
})

/** Register a client and push a request at a server reached on `local` but named `issuer`; open it. */
async function startInteraction(local: string, issuer: string): Promise<Reply> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const p = new Person(local)
  const reg = await fetch(`${local}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer demo-initial-access-token' },
    body: JSON.stringify({
      client_name: 'Beacon Lending',
      redirect_uris: ['https://lender.example/callback'],
      jwks: { keys: [{ ...(await exportJWK(publicKey)), alg: 'ES256', use: 'sig', kid: 'k1' }] },
      token_endpoint_auth_method: 'private_key_jwt',
    }),
  })
  expect(reg.status).toBe(201)
  const { client_id } = (await reg.json()) as { client_id: string }
  const r = { as: { issuer }, client: { client_id, token_endpoint_auth_signing_alg: 'ES256' }, privateKey }
  const par = await fetch(`${local}/par`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      ...(await clientAuth(r)),
      response_type: 'code',
      redirect_uri: 'https://lender.example/callback',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
      authorization_details: JSON.stringify([HISTORY_DETAIL]),
      dpop_jkt: 'A'.repeat(43),
    }),
  })
  expect(par.status).toBe(201)
  const { request_uri } = (await par.json()) as { request_uri: string }
  return p.request(
    `/authorize?client_id=${encodeURIComponent(client_id)}&request_uri=${encodeURIComponent(request_uri)}`,
  )
}

describe('CSRF bound to the person and the session, with the holder’s own login', () => {
  let http: Server
  let issuer: string
  let server: ConsentServer
  beforeAll(async () => {
    const demo = createDemoData()
    const sessions = new Map([
      ['sid-alice', 'alice'],
      ['sid-alice-2', 'alice'],
      ['sid-bob', 'bob'],
    ])
    let handle: (q: IncomingMessage, r: ServerResponse) => void = () => {}
    http = createServer((q, r) => handle(q, r))
    await new Promise<void>((ok) => http.listen(0, '127.0.0.1', ok))
    issuer = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
    server = await createConsentServer({
      issuer,
      store: memoryStore(),
      dataSource: demo.dataSource,
      accountHolders: {
        loginUrl: '/my-login',
        async authenticate(request) {
          const sid = /(?:^|; )holder_sid=([^;]+)/.exec(request.headers.get('cookie') ?? '')?.[1]
          const subject = sid ? sessions.get(sid) : undefined
          return subject ? { subject } : null
        },
      },
      initialAccessToken: 'demo-initial-access-token',
    })
    handle = nodeListener(server.fetch)
  })
  afterAll(() => http?.close())

  const holderPerson = (sid: string) => {
    const p = new Person(issuer)
    p.jar.set('holder_sid', sid)
    return p
  }

  it('gives each person, and each browser, its own token; one person’s token is refused for another', async () => {
    const r = await registerRecipient(issuer)
    // Bob links an app with his own holder session, through the consent page.
    const bob = holderPerson('sid-bob')
    const pending = await pushRequest(r, [HISTORY_DETAIL])
    const opened = await bob.request(new URL(pending.url).pathname + new URL(pending.url).search)
    const consentPage = await bob.request(opened.location!)
    expect(consentPage.status).toBe(200)
    const answer = await bob.request(opened.location!, {
      form: {
        csrf: hiddenInput(consentPage.body, 'csrf'),
        decision: 'allow',
        account: /name="account"[^>]*value="([^"]+)"/.exec(consentPage.body)![1]!,
        field: ['amount'],
      },
    })
    expect(answer.status).toBe(303)
    const { tokens } = await exchange(r, pending, answer.location!)
    const grantId = (tokens as unknown as { grant_id: string }).grant_id

    const alice = holderPerson('sid-alice')
    const aliceOther = holderPerson('sid-alice-2')
    const aliceToken = hiddenInput((await alice.request('/consents')).body, 'csrf')
    const aliceOtherToken = hiddenInput((await aliceOther.request('/consents')).body, 'csrf')
    const bobPage = await bob.request(`/consents/${grantId}/revoke`)
    expect(bobPage.status).toBe(200)
    const bobToken = hiddenInput(bobPage.body, 'csrf')
    expect(new Set([aliceToken, aliceOtherToken, bobToken]).size).toBe(3)
    // The same browser keeps its token (the per-browser cookie is set once).
    expect(hiddenInput((await alice.request('/consents')).body, 'csrf')).toBe(aliceToken)

    // Alice's token (even with Alice's CSRF cookie copied over) does not work for Bob.
    const forged = await bob.request(`/consents/${grantId}/revoke`, {
      form: { csrf: aliceToken },
      headers: {
        cookie: `holder_sid=sid-bob; consentry-csrf=${alice.jar.get('consentry-csrf')}`,
      },
    })
    expect(forged.status).toBe(403)
    expect((await server.store.getGrant(grantId))?.status).toBe('active')
    const real = await bob.request(`/consents/${grantId}/revoke`, { form: { csrf: bobToken } })
    expect(real.status).toBe(303)
    expect(real.location).toBe(`/consents/${grantId}?revoked=1`)
  })

  it('a token for one built-in session is refused in another session of the same person', async () => {
    const { holder } = await harbor()
    try {
      const first = new Person(holder.issuer)
      await first.signIn('alice', 'alice')
      const firstToken = hiddenInput((await first.request('/consents')).body, 'csrf')
      const second = new Person(holder.issuer)
      await second.signIn('alice', 'alice')
      const secondToken = hiddenInput((await second.request('/consents')).body, 'csrf')
      expect(secondToken).not.toBe(firstToken)
      expect((await second.request('/logout', { form: { csrf: firstToken } })).status).toBe(403)
      expect((await second.request('/consents')).status).toBe(200) // still signed in
      expect((await second.request('/logout', { form: { csrf: secondToken } })).status).toBe(303)
    } finally {
      await holder.close()
    }
  })
})

describe('cross-site form posts are refused (Origin / Sec-Fetch-Site), on every state-changing form', () => {
  let h: HarborPay
  beforeAll(async () => {
    ;({ holder: h } = await harbor())
  })
  afterAll(() => h?.close())

  const CROSS_SITE: Array<Record<string, string>> = [
    { origin: 'https://evil.example' },
    { 'sec-fetch-site': 'cross-site' },
    { 'sec-fetch-site': 'same-site' },
    { origin: 'http://127.0.0.1:1' }, // same host, another port: another origin
    { origin: 'null', 'sec-fetch-site': 'cross-site' },
  ]

  it('sign-in: refused with a 403 page even with a valid token and the right password', async () => {
    for (const headers of CROSS_SITE) {
      const p = new Person(h.issuer)
      const page = await p.request('/login')
      const res = await p.request('/login', {
        form: { csrf: hiddenInput(page.body, 'csrf'), username: 'alice', password: 'alice' },
        headers,
      })
      expect([JSON.stringify(headers), res.status]).toEqual([JSON.stringify(headers), 403])
      expect(res.body).toContain('sent from another site')
      expect(cookieNamed(res, 'consentry-session')).toBeUndefined()
    }
  })

  it('sign-in: accepted from the issuer’s own origin, with Origin: null (no-referrer pages), or from a non-browser with the token', async () => {
    const own = new URL(h.issuer).origin
    for (const headers of [
      { origin: own, 'sec-fetch-site': 'same-origin' },
      { origin: 'null', 'sec-fetch-site': 'same-origin' },
      { origin: 'null' },
      {},
    ] as Array<Record<string, string>>)
      expect((await new Person(h.issuer).signIn('alice', 'alice', headers)).status).toBe(303)
    // A non-browser without the token gets nothing.
    const bare = await new Person(h.issuer).request('/login', {
      form: { username: 'alice', password: 'alice' },
    })
    expect(bare.status).toBe(403)
  })

  it('sign-out and revocation: refused cross-site, and nothing changes', async () => {
    const r = await registerRecipient(h.issuer)
    const pending = await pushRequest(r, [HISTORY_DETAIL])
    const answer = await consent(h.issuer, pending, { password: 'alice' })
    const { tokens } = await exchange(r, pending, answer.location!)
    const grantId = (tokens as unknown as { grant_id: string }).grant_id

    const p = new Person(h.issuer)
    await p.signIn('alice', 'alice')
    const token = hiddenInput((await p.request(`/consents/${grantId}/revoke`)).body, 'csrf')
    for (const headers of CROSS_SITE) {
      expect(
        (await p.request(`/consents/${grantId}/revoke`, { form: { csrf: token }, headers })).status,
      ).toBe(403)
      expect((await p.request('/logout', { form: { csrf: token }, headers })).status).toBe(403)
    }
    expect((await h.server.store.getGrant(grantId))?.status).toBe('active')
    expect((await p.request('/consents')).status).toBe(200) // still signed in
    const revoked = await p.request(`/consents/${grantId}/revoke`, {
      form: { csrf: token },
      headers: { origin: new URL(h.issuer).origin, 'sec-fetch-site': 'same-origin' },
    })
    expect(revoked.status).toBe(303)
    expect((await h.server.store.getGrant(grantId))?.status).toBe('revoked')
  })

  it('the consent decision: refused cross-site; the request can still be answered from the page', async () => {
    const r = await registerRecipient(h.issuer)
    const pending = await pushRequest(r, [HISTORY_DETAIL])
    const p = new Person(h.issuer)
    await p.signIn('alice', 'alice')
    const opened = await p.request(new URL(pending.url).pathname + new URL(pending.url).search)
    const page = await p.request(opened.location!)
    expect(page.status).toBe(200)
    const form = {
      csrf: hiddenInput(page.body, 'csrf'),
      decision: 'allow',
      account: [...page.body.matchAll(/name="account"[^>]*value="([^"]+)"/g)].map((m) => m[1]!),
      field: ['amount'],
    }
    for (const headers of CROSS_SITE) {
      const res = await p.request(opened.location!, { form, headers })
      expect(res.status).toBe(403)
      expect(res.location).toBeUndefined()
    }
    const ok = await p.request(opened.location!, { form, headers: { 'sec-fetch-site': 'same-origin' } })
    expect(ok.status).toBe(303)
    expect(ok.location).toMatch(/^http:\/\/127\.0\.0\.1:9\/callback\?.*\bcode=/)
  })
})

describe('sign-in options are validated at start-up', () => {
  const base = () => {
    const demo = createDemoData()
    return {
      issuer: 'http://127.0.0.1:9',
      store: memoryStore(),
      dataSource: demo.dataSource,
      accountHolders: { verifyPassword: demo.users.verifyPassword },
    }
  }
  it.each([
    [{ signIn: { maxFailuresPerAddress: 0 } }, /signIn\.maxFailuresPerAddress/],
    [{ signIn: { freeFailures: -1 } }, /signIn\.freeFailures/],
    [{ signIn: { windowMs: 10 } }, /signIn\.windowMs/],
    [{ signIn: { baseDelayMs: 5000, maxDelayMs: 1000 } }, /maxDelayMs must be at least/],
    [{ signIn: { maxDelayMs: 3_600_000, pairWindowMs: 60_000 } }, /pairWindowMs must be at least/],
    [{ signIn: { lockout: true } }, /signIn/],
    [{ trustedProxy: { header: 'x forwarded for' } }, /trustedProxy\.header/],
    [{ trustedProxy: { header: 'x-forwarded-for', hops: 0 } }, /trustedProxy\.hops/],
  ])('refuses %j', async (bad, message) => {
    await expect(createConsentServer({ ...base(), ...(bad as object) })).rejects.toThrow(message)
    await expect(createConsentServer({ ...base(), ...(bad as object) })).rejects.toMatchObject({
      code: 'invalid_config',
    })
  })
})
