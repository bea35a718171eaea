/**
 * The guarded fetch, against local listeners and a resolver the test controls. Only 127.0.0.1 is
 * ever connected to: `evil.test` "resolves" wherever a case needs, the guard must refuse before
 * connecting, and the loopback-only safety net would stop (and report) any connection elsewhere.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { nameSkeleton } from '../src/checks/client-metadata.ts'
import { addressRange, isAllowedAddress, refuseUrl } from '../src/net/address.ts'
import { EgressError, type EgressResolver, guardedFetch } from '../src/net/guarded-fetch.ts'
import { fetchLogo, sniffImageType } from '../src/net/logo.ts'
import { Lru } from '../src/util/lru.ts'
import { installLoopbackOnly } from './loopback-only.ts'

interface Listener {
  url: string
  port: number
  connections: number
  requests: Array<{ method: string; url: string; host: string; body: string }>
  bytesWritten: number
  close(): Promise<void>
}

const listeners: Listener[] = []

async function listen(handler: (req: IncomingMessage, res: ServerResponse, l: Listener) => void) {
  const server: Server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (d: string) => {
      body += d
    })
    req.on('end', () => {
      l.requests.push({ method: req.method!, url: req.url!, host: req.headers.host!, body })
      handler(req, res, l)
    })
  })
  server.on('connection', () => {
    l.connections++
  })
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok))
  const port = (server.address() as AddressInfo).port
  const l: Listener = {
    url: `http://127.0.0.1:${port}`,
    port,
    connections: 0,
    requests: [],
    bytesWritten: 0,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections()
        server.close(() => ok())
      }),
  }
  listeners.push(l)
  return l
}

/** A resolver the test controls: every name resolves to `addresses`, and calls are counted. */
function resolver(...addresses: string[]): EgressResolver & { calls: string[] } {
  const calls: string[] = []
  const fn = async (host: string) => {
    calls.push(host)
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
  }
  return Object.assign(fn, { calls })
}

async function egressError(p: Promise<unknown>): Promise<EgressError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(e).toBeInstanceOf(EgressError)
  return e as EgressError
}

const net = installLoopbackOnly()
afterEach(async () => {
  for (const l of listeners.splice(0)) await l.close()
})
afterAll(() => net.uninstall())
beforeAll(() => {
  expect(net.blocked).toEqual([])
})

describe('address classification (ipaddr.js, embedded IPv4 unwrapped)', () => {
  const refused: Array<[string, string]> = [
    ['127.0.0.1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['100.100.100.200', 'carrierGradeNat'],
    ['192.0.0.192', 'reserved'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'linkLocal'],
    ['fd00:ec2::254', 'uniqueLocal'],
    ['ff02::1', 'multicast'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:a9fe:a9fe', 'linkLocal'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'linkLocal'],
    ['64:ff9b::a00:1', 'private'],
    ['64:ff9b:1::1', 'rfc6052'],
    ['2002:a00:1::1', '6to4'],
    ['2001::1', 'teredo'],
    ['2001:db8::1', 'reserved'],
    ['::7f00:1', 'reserved'],
  ]
  for (const [ip, range] of refused)
    it(`refuses ${ip} (${range})`, () => {
      expect(addressRange(ip)).toBe(range)
      expect(isAllowedAddress(ip)).toBe(false)
    })

  it('allows public unicast addresses, and loopback only when asked', () => {
    for (const ip of ['93.184.215.14', '8.8.8.8', '2606:4700::1111', '::ffff:93.184.215.14'])
      expect(isAllowedAddress(ip)).toBe(true)
    expect(isAllowedAddress('127.0.0.1', { allowLoopback: true })).toBe(true)
    expect(isAllowedAddress('::1', { allowLoopback: true })).toBe(true)
    expect(isAllowedAddress('10.0.0.1', { allowLoopback: true })).toBe(false)
    expect(isAllowedAddress('169.254.169.254', { allowLoopback: true })).toBe(false)
    expect(addressRange('not-an-ip')).toBe('invalid')
  })

  it('judges URLs: https only, IP literals in any notation, localhost', () => {
    const refuse = (u: string, allowLoopback = false) => refuseUrl(new URL(u), { allowLoopback })
    expect(refuse('https://lender.example/jwks')).toBeUndefined()
    expect(refuse('http://lender.example/jwks')).toMatch(/https/)
    expect(refuse('ftp://lender.example/jwks')).toMatch(/https/)
    for (const u of [
      'https://127.0.0.1/',
      'https://2130706433/', // 127.0.0.1 as one number
      'https://0x7f.1/',
      'https://[::1]/',
      'https://[::ffff:7f00:1]/',
      'https://localhost/',
      'https://api.localhost./',
      'http://localhost:8080/',
    ])
      expect(refuse(u), u).toBeDefined()
    for (const u of ['https://10.0.0.1/', 'https://169.254.169.254/', 'https://[fd00:ec2::254]/'])
      expect(refuse(u, true), u).toBeDefined()
    for (const u of ['http://127.0.0.1:8080/', 'http://[::1]/', 'http://localhost/', 'https://a.localhost/'])
      expect(refuse(u, true), u).toBeUndefined()
    expect(refuse('http://lender.example/', true)).toMatch(/https/)
  })
})

describe('guardedFetch', () => {
  it('refuses http and loopback without the dev option: the listener sees no connection', async () => {
    const l = await listen((_q, s) => s.end('secret'))
    expect((await egressError(guardedFetch(`${l.url}/x`, { maxBytes: 100 }))).code).toBe('egress_refused')
    expect((await egressError(guardedFetch(`https://127.0.0.1:${l.port}/x`, { maxBytes: 100 }))).code).toBe(
      'egress_refused',
    )
    const dns = resolver('127.0.0.1')
    const e = await egressError(
      guardedFetch(`https://evil.test:${l.port}/x`, { maxBytes: 100 }, { resolve: dns }),
    )
    expect([e.code, e.message]).toEqual(['egress_refused', 'evil.test resolves to a loopback address'])
    expect(dns.calls).toEqual(['evil.test'])
    expect(l.connections).toBe(0)
  })

  for (const address of [
    '10.0.0.1',
    '169.254.169.254',
    '::ffff:10.0.0.1',
    'fd00:ec2::254',
    '100.100.100.200',
  ])
    it(`refuses a name that resolves to ${address}, before connecting`, async () => {
      const dns = resolver(address)
      const e = await egressError(
        guardedFetch(
          'https://evil.test/latest/meta-data',
          { maxBytes: 100 },
          { resolve: dns, allowLoopback: true },
        ),
      )
      expect(e.code).toBe('egress_refused')
      expect(dns.calls).toEqual(['evil.test'])
      expect(net.blocked).toEqual([])
    })

  it('refuses when ANY resolved address is internal (no picking the good one)', async () => {
    const l = await listen((_q, s) => s.end('ok'))
    const dns = resolver('127.0.0.1', '10.0.0.1')
    const e = await egressError(
      guardedFetch(
        `http://evil.localhost:${l.port}/`,
        { maxBytes: 100 },
        { resolve: dns, allowLoopback: true },
      ),
    )
    expect(e.code).toBe('egress_refused')
    expect(l.connections).toBe(0)
  })

  it('refuses IP-literal URLs in internal ranges without resolving anything', async () => {
    const dns = resolver('127.0.0.1')
    for (const u of [
      'https://10.0.0.1/',
      'https://169.254.169.254/latest',
      'https://[::ffff:a00:1]/',
      'https://[fd00:ec2::254]/',
    ])
      expect(
        (await egressError(guardedFetch(u, { maxBytes: 100 }, { resolve: dns, allowLoopback: true }))).code,
      ).toBe('egress_refused')
    expect(dns.calls).toEqual([])
    expect(net.blocked).toEqual([])
  })

  it('with the dev option: reaches a loopback listener, resolving once, Host stays the name', async () => {
    const l = await listen((_q, s) => s.writeHead(200, { 'content-type': 'text/plain' }).end('hello'))
    const dns = resolver('127.0.0.1')
    const res = await guardedFetch(
      `http://keys.localhost:${l.port}/jwks?x=1`,
      { maxBytes: 100 },
      { resolve: dns, allowLoopback: true },
    )
    expect([res.status, new TextDecoder().decode(res.body)]).toEqual([200, 'hello'])
    expect(dns.calls).toEqual(['keys.localhost'])
    expect(l.requests).toEqual([
      { method: 'GET', url: '/jwks?x=1', host: `keys.localhost:${l.port}`, body: '' },
    ])
    // An IP literal needs no resolver at all.
    const direct = await guardedFetch(`${l.url}/`, { maxBytes: 100 }, { resolve: dns, allowLoopback: true })
    expect(direct.status).toBe(200)
    expect(dns.calls).toHaveLength(1)
  })

  it('connects to exactly the address it checked: a rebinding resolver gets no second question', async () => {
    const l = await listen((_q, s) => s.end('ok'))
    let answers = 0
    // First answer loopback (allowed), every later one a metadata address: only the first is asked.
    const rebinding: EgressResolver = async () => [
      { address: answers++ === 0 ? '127.0.0.1' : '169.254.169.254', family: 4 },
    ]
    const res = await guardedFetch(
      `http://rebind.localhost:${l.port}/`,
      { maxBytes: 100 },
      { resolve: rebinding, allowLoopback: true },
    )
    expect(res.status).toBe(200)
    expect(answers).toBe(1)
    expect(l.connections).toBe(1)
    expect(net.blocked).toEqual([])
  })

  it('never follows a redirect: the second listener is never hit', async () => {
    const second = await listen((_q, s) => s.end('internal'))
    const first = await listen((_q, s) => s.writeHead(302, { location: `${second.url}/admin` }).end())
    const e = await egressError(guardedFetch(`${first.url}/jwks`, { maxBytes: 100 }, { allowLoopback: true }))
    expect([e.code, e.status]).toEqual(['egress_redirect', 302])
    expect(first.requests).toHaveLength(1)
    expect(second.connections).toBe(0)
  })

  it('cuts a 10 MB body at the cap, declared or streamed, without reading it all', async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x61)
    const TOTAL = 10 * 1024 * 1024
    const stream = (declare: boolean) => (_q: IncomingMessage, s: ServerResponse, l: Listener) => {
      s.writeHead(200, declare ? { 'content-length': String(TOTAL) } : {})
      const pump = () => {
        while (l.bytesWritten < TOTAL) {
          l.bytesWritten += chunk.length
          if (!s.write(chunk)) return void s.once('drain', pump)
        }
        s.end()
      }
      s.on('error', () => {})
      pump()
    }
    for (const declare of [true, false]) {
      const l = await listen(stream(declare))
      const e = await egressError(
        guardedFetch(`${l.url}/big`, { maxBytes: 64 * 1024 }, { allowLoopback: true }),
      )
      expect(e.code).toBe('egress_too_large')
      // The guard stopped reading: far less than the 10 MB was ever sent (socket buffers only).
      await new Promise((r) => setTimeout(r, 50))
      expect(l.bytesWritten).toBeLessThan(TOTAL)
    }
  })

  it('gives up on a listener that never answers, within the configured budget', async () => {
    const l = await listen(() => {}) // reads the request, never responds
    const e = await egressError(
      guardedFetch(`${l.url}/slow`, { maxBytes: 100 }, { allowLoopback: true, timeoutMs: 150 }),
    )
    expect(e.code).toBe('egress_timeout')
    expect(l.requests).toHaveLength(1)
    const stuck: EgressResolver = () => new Promise(() => {})
    const dns = await egressError(
      guardedFetch('https://slow-dns.test/', { maxBytes: 100 }, { resolve: stuck, timeoutMs: 150 }),
    )
    expect(dns.code).toBe('egress_timeout')
  })

  it('POSTs a body and, with discardBody, reads none of the answer', async () => {
    const l = await listen((_q, s) => s.writeHead(202).end('x'.repeat(100_000)))
    const res = await guardedFetch(
      `${l.url}/events`,
      {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'event',
        maxBytes: 0,
        discardBody: true,
      },
      { allowLoopback: true },
    )
    expect([res.status, res.body.length]).toEqual([202, 0])
    expect(l.requests[0]).toMatchObject({ method: 'POST', body: 'event' })
  })

  it('maps connection failures to egress_failed', async () => {
    const l = await listen((_q, s) => s.end())
    const port = l.port
    await l.close()
    listeners.pop()
    expect(
      (await egressError(guardedFetch(`http://127.0.0.1:${port}/`, { maxBytes: 1 }, { allowLoopback: true })))
        .code,
    ).toBe('egress_failed')
  })
})

describe('logos', () => {
  const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(32)])
  it('recognises raster signatures only', () => {
    expect(sniffImageType(PNG)).toBe('image/png')
    expect(sniffImageType(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).toBe('image/jpeg')
    expect(sniffImageType(Buffer.from('GIF89a...'))).toBe('image/gif')
    expect(sniffImageType(Buffer.from('RIFF\0\0\0\0WEBPVP8 '))).toBe('image/webp')
    expect(sniffImageType(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeUndefined()
  })
  it('keeps a PNG whose bytes match; refuses SVG, lies about the type, and oversize', async () => {
    const serve = (type: string, body: Buffer) =>
      listen((_q, s) => s.writeHead(200, { 'content-type': type }).end(body))
    const ok = await serve('image/png', PNG)
    expect(await fetchLogo(`${ok.url}/logo.png`, { allowLoopback: true })).toEqual({
      contentType: 'image/png',
      bytes: new Uint8Array(PNG),
    })
    const svg = await serve('image/svg+xml', Buffer.from('<svg onload="alert(1)"/>'))
    const lie = await serve('image/png', Buffer.from('<html><script>alert(1)</script></html>'))
    const big = await serve('image/png', Buffer.concat([PNG, Buffer.alloc(300 * 1024)]))
    for (const l of [svg, lie, big])
      expect(await fetchLogo(`${l.url}/logo`, { allowLoopback: true })).toBeNull()
    expect(await fetchLogo(`${ok.url}/logo.png`, {})).toBeNull() // loopback without the dev option
  })
})

describe('confusable skeletons (TR39 via unhomoglyph)', () => {
  it('folds look-alikes of a name to one skeleton', () => {
    const holder = nameSkeleton('Harbor Pay')
    for (const n of [
      'Harb0r Pay',
      'Нarbor Pay',
      'Ｈａｒｂｏｒ Ｐａｙ',
      'HARBOR   PAY',
      'harbor-pay',
      'Ηarbοr Ρay',
      'Hárbor Pay',
    ])
      expect(nameSkeleton(n), n).toBe(holder)
    expect(nameSkeleton('Harbour Pay')).not.toBe(holder)
    expect(nameSkeleton('Beacon Lending')).not.toBe(holder)
  })
})

describe('Lru', () => {
  it('keeps at most max entries, evicting the least recently used', () => {
    const lru = new Lru<string, number>(2)
    lru.set('a', 1).set('b', 2)
    expect(lru.get('a')).toBe(1) // a is now the most recent
    lru.set('c', 3)
    expect([lru.has('a'), lru.has('b'), lru.has('c'), lru.size]).toEqual([true, false, true, 2])
    expect(lru.delete('a')).toBe(true)
    expect(lru.get('a')).toBeUndefined()
    expect(() => new Lru(0)).toThrow(RangeError)
  })
})
