import { isIP } from 'node:net'
import ipaddr from 'ipaddr.js'

/**
 * Where the server may send requests on a recipient's behalf (`jwks_uri`, `webhook_uri`, `logo_uri`):
 * public unicast addresses only. Classification is done by ipaddr.js (the IANA special-purpose
 * registries, RFC 6890), with the IPv6 forms that embed an IPv4 address unwrapped first so
 * `::ffff:10.0.0.1` or `64:ff9b::a9fe:a9fe` is judged as the IPv4 address it reaches.
 */
export interface AddressPolicy {
  /** `dangerouslyAllowLoopbackEgress`: also allow 127.0.0.0/8 and ::1 (local demos and tests). */
  allowLoopback?: boolean
}

/** 2000::/3, the only IPv6 block IANA allocates for global unicast. */
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3')
/** 64:ff9b::/96, the well-known NAT64 prefix (RFC 6052): the last 32 bits are an IPv4 address. */
const NAT64_WKP = ipaddr.parseCIDR('64:ff9b::/96')

function embeddedIpv4(v6: ipaddr.IPv6): ipaddr.IPv4 {
  const b = v6.toByteArray()
  return new ipaddr.IPv4(b.slice(12, 16))
}

/**
 * The special-purpose range an IP address belongs to (`'private'`, `'loopback'`, `'linkLocal'`,
 * `'uniqueLocal'`, `'carrierGradeNat'`, `'multicast'`, `'reserved'`, …), `'unicast'` for a public
 * address, or `'invalid'` when it is not an IP address.
 *
 * @example
 * ```ts
 * addressRange('169.254.169.254') // 'linkLocal' (the cloud metadata service)
 * addressRange('::ffff:10.0.0.1') // 'private'
 * addressRange('93.184.215.14')   // 'unicast'
 * ```
 */
export function addressRange(ip: string): string {
  const bare = ip.replace(/^\[(.*)\]$/, '$1')
  if (!isIP(bare.replace(/%.*$/, ''))) return 'invalid'
  let addr: ipaddr.IPv4 | ipaddr.IPv6
  try {
    addr = ipaddr.parse(bare)
  } catch {
    return 'invalid'
  }
  if (addr.kind() === 'ipv4') return addr.range()
  const v6 = addr as ipaddr.IPv6
  if (v6.zoneId) return 'linkLocal' // a scoped address only makes sense on a local link
  const range = v6.range()
  // IPv4-mapped (::ffff:a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d):
  // the connection ends at the embedded IPv4 address, so that is what is judged.
  if (range === 'ipv4Mapped' || range === 'rfc6145' || (range === 'rfc6052' && v6.match(NAT64_WKP)))
    return embeddedIpv4(v6).range()
  if (range !== 'unicast') return range // includes 64:ff9b:1::/48 (local-use NAT64), 6to4, Teredo
  return v6.match(GLOBAL_UNICAST_V6) ? 'unicast' : 'reserved'
}

/** `true` when a connection to `ip` is allowed under `policy`. */
export function isAllowedAddress(ip: string, policy: AddressPolicy = {}): boolean {
  const range = addressRange(ip)
  return range === 'unicast' || (range === 'loopback' && policy.allowLoopback === true)
}

/** `localhost`, `*.localhost` (RFC 6761 §6.3: always loopback), with or without a trailing dot. */
export function isLocalhostName(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, '')
  return h === 'localhost' || h.endsWith('.localhost')
}

/**
 * Why `url` may not be fetched under `policy`, judged from the URL alone (no DNS): `undefined` when
 * it may be (its resolved addresses are checked again when it is fetched). `https:` only; `http:`
 * only to a loopback host when loopback is allowed. A host that is an IP literal must be a public
 * address; `localhost` needs `allowLoopback`.
 */
export function refuseUrl(url: URL, policy: AddressPolicy = {}): string | undefined {
  if (url.username || url.password) return 'URLs with credentials are not fetched'
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  const literal = isIP(host) !== 0
  const loopbackHost = literal ? addressRange(host) === 'loopback' : isLocalhostName(host)
  if (url.protocol === 'http:') {
    if (!(policy.allowLoopback && loopbackHost)) return 'only https URLs are fetched'
  } else if (url.protocol !== 'https:') return 'only https URLs are fetched'
  if (literal && !isAllowedAddress(host, policy)) return `${addressRange(host)} addresses are not reachable`
  if (!literal && isLocalhostName(host) && !policy.allowLoopback) return 'localhost is not reachable'
  return undefined
}
