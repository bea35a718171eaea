import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  type ConsentServer,
  type ConsentServerConfig,
  createConsentServer,
  guardNodeServer,
  nodeListener,
  type Store,
} from '@consentry/server'
import { createMarketplaceData, type MarketplaceData } from './data.ts'
import { salesDataType } from './sales.ts'
import { createUsers } from './users.ts'

/** Clearly a demo value: anyone who reads this README can register a client with it. */
export const DEMO_INITIAL_ACCESS_TOKEN = 'demo-initial-access-token'

/** The one purpose Bazaar Market shares sales for. */
export const PURPOSES = {
  payment_processing: {
    label: 'Payment processing',
    description: 'To collect your payouts and check them against your sales.',
  },
}

export interface BazaarMarketOptions {
  store: Store
  /** Default 4002; 0 picks a free port. */
  port?: number
  host?: string
  /** Public issuer URL. Default `http://{publicHost}:{port}`. */
  issuer?: string
  /** Host name in the default issuer. Default `localhost`. */
  publicHost?: string
  /** PRNG seed of the demo data. */
  seed?: number
  initialAccessToken?: string
  /** Extra server configuration (tests: clock, lifetimes, webhook delays). */
  overrides?: Partial<ConsentServerConfig>
  /** Run expiry sweeps and audit checkpoints in the background. Default true. */
  maintenance?: boolean
  /**
   * Serve the sandbox (`POST {issuer}/sandbox/link` for sam and kim without any page, and
   * `/sandbox/revoke`). Default true: a demo holder with test sellers only. A public issuer refuses it.
   */
  sandbox?: boolean
}

export interface BazaarMarket {
  issuer: string
  port: number
  server: ConsentServer
  /** The demo data as of the server clock now (tests compare what was served with it). */
  data(): MarketplaceData
  close(): Promise<void>
}

/** The data follows the clock: rebuilt (deterministically) at most once an hour, as orders come in. */
const REFRESH_MS = 3_600_000

/**
 * "Bazaar Market", the demo marketplace: sellers `sam`/`sam` (two storefronts) and `kim`/`kim` (one),
 * two years of orders, refunds, fees and fortnightly settlements, shared through the
 * `marketplace_sales` data type by a Consentry server over node:http.
 */
export async function startBazaarMarket(options: BazaarMarketOptions): Promise<BazaarMarket> {
  const host = options.host ?? '127.0.0.1'
  let handle: (req: IncomingMessage, res: ServerResponse) => void = (_q, r) => r.writeHead(503).end()
  const http = createHttpServer((req, res) => handle(req, res))
  guardNodeServer(http)
  await new Promise<void>((resolve, reject) =>
    http.once('error', reject).listen(options.port ?? 4002, host, resolve),
  )
  const port = (http.address() as AddressInfo).port
  const issuer = options.issuer ?? `http://${options.publicHost ?? 'localhost'}:${port}`
  const clock = options.overrides?.now ?? Date.now
  let current: MarketplaceData | undefined
  const data = () => {
    const now = clock()
    if (!current || now < current.now || now - current.now >= REFRESH_MS)
      current = createMarketplaceData({ now, ...(options.seed !== undefined ? { seed: options.seed } : {}) })
    return current
  }
  const users = createUsers()
  const server = await createConsentServer({
    issuer,
    store: options.store,
    dataTypes: [salesDataType(data)],
    purposes: PURPOSES,
    accountHolders: { verifyPassword: users.verifyPassword, displayName: users.displayName },
    initialAccessToken: options.initialAccessToken ?? DEMO_INITIAL_ACCESS_TOKEN,
    theme: { name: 'Bazaar Market', colors: { primary: '#b4441c' } },
    // A DEMO setting: recipients on this machine (Tidewater on localhost:4003, tests) register
    // http://localhost webhooks, jwks_uri and logos. Never set it on a real holder.
    dangerouslyAllowLoopbackEgress: true,
    // A demo: without CONSENTRY_KEY_ENCRYPTION_KEY its keys sit in the database in plaintext, and
    // the server says so at start. Never copy this into a real deployment.
    dangerouslyStoreKeysInPlaintext: true,
    // A test holder: recipients get grants for sam and kim without any page. Never on real sellers.
    sandbox: options.sandbox ?? true,
    ...options.overrides,
  })
  const serve = nodeListener(server.fetch)
  handle = (req, res) => {
    // The marketplace has no shop front in this demo: its home is the sellers' "Connected apps".
    if (req.url === '/' && (req.method === 'GET' || req.method === 'HEAD'))
      return void res.writeHead(303, { location: '/consents', 'cache-control': 'no-store' }).end()
    serve(req, res)
  }
  const stop = options.maintenance === false ? () => {} : server.startMaintenance(30_000)
  return {
    issuer,
    port,
    server,
    data,
    async close() {
      stop()
      http.closeAllConnections()
      await new Promise<void>((r) => http.close(() => r()))
    },
  }
}
