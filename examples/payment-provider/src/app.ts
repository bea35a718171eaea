import { createServer as createHttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  type ConsentServer,
  type ConsentServerConfig,
  createConsentServer,
  guardNodeServer,
  nodeListener,
  type Store,
} from '@consentry/server'
import { createDemoData } from './data.ts'

/** Clearly a demo value: anyone who reads this README can register a client with it. */
export const DEMO_INITIAL_ACCESS_TOKEN = 'demo-initial-access-token'

export interface HarborPayOptions {
  store: Store
  /** Default 4000; 0 picks a free port. */
  port?: number
  host?: string
  /** Public issuer URL. Default `http://{publicHost}:{port}`. */
  issuer?: string
  /** Host name in the default issuer. Default `localhost`. */
  publicHost?: string
  /** Last day of the seeded history. Default: today (UTC). */
  today?: string
  initialAccessToken?: string
  /** Extra server configuration (tests: clock, lifetimes, webhook delays). */
  overrides?: Partial<ConsentServerConfig>
  /** Run expiry sweeps and audit checkpoints in the background. Default true. */
  maintenance?: boolean
  /**
   * Serve the sandbox (`POST {issuer}/sandbox/link` for alice and bob without any page, and
   * `/sandbox/revoke`). Default true: this is a demo holder with test people only. A public issuer
   * refuses it at start.
   */
  sandbox?: boolean
}

export interface HarborPay {
  issuer: string
  port: number
  server: ConsentServer
  close(): Promise<void>
}

/**
 * "Harbor Pay", the demo data holder: seeded account holders (alice/alice, bob/bob) with two years of
 * transactions, served by a Consentry server over node:http.
 */
export async function startHarborPay(options: HarborPayOptions): Promise<HarborPay> {
  const host = options.host ?? '127.0.0.1'
  // Listen first (port 0 = any free port), then name the issuer after the port actually bound.
  let handle: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void = (
    _q,
    r,
  ) => r.writeHead(503).end()
  const http = createHttpServer((req, res) => handle(req, res))
  // CONNECT and unparseable requests never reach the handler: answer them with problem+json too.
  guardNodeServer(http)
  await new Promise<void>((resolve, reject) =>
    http.once('error', reject).listen(options.port ?? 4000, host, resolve),
  )
  const port = (http.address() as AddressInfo).port
  const issuer = options.issuer ?? `http://${options.publicHost ?? 'localhost'}:${port}`
  const demo = createDemoData(options.today ? { today: options.today } : {})
  const server = await createConsentServer({
    issuer,
    store: options.store,
    dataSource: demo.dataSource,
    accountHolders: { verifyPassword: demo.users.verifyPassword, displayName: demo.users.displayName },
    initialAccessToken: options.initialAccessToken ?? DEMO_INITIAL_ACCESS_TOKEN,
    theme: { name: 'Harbor Pay', colors: { primary: '#0b5cad' } },
    // A DEMO setting: recipients on this machine (the lender on localhost:4001, tests) register
    // http://localhost webhooks, jwks_uri and logos. Never set it on a real holder.
    dangerouslyAllowLoopbackEgress: true,
    // A demo: without CONSENTRY_KEY_ENCRYPTION_KEY its keys sit in the database in plaintext, and
    // the server says so at start. Never copy this into a real deployment.
    dangerouslyStoreKeysInPlaintext: true,
    // A test holder: recipients get grants for alice and bob without any page (see the client
    // README's Testing section). Refused on a public issuer; never on a holder with real people.
    sandbox: options.sandbox ?? true,
    ...options.overrides,
  })
  handle = nodeListener(server.fetch)
  const stop = options.maintenance === false ? () => {} : server.startMaintenance(30_000)
  return {
    issuer,
    port,
    server,
    async close() {
      stop()
      http.closeAllConnections()
      await new Promise<void>((r) => http.close(() => r()))
    },
  }
}
