import type { Context } from '../context.ts'

/**
 * What the host knows about a request beside the request itself: the second argument of
 * `server.fetch(request, info)`. `nodeListener` passes the socket's peer address; other hosts
 * (Deno, Bun, a worker) pass theirs.
 *
 * @example
 * ```ts
 * Deno.serve((request, conn) => server.fetch(request, { clientAddress: conn.remoteAddr.hostname }))
 * ```
 */
export interface ConnectionInfo {
  /** The peer address of the connection (an IPv4 or IPv6 address). */
  clientAddress?: string
}

/** The bucket of requests whose address nobody told us: they all share one sign-in throttle. */
export const UNKNOWN_ADDRESS = 'unknown'

const infos = new WeakMap<Request, ConnectionInfo>()

/** Remember what the host said about `request` (the router does this once per request). */
export function setConnectionInfo(request: Request, info: ConnectionInfo | undefined): void {
  if (info) infos.set(request, info)
}

/**
 * The client's address as the sign-in throttle counts it: the connection's peer address, or — with
 * `trustedProxy` configured — the entry of the forwarding header `hops` places from the right (the
 * right-most entry none of the holder's proxies wrote; entries further left are whatever the client
 * sent). IPv6 addresses are reduced to their /64 (one host usually holds a whole /64), IPv4-mapped
 * IPv6 to IPv4. Without any address: {@link UNKNOWN_ADDRESS}.
 */
export function clientAddress(ctx: Context, request: Request): string {
  const proxy = ctx.config.trustedProxy
  const peer = normalizeAddress(infos.get(request)?.clientAddress)
  if (!proxy) return peer ?? UNKNOWN_ADDRESS
  const raw = request.headers.get(proxy.header)
  const entries = raw ? forwardedEntries(proxy.header, raw) : []
  if (entries.length === 0) return peer ?? UNKNOWN_ADDRESS
  // Fewer entries than proxies: the left-most is the earliest address any proxy saw.
  const entry = entries[Math.max(0, entries.length - proxy.hops)]!
  return normalizeAddress(entry) ?? peer ?? UNKNOWN_ADDRESS
}

/** The addresses in a forwarding header, left to right (RFC 7239 `for=` or comma-separated). */
function forwardedEntries(header: string, value: string): string[] {
  const items = value.split(',').map((s) => s.trim())
  if (header !== 'forwarded') return items.filter(Boolean)
  // RFC 7239 §4: `for=192.0.2.60;proto=http, for="[2001:db8::1]:4711"`
  return items.map((item) => {
    const pair = item
      .split(';')
      .map((p) => p.trim())
      .find((p) => p.toLowerCase().startsWith('for='))
    return pair ? pair.slice(4) : ''
  })
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/

/** A canonical form of an address for counting, or `undefined` if it is not an IP address. */
export function normalizeAddress(raw: string | undefined): string | undefined {
  if (!raw) return undefined
  let a = raw.trim().replace(/^"(.*)"$/, '$1')
  if (a.startsWith('[')) a = a.slice(1, a.indexOf(']') > 0 ? a.indexOf(']') : undefined)
  else if (/^[\d.]+:\d+$/.test(a)) a = a.slice(0, a.indexOf(':')) // IPv4 with a port
  a = a.toLowerCase().replace(/%.*$/, '') // IPv6 zone id
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a)
  if (mapped) a = mapped[1]!
  const v4 = IPV4.exec(a)
  if (v4) return v4.slice(1).every((o) => Number(o) <= 255) ? v4.slice(1).map(Number).join('.') : undefined
  const groups = ipv6Groups(a)
  if (!groups) return undefined
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`
}

/** The eight 16-bit groups of an IPv6 address (RFC 4291 §2.2 text forms), or `undefined`. */
function ipv6Groups(a: string): number[] | undefined {
  if (!a.includes(':') || !/^[0-9a-f:.]+$/.test(a)) return undefined
  let text = a
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (tail) {
    const o = IPV4.exec(tail[1]!)
    if (!o || o.slice(1).some((x) => Number(x) > 255)) return undefined
    const [b0, b1, b2, b3] = o.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, -tail[1]!.length)}${((b0 << 8) | b1).toString(16)}:${((b2 << 8) | b3).toString(16)}`
  }
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const part = (s: string) => (s === '' ? [] : s.split(':'))
  const head = part(halves[0]!)
  const rest = halves.length === 2 ? part(halves[1]!) : undefined
  const fill = rest ? 8 - head.length - rest.length : 0
  if (rest ? fill < 1 : head.length !== 8) return undefined
  const all = [...head, ...Array<string>(fill).fill('0'), ...(rest ?? [])]
  if (!all.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined
  return all.map((g) => Number.parseInt(g, 16))
}
