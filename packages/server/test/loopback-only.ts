/**
 * A safety net for egress tests: while installed, every TCP/TLS connection this process opens must
 * go to 127.0.0.0/8 or ::1. A connection anywhere else (an IP literal, or a name a lookup resolves
 * elsewhere) is destroyed before a packet leaves, and recorded in `blocked` — so even a broken
 * guard can never make a test reach a private, link-local or metadata address. Uninstall it in
 * `afterAll` (integration files share one process).
 */
import { lookup as dnsLookup } from 'node:dns'
import net from 'node:net'

type Lookup = (host: string, opts: object, cb: (...a: unknown[]) => void) => void

const isLoopback = (ip: string) =>
  /^127\./.test(ip) || ip === '::1' || /^::ffff:127\./i.test(ip) || ip === '0:0:0:0:0:0:0:1'

export function installLoopbackOnly(): { blocked: string[]; uninstall(): void } {
  const blocked: string[] = []
  const original = net.Socket.prototype.connect
  const patched = function (this: net.Socket, ...args: unknown[]) {
    const first = args[0]
    const options = (Array.isArray(first) ? first[0] : typeof first === 'object' ? first : undefined) as
      | { host?: string; path?: string; lookup?: Lookup }
      | undefined
    const host = options ? options.host : typeof args[1] === 'string' ? (args[1] as string) : undefined
    if (options?.path) return original.apply(this, args as never)
    const refuse = (what: string) => {
      blocked.push(what)
      const socket = this
      process.nextTick(() => socket.destroy(new Error(`test safety net: refused a connection to ${what}`)))
      return socket
    }
    const target = host ?? 'localhost'
    if (net.isIP(target)) {
      if (!isLoopback(target)) return refuse(target)
    } else if (options) {
      const inner: Lookup = options.lookup ?? (dnsLookup as unknown as Lookup)
      options.lookup = (name, opts, cb) =>
        inner(name, opts, (err: unknown, address: unknown, family: unknown) => {
          if (err) return cb(err)
          const list = Array.isArray(address) ? (address as Array<{ address: string }>) : [{ address }]
          const outside = list.map((a) => String(a.address)).filter((a) => !isLoopback(a))
          if (outside.length) {
            blocked.push(`${name} -> ${outside.join(', ')}`)
            return cb(new Error('test safety net: lookup resolved outside loopback'))
          }
          cb(null, address, family)
        })
    } else return refuse(target)
    return original.apply(this, args as never)
  }
  net.Socket.prototype.connect = patched as typeof original
  return {
    blocked,
    uninstall() {
      net.Socket.prototype.connect = original
    },
  }
}
