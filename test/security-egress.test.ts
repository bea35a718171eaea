/**
 * Egress (SSRF) and resource exhaustion, over real HTTP: what a recipient can make the holder fetch
 * (`jwks_uri`, `webhook_uri`, `logo_uri`), what registration refuses before anything is fetched, and
 * the registration hygiene that goes with it (weak RSA keys, unsafe redirect URIs, deceptive names).
 *
 * Only 127.0.0.1 is ever connected to: names like `keys.evil.test` "resolve" through a resolver the
 * test injects (`egress.resolve`), the guard must refuse before connecting, and a loopback-only
 * safety net stops (and reports) any connection elsewhere should the guard ever break.
 */
import { generateKeyPairSync } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  type ConsentServer,
  type ConsentServerConfig,
  createConsentServer,
  type EgressResolver,
  memoryStore,
  nodeListener,
} from '@consentry/server'
import { type CryptoKey, exportJWK, generateKeyPair } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type HarborPay, startHarborPay } from '../examples/payment-provider/src/app.ts'
import { createDemoData } from '../examples/payment-provider/src/data.ts'
import { installLoopbackOnly } from '../packages/server/test/loopback-only.ts'
import { clientAuth } from './helpers/raw.ts'
import {
  consent,
  discover,
  INITIAL_ACCESS_TOKEN,
  link,
  oauth,
  pushRequest,
  REDIRECT_URI,
  registerRecipient,
} from './helpers/recipient.ts'

// ---- local listeners ------------------------------------------------------------------------------

interface Listener {
  url: string
  port: number
  connections: number
  hits: string[]
  bytesWritten: number
  server: Server
}

const listeners: Listener[] = []

async function listen(handler: (req: IncomingMessage, res: ServerResponse, l: Listener) => void) {
  const l = { connections: 0, hits: [], bytesWritten: 0 } as unknown as Listener
  l.server = createServer((req, res) => {
    l.hits.push(`${req.method} ${req.url}`)
    req.resume()
    req.on('end', () => handler(req, res, l))
  })
  l.server.on('connection', () => {
    l.connections++
  })
  await new Promise<void>((ok) => l.server.listen(0, '127.0.0.1', ok))
  l.port = (l.server.address() as AddressInfo).port
  l.url = `http://127.0.0.1:${l.port}`
  listeners.push(l)
  return l
}

/** Names the holder "resolves" through the injected resolver; every lookup is recorded. */
const DNS: Record<string, string[]> = {
  'keys.evil.test': ['169.254.169.254'],
  'hooks.evil.test': ['10.0.0.1'],
  'logo.evil.test': ['::ffff:10.0.0.1'],
  'keys.loop.test': ['127.0.0.1'],
}
const lookups: string[] = []
const resolve: EgressResolver = async (host) => {
  lookups.push(host)
  const found = DNS[host]
  if (!found) throw new Error(`test resolver: no such name ${host}`)
  return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
}

// ---- holders --------------------------------------------------------------------------------------

let offset = 0
const now = () => Date.now() + offset

let holder: HarborPay // the demo: dangerouslyAllowLoopbackEgress on
let strict: { issuer: string; server: ConsentServer; close(): Promise<void> } // the default: off
const safety = installLoopbackOnly()

/** A holder with the secure defaults (no loopback egress), on 127.0.0.1 like the demo. */
async function startStrict(extra: Partial<ConsentServerConfig> = {}) {
  let handle = nodeListener(async () => new Response(null, { status: 503 }))
  const http = createServer((q, s) => handle(q, s))
  await new Promise<void>((ok) => http.listen(0, '127.0.0.1', ok))
  const issuer = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
  const demo = createDemoData()
  const server = await createConsentServer({
    issuer,
    store: memoryStore(),
    dataSource: demo.dataSource,
    accountHolders: { verifyPassword: demo.users.verifyPassword },
    initialAccessToken: INITIAL_ACCESS_TOKEN,
    theme: { name: 'Strict Bank' },
    egress: { resolve },
    now,
    ...extra,
  })
  handle = nodeListener(server.fetch)
  return {
    issuer,
    server,
    close: () =>
      new Promise<void>((ok) => {
        http.closeAllConnections()
        http.close(() => ok())
      }),
  }
}

beforeAll(async () => {
  holder = await startHarborPay({
    store: memoryStore(),
    port: 0,
    publicHost: '127.0.0.1',
    maintenance: false,
    overrides: { now, egress: { resolve }, webhookRetryDelaysMs: [600_000] },
  })
  strict = await startStrict()
})
afterAll(async () => {
  await holder?.close()
  await strict?.close()
  for (const l of listeners) {
    l.server.closeAllConnections()
    l.server.close()
  }
  safety.uninstall()
})

// ---- helpers --------------------------------------------------------------------------------------

interface Keys {
  privateKey: CryptoKey
  jwk: Record<string, unknown>
}
async function keys(): Promise<Keys> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), alg: 'ES256', use: 'sig', kid: 'k1' } }
}

async function register(issuer: string, metadata: Record<string, unknown>) {
  const res = await fetch(`${issuer}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${INITIAL_ACCESS_TOKEN}` },
    body: JSON.stringify(metadata),
  })
  return { status: res.status, body: (await res.json()) as Record<string, string> }
}

const base = (k: Keys, extra: Record<string, unknown> = {}) => ({
  client_name: 'Egress Test',
  redirect_uris: [REDIRECT_URI],
  jwks: { keys: [k.jwk] },
  ...extra,
})

/** Authenticate as a `jwks_uri` client at /revoke (client authentication is its first step). */
async function authenticate(issuer: string, clientId: string, privateKey: CryptoKey) {
  const as = await discover(issuer)
  const form = await clientAuth(
    { as, client: { client_id: clientId, token_endpoint_auth_signing_alg: 'ES256' }, privateKey },
    { skew: Math.round(offset / 1000) },
  )
  const res = await fetch(`${issuer}/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...form, token: 'not-a-token' }),
  })
  const body = (await res.json()) as { error?: string }
  return res.status === 200 ? 'ok' : `${res.status} ${body.error}`
}

/** Poll a condition (bounded by attempts, not by how fast the machine is). */
async function until<T>(check: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const value = await check()
    if (value !== undefined) return value
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`timed out waiting for ${what}`)
}

// ---- registration refuses internal hosts before fetching anything --------------------------------

describe('registration: egress URIs in internal ranges are refused with invalid_client_metadata', () => {
  const internal = [
    'https://10.0.0.1/x',
    'https://169.254.169.254/latest/meta-data/',
    'https://[::ffff:10.0.0.1]/x',
    'https://[::ffff:a9fe:a9fe]/x',
    'https://[fd00:ec2::254]/x',
    'https://100.100.100.200/x',
    'https://0.0.0.0/x',
    'https://[::]/x',
    'https://192.168.1.1/x',
  ]
  for (const member of ['jwks_uri', 'webhook_uri', 'logo_uri', 'client_uri'])
    it(`${member}: private, link-local, metadata, CGNAT, unspecified (even with the dev option)`, async () => {
      const k = await keys()
      for (const uri of internal) {
        const { jwks: _, ...noJwks } = base(k)
        const body = member === 'jwks_uri' ? { ...noJwks, jwks_uri: uri } : base(k, { [member]: uri })
        const res = await register(holder.issuer, body)
        expect([uri, res.status, res.body.error]).toEqual([uri, 400, 'invalid_client_metadata'])
      }
      expect(safety.blocked).toEqual([])
    })

  it('without the dev option: loopback and localhost are refused, and nothing is contacted', async () => {
    const l = await listen((_q, s) => s.end('{}'))
    const k = await keys()
    for (const uri of [
      `${l.url}/hook`,
      `https://127.0.0.1:${l.port}/hook`,
      `http://localhost:${l.port}/hook`,
      `https://app.localhost:${l.port}/hook`,
      `http://[::1]:${l.port}/hook`,
      `https://2130706433:${l.port}/hook`,
    ]) {
      for (const member of ['webhook_uri', 'logo_uri', 'client_uri']) {
        const res = await register(strict.issuer, base(k, { [member]: uri }))
        expect([uri, member, res.status, res.body.error]).toEqual([
          uri,
          member,
          400,
          'invalid_client_metadata',
        ])
      }
      const { jwks: _, ...noJwks } = base(k)
      const res = await register(strict.issuer, { ...noJwks, jwks_uri: uri })
      expect([uri, res.status, res.body.error]).toEqual([uri, 400, 'invalid_client_metadata'])
    }
    expect(l.connections).toBe(0)
  })

  it('the demo (dangerouslyAllowLoopbackEgress) accepts loopback http URLs', async () => {
    const k = await keys()
    const res = await register(holder.issuer, base(k, { webhook_uri: 'http://127.0.0.1:9/events' }))
    expect(res.status).toBe(201)
    const named = await register(holder.issuer, base(k, { webhook_uri: 'http://localhost:9/events' }))
    expect(named.status).toBe(201)
  })
})

// ---- jwks_uri ---------------------------------------------------------------------------------------

describe('jwks_uri goes through the guarded fetch', () => {
  async function jwksClient(issuer: string, jwksUri: string, k?: Keys) {
    const own = k ?? (await keys())
    const { jwks: _, ...noJwks } = base(own)
    const res = await register(issuer, { ...noJwks, jwks_uri: jwksUri })
    expect(res.status).toBe(201)
    return { clientId: res.body.client_id!, keys: own }
  }

  it('a loopback jwks_uri works with the dev option (control), fetched once and cached', async () => {
    const k = await keys()
    const l = await listen((_q, s) =>
      s.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [k.jwk] })),
    )
    const c = await jwksClient(holder.issuer, `${l.url}/jwks`, k)
    expect(await authenticate(holder.issuer, c.clientId, k.privateKey)).toBe('ok')
    expect(await authenticate(holder.issuer, c.clientId, k.privateKey)).toBe('ok')
    expect(l.hits).toEqual(['GET /jwks'])
  })

  it('each server keeps its own JWK sets (no module-global cache)', async () => {
    const k = await keys()
    const l = await listen((_q, s) => s.writeHead(200).end(JSON.stringify({ keys: [k.jwk] })))
    const other = await startHarborPay({
      store: memoryStore(),
      port: 0,
      publicHost: '127.0.0.1',
      maintenance: false,
    })
    try {
      for (const h of [holder, other]) {
        const c = await jwksClient(h.issuer, `${l.url}/shared-jwks`, k)
        expect(await authenticate(h.issuer, c.clientId, k.privateKey)).toBe('ok')
      }
      expect(l.hits).toEqual(['GET /shared-jwks', 'GET /shared-jwks'])
    } finally {
      await other.close()
    }
  })

  it('a 150 MB jwks_uri body is cut at 64 KiB: invalid_client, and memory stays flat', async () => {
    const TOTAL = 150 * 1024 * 1024
    const chunk = Buffer.alloc(256 * 1024, 0x20)
    const l = await listen((_q, s, self) => {
      s.writeHead(200, { 'content-type': 'application/json' })
      s.on('error', () => {})
      s.write('{"keys":[')
      const pump = () => {
        while (self.bytesWritten < TOTAL && !s.destroyed) {
          self.bytesWritten += chunk.length
          if (!s.write(chunk)) return void s.once('drain', pump)
        }
        s.end(']}')
      }
      pump()
    })
    const c = await jwksClient(holder.issuer, `${l.url}/huge`)
    const before = process.memoryUsage().rss
    expect(await authenticate(holder.issuer, c.clientId, c.keys.privateKey)).toBe('401 invalid_client')
    const grown = process.memoryUsage().rss - before
    await new Promise((r) => setTimeout(r, 50))
    expect(l.bytesWritten).toBeLessThan(32 * 1024 * 1024) // only what socket buffers took
    expect(grown).toBeLessThan(100 * 1024 * 1024)
  })

  it('a failed jwks_uri is not fetched again for 30 seconds', async () => {
    const k = await keys()
    let healthy = false
    const l = await listen((_q, s) =>
      healthy ? s.writeHead(200).end(JSON.stringify({ keys: [k.jwk] })) : s.writeHead(500).end(),
    )
    const c = await jwksClient(holder.issuer, `${l.url}/flaky`, k)
    try {
      expect(await authenticate(holder.issuer, c.clientId, k.privateKey)).toBe('401 invalid_client')
      healthy = true
      offset += 29_000
      expect(await authenticate(holder.issuer, c.clientId, k.privateKey)).toBe('401 invalid_client')
      expect(l.hits).toHaveLength(1)
      offset += 2_000
      expect(await authenticate(holder.issuer, c.clientId, k.privateKey)).toBe('ok')
      expect(l.hits).toHaveLength(2)
    } finally {
      offset = 0
    }
  })

  it('a name resolving to the metadata address is refused at fetch time, never connected', async () => {
    const c = await jwksClient(holder.issuer, 'https://keys.evil.test/jwks')
    lookups.length = 0
    expect(await authenticate(holder.issuer, c.clientId, c.keys.privateKey)).toBe('401 invalid_client')
    expect(lookups).toEqual(['keys.evil.test'])
    expect(safety.blocked).toEqual([])
  })

  it('without the dev option, a name resolving to loopback is refused: the listener sees nothing', async () => {
    const k = await keys()
    const l = await listen((_q, s) => s.writeHead(200).end(JSON.stringify({ keys: [k.jwk] })))
    const c = await jwksClient(strict.issuer, `https://keys.loop.test:${l.port}/jwks`, k)
    expect(await authenticate(strict.issuer, c.clientId, k.privateKey)).toBe('401 invalid_client')
    expect(l.connections).toBe(0)
  })
})

// ---- webhooks ------------------------------------------------------------------------------------------

describe('webhooks go through the guarded fetch', () => {
  async function endGrantAndWaitForAttempt(webhookUri: string) {
    const r = await registerRecipient(holder.issuer, { webhookUri })
    const { tokens } = await link(holder.issuer, r)
    const grantId = (tokens as unknown as { grant_id: string }).grant_id
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(r.as, r.client, r.auth, tokens.refresh_token!, {
        [oauth.allowInsecureRequests]: true,
      }),
    )
    return until(async () => {
      const [e] = await holder.server.audit.list({ grantId, types: ['webhook.failed', 'webhook.delivered'] })
      return e
    }, 'the delivery attempt')
  }

  it('a redirecting webhook is a failed attempt; the redirect target is never hit', async () => {
    const target = await listen((_q, s) => s.writeHead(202).end())
    const hook = await listen((_q, s) => s.writeHead(307, { location: `${target.url}/internal` }).end())
    const attempt = await endGrantAndWaitForAttempt(`${hook.url}/events`)
    expect(attempt.type).toBe('webhook.failed')
    expect(attempt.data).toMatchObject({ attempt: 1, status: 307, error: 'egress_redirect' })
    expect(hook.hits).toEqual(['POST /events'])
    expect(target.connections).toBe(0)
  })

  it('a webhook host resolving to a private address is refused, never connected', async () => {
    lookups.length = 0
    const attempt = await endGrantAndWaitForAttempt('https://hooks.evil.test/events')
    expect(attempt.type).toBe('webhook.failed')
    expect(attempt.data).toMatchObject({ status: 0, error: 'egress_refused' })
    expect(lookups).toEqual(['hooks.evil.test'])
    expect(safety.blocked).toEqual([])
  })
})

// ---- logos ---------------------------------------------------------------------------------------------

describe('logo_uri is fetched once, stored, and served by the holder (never hot-linked)', () => {
  const PNG = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    Buffer.from('rest-of-a-png'),
  ])

  async function consentPageFor(clientName: string, logoUri: string) {
    const r = await registerRecipient(holder.issuer, { name: clientName })
    // registerRecipient has no logo option: register the same keys again with a logo_uri.
    const jwk = { ...(await exportJWK(r.privateKey)), d: undefined, alg: 'ES256', use: 'sig', kid: 'k1' }
    delete jwk.d
    const res = await register(holder.issuer, {
      client_name: clientName,
      redirect_uris: [r.redirectUri],
      jwks: { keys: [jwk] },
      logo_uri: logoUri,
    })
    expect(res.status).toBe(201)
    const withLogo = { ...r, client: { ...r.client, client_id: res.body.client_id! } }
    const pending = await pushRequest(withLogo)
    const { page } = await consent(holder.issuer, pending, { decision: 'deny' })
    return { page, clientId: res.body.client_id! }
  }

  it('shows the stored copy from the holder origin; the recipient is not contacted again', async () => {
    const l = await listen((_q, s) => s.writeHead(200, { 'content-type': 'image/png' }).end(PNG))
    const { page, clientId } = await consentPageFor('Logo Lending', `${l.url}/logo.png`)
    const src = `${holder.issuer}/assets/logos/${clientId}`
    expect(page).toContain(`<img class="requester__logo" src="${src}"`)
    expect(page).not.toContain(l.url)
    expect(l.hits).toEqual(['GET /logo.png']) // at registration only

    const asset = await fetch(src)
    expect(asset.status).toBe(200)
    expect(Buffer.from(await asset.arrayBuffer())).toEqual(PNG)
    expect(
      Object.fromEntries(
        ['content-type', 'x-content-type-options', 'content-security-policy'].map((h) => [
          h,
          asset.headers.get(h),
        ]),
      ),
    ).toEqual({
      'content-type': 'image/png',
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'; sandbox",
    })
    expect(l.hits).toHaveLength(1)
  })

  it("the pages' CSP allows images only from the holder and data:", async () => {
    const page = await fetch(`${holder.issuer}/login`)
    const csp = page.headers.get('content-security-policy')!
    expect(csp).toContain("img-src 'self' data:;")
    expect(csp).not.toMatch(/img-src[^;]*https:/)
  })

  for (const [what, type, body] of [
    ['an SVG', 'image/svg+xml', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>')],
    ['HTML labelled image/png', 'image/png', Buffer.from('<html><script>alert(1)</script></html>')],
    ['a PNG over 256 KiB', 'image/png', Buffer.concat([PNG, Buffer.alloc(300 * 1024)])],
  ] as const)
    it(`${what} is not stored: the initial-letter mark is shown`, async () => {
      const l = await listen((_q, s) => s.writeHead(200, { 'content-type': type }).end(body))
      const { page, clientId } = await consentPageFor('Quokka Credit', `${l.url}/logo`)
      expect(page).toContain('<span class="requester__initial" aria-hidden="true">Q</span>')
      expect(page).not.toContain('requester__logo')
      expect((await fetch(`${holder.issuer}/assets/logos/${clientId}`)).status).toBe(404)
    })

  it('a logo host resolving to a private address is never fetched (registration still succeeds)', async () => {
    lookups.length = 0
    const { page } = await consentPageFor('Wombat Loans', 'https://logo.evil.test/logo.png')
    expect(page).toContain('requester__initial')
    expect(lookups).toEqual(['logo.evil.test'])
    expect(safety.blocked).toEqual([])
  })
})

// ---- registration hygiene ----------------------------------------------------------------------------

describe('registration hygiene', () => {
  it('refuses RSA keys under 2048 bits; accepts 2048', async () => {
    for (const [bits, status] of [
      [1024, 400],
      [1536, 400],
      [2048, 201],
    ] as const) {
      const { publicKey } = generateKeyPairSync('rsa', { modulusLength: bits })
      const jwk = { ...publicKey.export({ format: 'jwk' }), alg: 'PS256', use: 'sig', kid: 'r1' }
      const res = await register(holder.issuer, {
        client_name: 'RSA Test',
        redirect_uris: [REDIRECT_URI],
        jwks: { keys: [jwk] },
      })
      expect([bits, res.status, res.body.error]).toEqual([
        bits,
        status,
        status === 400 ? 'invalid_client_metadata' : undefined,
      ])
    }
  })

  for (const uri of [
    'https://lender.example/cb#',
    'https://user@lender.example/cb',
    'https://@lender.example/cb',
    'https://lender.example/c\tb',
    'https://lender.example/cb\n',
    'https://lender.example/c b',
    'https://lender.example/c\u0000b',
    'https://lender.example/c\u007fb',
    'https://lender.example/c\u0085b',
    'https://lender.example/cb%0d%0aSet-Cookie:x=1',
    'https://lender.example/cb?x=%00',
    'https://lender.example/cb?x=%C2%85',
  ])
    it(`refuses redirect_uri ${JSON.stringify(uri)}: invalid_redirect_uri`, async () => {
      const k = await keys()
      const res = await register(holder.issuer, base(k, { redirect_uris: [uri] }))
      expect([res.status, res.body.error]).toEqual([400, 'invalid_redirect_uri'])
    })

  for (const name of [
    'Beacon\u202eLending', // right-to-left override
    'Beacon\u2066Lending\u2069', // isolate
    'Beacon\u200fLending', // right-to-left mark
    'Beacon\u061cLending', // Arabic letter mark
    'Beacon\u0000Lending',
    'Beacon\nLending',
    'Beacon\u0085Lending',
    'Beacon\u200bLending', // zero-width space
  ])
    it(`refuses client_name ${JSON.stringify(name)}: invalid_client_metadata`, async () => {
      const k = await keys()
      const res = await register(holder.issuer, base(k, { client_name: name }))
      expect([res.status, res.body.error]).toEqual([400, 'invalid_client_metadata'])
    })

  it("refuses names confusable with the holder's own (Harbor Pay)", async () => {
    const k = await keys()
    for (const name of [
      'Harbor Pay',
      'Harb0r Pay',
      'Нarbor Pay',
      'Ｈａｒｂｏｒ Ｐａｙ',
      'HARBOR   PAY',
      'harbor-pay',
      'Ηarbοr Ρay',
    ] as const) {
      const res = await register(holder.issuer, base(k, { client_name: name }))
      expect([name, res.status, res.body.error]).toEqual([name, 400, 'invalid_client_metadata'])
    }
    expect((await register(holder.issuer, base(k, { client_name: 'Harbour Lending' }))).status).toBe(201)
  })

  it('lets the holder decide on names confusable with existing clients', async () => {
    const calls: Array<{ name: string; skeleton: string; existing: string[] }> = []
    const hooked = await startStrict({
      registration: {
        isConfusableName(name, skeleton, existing) {
          calls.push({ name, skeleton, existing: existing.map((c) => c.clientName) })
          return existing.some((c) => c.clientName !== name)
        },
      },
    })
    try {
      const k = await keys()
      expect((await register(hooked.issuer, base(k, { client_name: 'Beacon Lending' }))).status).toBe(201)
      expect(calls).toEqual([]) // nothing alike yet
      expect((await register(hooked.issuer, base(k, { client_name: 'Beacon Lending' }))).status).toBe(201)
      const lookalike = await register(hooked.issuer, base(k, { client_name: 'Beac0n Lendíng' }))
      expect([lookalike.status, lookalike.body.error]).toEqual([400, 'invalid_client_metadata'])
      expect(calls).toEqual([
        { name: 'Beacon Lending', skeleton: 'beaconlending', existing: ['Beacon Lending'] },
        { name: 'Beac0n Lendíng', skeleton: 'beaconlending', existing: ['Beacon Lending', 'Beacon Lending'] },
      ])
    } finally {
      await hooked.close()
    }
  })
})
