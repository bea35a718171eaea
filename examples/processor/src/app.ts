/**
 * "Tidewater Payments", the demo processor: a small node:http web app that onboards a Bazaar Market
 * seller with `@consentry/client`, reads the settlements, orders and refunds the seller allowed, shows
 * the upcoming payout and reconciles each settlement against the sales it covers. Server-rendered HTML,
 * no client-side script.
 *
 * It knows Bazaar Market only through the published contract (`@consentry/example-marketplace/contract`):
 * typed records, no other import.
 *
 * State lives in `dataDir`: `client.json` (the registered client, with its private key), `links.json`
 * (the token store), `sessions.json` (server-side sessions) and `secret.key` (signs CSRF tokens).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join, resolve } from 'node:path'
import {
  ClientAuthenticationError,
  type ConsentClient,
  type ConsentEvent,
  ConsentryClientError,
  createConsentClient,
  GrantExpiredError,
  GrantRevokedError,
  InvalidRequestError,
  type Link,
  LinkDeniedError,
  LinkNotFoundError,
  type PendingLink,
  RateLimitedError,
  type RegisteredClient,
  registerClient,
} from '@consentry/client'
import {
  fileTokenStore,
  JsonFileMap,
  readJsonFile,
  writeJsonFileAtomic,
} from '@consentry/example-lender/src/json-file.ts'
import {
  type MarketplaceSalesDetailInput,
  marketplaceSalesType,
  type Order,
  type Refund,
  type SalesDatatype,
  type Settlement,
} from '@consentry/example-marketplace/contract'
import { type AskView, dateLabel, landingPage, messagePage, payoutsPage, type StoreView } from './pages.ts'
import { reconcile } from './reconcile.ts'
import { STYLESHEET } from './style.ts'

export const DEMO_INITIAL_ACCESS_TOKEN = 'demo-initial-access-token'
const HOLDER_NAME = 'Bazaar Market'

/**
 * What Tidewater asks for: 90 days of settlements, orders and refunds, with only the fields it needs
 * to reconcile payouts (no items, statuses, countries or refund reasons).
 */
export const PAYOUT_DETAIL = {
  type: 'marketplace_sales',
  datatypes: ['settlements', 'orders', 'refunds'],
  fields: [
    'period_start',
    'period_end',
    'gross_sales',
    'refunds',
    'fees',
    'net_payout',
    'payout_date',
    'currency',
    'ordered_at',
    'amount',
    'refunded_at',
  ],
  period: { lookback_days: 90 },
  purpose: 'payment_processing',
  expires_in: 180 * 86400,
  max_reads_per_day: 4,
} as const satisfies MarketplaceSalesDetailInput

/** How many settlements the payouts page shows per store. */
const SETTLEMENTS_SHOWN = 5

export interface TidewaterOptions {
  /** Default 4003; 0 picks a free port. */
  port?: number
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string
  /** The URL people and the holder reach this app at. Default `http://localhost:{port}` (loopback hosts). */
  publicUrl?: string
  /** The marketplace's issuer, e.g. `http://localhost:4002`. */
  holderIssuer: string
  /** The marketplace's registration token. Default: the demo token. */
  initialAccessToken?: string
  /** Where client config, links and sessions are kept. Default `.consentry/tidewater-payments`. */
  dataDir?: string
  /** Epoch-ms clock (tests). */
  clock?: () => number
  /** Register a webhook for "grant ended" events. Default true. */
  webhooks?: boolean
  /** Print request failures. Default: `console.error`. */
  log?: (message: string, error?: unknown) => void
}

export interface Tidewater {
  url: string
  port: number
  /** The registered client id (after start-up registration or reuse). */
  clientId(): string
  close(): Promise<void>
}

interface Session {
  createdAt: number
  lastSeen: number
  pending?: PendingLink
  grantId?: string
  /** When the link was made. */
  linkedAt?: number
  /** Set when the holder told us (webhook) or a read showed that the link ended. */
  ended?: { status: string; reason?: string; at: number; how: 'event' | 'read' | 'disconnect' }
}

const SESSION_COOKIE = 'tidewater_session'
const CSRF_COOKIE = 'tidewater_csrf'
const SESSION_IDLE_MS = 7 * 86_400_000
const MAX_SESSIONS = 10_000
const MAX_FORM_BYTES = 8_192
const IP_RE = /^[0-9A-Fa-f:.]{2,45}$/

/** Start Tidewater Payments; registers with the marketplace on first start (or when it forgot us). */
export async function startTidewater(options: TidewaterOptions): Promise<Tidewater> {
  const host = options.host ?? '127.0.0.1'
  const dataDir = resolve(options.dataDir ?? '.consentry/tidewater-payments')
  const log = options.log ?? ((m: string, e?: unknown) => console.error(`[tidewater] ${m}`, e ?? ''))
  const clock = options.clock ?? Date.now
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })

  let handler: (req: IncomingMessage, res: ServerResponse) => Promise<void> = async (_q, r) => {
    r.writeHead(503).end()
  }
  const http = createServer((req, res) => {
    handler(req, res).catch((err) => {
      log('unhandled request failure', err)
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
      res.end('Internal error')
    })
  })
  await new Promise<void>((ok, fail) => http.once('error', fail).listen(options.port ?? 4003, host, ok))
  const port = (http.address() as AddressInfo).port
  const loopback = host === '127.0.0.1' || host === '::1' || host === 'localhost' || host === '0.0.0.0'
  const url = (options.publicUrl ?? `http://${loopback ? 'localhost' : host}:${port}`).replace(/\/+$/, '')
  const origin = new URL(url).origin
  const secureCookies = url.startsWith('https:')
  const holderOrigin = new URL(options.holderIssuer).origin

  try {
    const secret = await loadSecret(join(dataDir, 'secret.key'))
    const sessions = await JsonFileMap.open<Session>(join(dataDir, 'sessions.json'))
    const tokenStore = await fileTokenStore(join(dataDir, 'links.json'))

    // ---- registration ---------------------------------------------------------------------------
    const clientFile = join(dataDir, 'client.json')
    const wanted = {
      issuer: options.holderIssuer,
      redirectUri: `${url}/callback`,
      ...(options.webhooks !== false ? { webhookUri: `${url}/webhooks/consentry` } : {}),
    }
    const register = async (): Promise<RegisteredClient> => {
      const config = await registerClient({
        issuer: wanted.issuer,
        initialAccessToken: options.initialAccessToken ?? DEMO_INITIAL_ACCESS_TOKEN,
        clientName: 'Tidewater Payments',
        redirectUris: [wanted.redirectUri],
        ...(wanted.webhookUri ? { webhookUri: wanted.webhookUri } : {}),
      })
      await writeJsonFileAtomic(clientFile, config)
      return config
    }
    let config = await readJsonFile<RegisteredClient>(clientFile)
    if (
      !config ||
      config.issuer !== wanted.issuer ||
      config.redirectUri !== wanted.redirectUri ||
      config.webhookUri !== wanted.webhookUri
    )
      config = await register()
    const makeClient = (c: RegisteredClient) =>
      createConsentClient({
        ...c,
        tokenStore,
        detailTypes: [marketplaceSalesType],
        ...(options.clock ? { clock: options.clock } : {}),
      })
    let client: ConsentClient = makeClient(config)
    let webhook = client.webhookHandler(onGrantEnded)
    let reregistering: Promise<void> | undefined
    /** The holder no longer knows our client (e.g. its data was wiped): register again, once. */
    const reregister = (staleClientId: string) => {
      if (client.clientId !== staleClientId) return Promise.resolve()
      reregistering ??= (async () => {
        log('the marketplace no longer accepts our client; registering again')
        config = await register()
        client = makeClient(config)
        webhook = client.webhookHandler(onGrantEnded)
      })().finally(() => {
        reregistering = undefined
      })
      return reregistering
    }

    async function onGrantEnded(event: ConsentEvent) {
      // Changes and reminders need nothing here: the SDK keeps the stored link in step.
      if (event.type !== 'grant-ended') return
      // The SDK already dropped the link from the token store; remember it for the seller's next visit.
      await sessions.update((map) => {
        for (const s of map.values())
          if (s.grantId === event.grantId) {
            delete s.grantId
            s.ended = {
              status: event.status,
              ...(event.reason ? { reason: event.reason } : {}),
              at: clock(),
              how: 'event',
            }
          }
      })
    }

    // ---- sessions and CSRF ----------------------------------------------------------------------
    const sessionKey = (id: string) => createHash('sha256').update(id).digest('base64url')
    const readSession = (req: IncomingMessage): { id: string; key: string; data: Session } | undefined => {
      const id = cookies(req)[SESSION_COOKIE]
      if (!id || !/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined
      const key = sessionKey(id)
      const data = sessions.get(key)
      if (!data || Date.now() - data.lastSeen > SESSION_IDLE_MS) return undefined
      return { id, key, data }
    }
    const newSession = async (res: ServerResponse) => {
      if (sessions.size >= MAX_SESSIONS) await pruneSessions(sessions)
      const id = randomBytes(32).toString('base64url')
      const data: Session = { createdAt: Date.now(), lastSeen: Date.now() }
      await sessions.set(sessionKey(id), data)
      appendCookie(res, cookie(SESSION_COOKIE, id, { maxAge: SESSION_IDLE_MS / 1000, secure: secureCookies }))
      return { id, key: sessionKey(id), data }
    }
    const saveSession = (s: { key: string; data: Session }) =>
      sessions.set(s.key, { ...s.data, lastSeen: Date.now() })

    /** Signed double-submit token, bound to the session when there is one: `nonce.hmac(nonce|sid)`. */
    const sign = (nonce: string, sid: string) =>
      createHmac('sha256', secret).update(`csrf|${nonce}|${sid}`).digest('base64url')
    const csrfToken = (req: IncomingMessage, res: ServerResponse, sid: string): string => {
      let nonce = cookies(req)[CSRF_COOKIE]
      if (!nonce || !/^[A-Za-z0-9_-]{22}$/.test(nonce)) {
        nonce = randomBytes(16).toString('base64url')
        appendCookie(res, cookie(CSRF_COOKIE, nonce, { secure: secureCookies }))
      }
      return `${nonce}.${sign(nonce, sid)}`
    }
    const csrfOk = (req: IncomingMessage, form: URLSearchParams, sid: string): boolean => {
      const nonce = cookies(req)[CSRF_COOKIE]
      const token = form.get('csrf') ?? ''
      if (!nonce || !token) return false
      const expected = Buffer.from(`${nonce}.${sign(nonce, sid)}`)
      const given = Buffer.from(token)
      return expected.length === given.length && timingSafeEqual(expected, given)
    }

    // ---- responses ------------------------------------------------------------------------------
    const csp = [
      "default-src 'none'",
      "style-src 'self'",
      "img-src 'self'",
      // Chromium applies form-action to the redirect that follows a form post: allow the holder.
      `form-action 'self' ${holderOrigin}`,
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ].join('; ')
    const securityHeaders = {
      'content-security-policy': csp,
      'x-frame-options': 'DENY',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
      'permissions-policy': 'camera=(), microphone=(), geolocation=()',
    }
    const html = (res: ServerResponse, status: number, body: string) => {
      res.writeHead(status, {
        ...securityHeaders,
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
      })
      res.end(body)
    }
    const redirect = (res: ServerResponse, location: string) => {
      res.writeHead(303, { ...securityHeaders, location, 'cache-control': 'no-store' })
      res.end()
    }
    const ask: AskView = {
      holderName: HOLDER_NAME,
      lookbackDays: PAYOUT_DETAIL.period.lookback_days,
      expiresDays: PAYOUT_DETAIL.expires_in / 86400,
      maxReadsPerDay: PAYOUT_DETAIL.max_reads_per_day,
    }
    const errorPage = (res: ServerResponse, code: string, status = 502) =>
      html(
        res,
        status,
        messagePage({
          title: 'Something went wrong',
          heading: 'We couldn’t finish that',
          kind: 'bad',
          body:
            code === 'network_error'
              ? `${HOLDER_NAME} can’t be reached right now. Nothing was shared; please try again in a moment.`
              : `Something went wrong while talking to ${HOLDER_NAME}. Nothing was shared that you did not allow. Please try again.`,
          code,
        }),
      )
    const endedPage = (req: IncomingMessage, res: ServerResponse, sid: string, ended?: Session['ended']) =>
      html(
        res,
        200,
        messagePage({
          title: 'Link ended',
          heading: `Your ${HOLDER_NAME} link has ended`,
          kind: 'warn',
          body: `${endedWords(ended)} We can no longer read your settlements or sales, and we have stopped reconciling your payouts. Connect again to pick up where you left off — you'll choose what to share.`,
          csrf: csrfToken(req, res, sid),
          reconnect: true,
          holderName: HOLDER_NAME,
          status: 'Link ended',
        }),
      )
    const codeOf = (err: unknown) => (err instanceof ConsentryClientError ? err.code : 'internal_error')
    const endedByRead = (err: unknown) =>
      err instanceof GrantRevokedError ||
      err instanceof GrantExpiredError ||
      err instanceof LinkNotFoundError ||
      err instanceof ClientAuthenticationError

    // ---- routes ---------------------------------------------------------------------------------
    async function landing(req: IncomingMessage, res: ServerResponse) {
      const s = readSession(req)
      html(
        res,
        200,
        landingPage({ csrf: csrfToken(req, res, s?.id ?? ''), ask, connected: Boolean(s?.data.grantId) }),
      )
    }

    async function connect(req: IncomingMessage, res: ServerResponse) {
      const form = await readForm(req)
      const existing = readSession(req)
      if (!form || !csrfOk(req, form, existing?.id ?? '')) return forbidden(res)
      const s = existing ?? (await newSession(res))
      const start = () => client.startLink({ authorizationDetails: [PAYOUT_DETAIL] })
      let started: Awaited<ReturnType<typeof start>>
      try {
        try {
          started = await start()
        } catch (err) {
          if (!(err instanceof ClientAuthenticationError)) throw err
          await reregister(client.clientId)
          started = await start()
        }
      } catch (err) {
        log('startLink failed', err)
        return errorPage(res, codeOf(err))
      }
      s.data.pending = started.pending
      await saveSession(s)
      redirect(res, started.url)
    }

    async function callback(req: IncomingMessage, res: ServerResponse) {
      const s = readSession(req)
      if (!s?.data.pending)
        return html(
          res,
          400,
          messagePage({
            title: 'Link expired',
            heading: 'This connection attempt has expired',
            kind: 'warn',
            body: `We couldn’t match this return from ${HOLDER_NAME} to a connection you started here. Nothing was shared. Please start again.`,
            code: 'no_pending_link',
          }),
        )
      const pending = s.data.pending
      delete s.data.pending
      const previous = s.data.grantId
      try {
        const link = await client.completeLink(`${url}${req.url ?? '/'}`, pending)
        s.data.grantId = link.grantId
        s.data.linkedAt = clock()
        delete s.data.ended
        await saveSession(s)
        // One link per seller: end the one this replaces.
        if (previous && previous !== link.grantId)
          void client
            .link(previous)
            .then((l) => l.revoke())
            .catch(() => {})
        return redirect(res, '/payouts')
      } catch (err) {
        await saveSession(s)
        if (err instanceof LinkDeniedError)
          return html(
            res,
            200,
            messagePage({
              title: 'Nothing was shared',
              heading: 'You declined — nothing was shared',
              kind: 'ok',
              body: `No problem. ${HOLDER_NAME} didn’t share anything with us. You can connect whenever you like, and choose exactly what to share.`,
              csrf: csrfToken(req, res, s.id),
              reconnect: true,
              holderName: HOLDER_NAME,
            }),
          )
        log('completeLink failed', err instanceof ConsentryClientError ? err.code : err)
        return errorPage(
          res,
          codeOf(err),
          err instanceof ConsentryClientError && err.code !== 'server_error' && err.code !== 'network_error'
            ? 400
            : 502,
        )
      }
    }

    /** Every record of one datatype of one store, and the period the marketplace served. */
    async function readAll<T>(
      link: Link,
      route: SalesDatatype,
      storeId: string,
      read: { customerIpAddress?: string },
    ): Promise<{ records: T[]; period?: { from: string; to: string } }> {
      const records: T[] = []
      let period: { from: string; to: string } | undefined
      for await (const page of link.pages(
        marketplaceSalesType,
        route,
        { store_id: storeId },
        { pageSize: 500, ...read },
      )) {
        if (page.period) period ??= page.period
        records.push(...(page.data as T[]))
      }
      return { records, ...(period ? { period } : {}) }
    }

    async function payouts(req: IncomingMessage, res: ServerResponse) {
      const s = readSession(req)
      if (!s) return redirect(res, '/')
      if (!s.data.grantId) {
        if (s.data.ended) return endedPage(req, res, s.id, s.data.ended)
        return redirect(res, '/')
      }
      const grantId = s.data.grantId
      const ip = customerIp(req)
      const read = ip ? { customerIpAddress: ip } : {}
      const now = clock()
      const today = new Date(now).toISOString().slice(0, 10)
      try {
        const link = await client.link(grantId).catch((err: unknown) => {
          // A link kept for an earlier registration of ours cannot be used by this one.
          if (err instanceof InvalidRequestError) throw new LinkNotFoundError(grantId)
          throw err
        })
        const detail = link.grant.authorizationDetails.find((d) => d.type === 'marketplace_sales')
        const datatypes = new Set((detail?.datatypes as string[] | undefined) ?? [])
        const { data: shared } = await link.read(marketplaceSalesType, 'stores', {}, read)
        const stores: StoreView[] = []
        for (const store of shared) {
          const settlements = datatypes.has('settlements')
            ? await readAll<Settlement>(link, 'settlements', store.id, read)
            : { records: [] }
          const orders = datatypes.has('orders')
            ? await readAll<Order>(link, 'orders', store.id, read)
            : { records: [] }
          const refunds = datatypes.has('refunds')
            ? await readAll<Refund>(link, 'refunds', store.id, read)
            : { records: [] }
          const period = settlements.period ??
            orders.period ?? { from: lookbackStart(now, PAYOUT_DETAIL.period.lookback_days), to: today }
          const result = reconcile({
            currency: store.currency,
            settlements: settlements.records,
            orders: orders.records,
            refunds: refunds.records,
            period,
            today,
          })
          stores.push({
            id: store.id,
            name: store.name,
            currency: store.currency,
            ...(store.region ? { region: store.region } : {}),
            period,
            orderCount: orders.records.length,
            refundCount: refunds.records.length,
            reconciliation: { ...result, settlements: result.settlements.slice(0, SETTLEMENTS_SHOWN) },
          })
        }
        await saveSession(s)
        html(
          res,
          200,
          payoutsPage({
            csrf: csrfToken(req, res, s.id),
            holderName: HOLDER_NAME,
            stores,
            today,
            fields: (detail?.fields as string[] | undefined) ?? [],
            ...(link.grant.expiresAt ? { expiresAt: link.grant.expiresAt } : {}),
          }),
        )
      } catch (err) {
        if (endedByRead(err)) {
          const ended: Session['ended'] = {
            status: err instanceof GrantExpiredError ? 'expired' : 'revoked',
            at: clock(),
            how: 'read',
          }
          delete s.data.grantId
          s.data.ended = ended
          await saveSession(s)
          if (err instanceof ClientAuthenticationError) await reregister(client.clientId).catch(() => {})
          return endedPage(req, res, s.id, ended)
        }
        if (err instanceof RateLimitedError)
          return html(
            res,
            429,
            messagePage({
              title: 'Try again shortly',
              heading: `${HOLDER_NAME} asks us to slow down`,
              kind: 'warn',
              body: `${HOLDER_NAME} limits how often we may read your sales. Please come back ${err.retryAfter ? `after ${new Date(clock() + err.retryAfter * 1000).toUTCString().slice(17, 22)} UTC` : 'in a little while'}.`,
              code: err.code,
            }),
          )
        log('reading the shared sales failed', err instanceof ConsentryClientError ? err.code : err)
        return errorPage(res, codeOf(err))
      }
    }

    async function disconnect(req: IncomingMessage, res: ServerResponse) {
      const form = await readForm(req)
      const s = readSession(req)
      if (!form || !csrfOk(req, form, s?.id ?? '')) return forbidden(res)
      if (s?.data.grantId) {
        try {
          await (await client.link(s.data.grantId)).revoke()
        } catch (err) {
          if (
            !(
              err instanceof LinkNotFoundError ||
              err instanceof GrantRevokedError ||
              err instanceof GrantExpiredError
            )
          ) {
            log('revoke failed', err instanceof ConsentryClientError ? err.code : err)
            return errorPage(res, codeOf(err))
          }
        }
        delete s.data.grantId
        delete s.data.ended
        await saveSession(s)
      }
      redirect(res, '/disconnected')
    }

    function disconnected(req: IncomingMessage, res: ServerResponse) {
      const s = readSession(req)
      html(
        res,
        200,
        messagePage({
          title: 'Disconnected',
          heading: `${HOLDER_NAME} disconnected`,
          kind: 'ok',
          body: `We’ve ended our access to your ${HOLDER_NAME} sales. We can’t read anything more, and ${HOLDER_NAME} shows the connection as ended in its <em>Connected apps</em>.`,
          csrf: csrfToken(req, res, s?.id ?? ''),
          reconnect: true,
          holderName: HOLDER_NAME,
        }),
      )
    }

    async function webhookRoute(req: IncomingMessage, res: ServerResponse) {
      if (options.webhooks === false) return void res.writeHead(404).end()
      const body = await readBody(req, 65_536)
      const headers = new Headers()
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v)
      const request = new Request(`${url}/webhooks/consentry`, {
        method: req.method ?? 'POST',
        headers,
        ...(body && req.method !== 'GET' && req.method !== 'HEAD' ? { body } : {}),
      })
      const response = body === undefined ? new Response(null, { status: 413 }) : await webhook(request)
      res.writeHead(response.status, Object.fromEntries(response.headers))
      res.end(Buffer.from(await response.arrayBuffer()))
    }

    handler = async (req, res) => {
      const path = (req.url ?? '/').split('?')[0]
      const method = req.method ?? 'GET'
      if (path === '/webhooks/consentry') return webhookRoute(req, res)
      if (path === '/assets/tidewater.css' && (method === 'GET' || method === 'HEAD')) {
        res.writeHead(200, {
          'content-type': 'text/css; charset=utf-8',
          'cache-control': 'public, max-age=300',
          'x-content-type-options': 'nosniff',
        })
        return void res.end(method === 'HEAD' ? undefined : STYLESHEET)
      }
      // People must use the public URL, or the session cookie would not come back with the callback.
      if (
        !options.publicUrl &&
        (method === 'GET' || method === 'HEAD') &&
        req.headers.host &&
        `http://${req.headers.host}` !== origin
      )
        return redirect(res, `${url}${req.url ?? '/'}`)
      if (method === 'POST' && !sameOrigin(req, origin)) return forbidden(res)
      if (method === 'GET' || method === 'HEAD') {
        if (path === '/') return landing(req, res)
        if (path === '/callback') return callback(req, res)
        if (path === '/payouts') return payouts(req, res)
        if (path === '/disconnected') return disconnected(req, res)
        if (path === '/favicon.ico') return void res.writeHead(204).end()
      }
      if (method === 'POST') {
        if (path === '/connect') return connect(req, res)
        if (path === '/disconnect') return disconnect(req, res)
      }
      html(
        res,
        404,
        messagePage({
          title: 'Not found',
          heading: 'We couldn’t find that page',
          kind: 'warn',
          body: 'The page you asked for doesn’t exist.',
        }),
      )
    }

    return {
      url,
      port,
      clientId: () => client.clientId,
      async close() {
        http.closeAllConnections()
        await new Promise<void>((r) => http.close(() => r()))
        await Promise.all([sessions.settled(), tokenStore.settled()])
      },
    }
  } catch (err) {
    http.close()
    throw err
  }
}

// ---- helpers ------------------------------------------------------------------------------------

/** "01:18 UTC on 2 Dec 2026". */
const atText = (ms: number) =>
  `${new Date(ms).toISOString().slice(11, 16)} UTC on ${dateLabel(new Date(ms).toISOString())}`

/** How the link ended, in words. */
function endedWords(ended: Session['ended']): string {
  if (!ended) return `Access was revoked at ${HOLDER_NAME}.`
  if (ended.status === 'expired')
    return `The access you gave us expired (we found out at ${atText(ended.at)}).`
  if (ended.how === 'event')
    return `Access was revoked at ${HOLDER_NAME}, which told us straight away (${atText(ended.at)}).`
  if (ended.how === 'read')
    return `Access was revoked at ${HOLDER_NAME}: our last read, at ${atText(ended.at)}, was refused.`
  return `Access was revoked at ${HOLDER_NAME}.`
}

const lookbackStart = (now: number, days: number) =>
  new Date(now - (days - 1) * 86_400_000).toISOString().slice(0, 10)

async function loadSecret(path: string): Promise<Buffer> {
  try {
    const hex = (await readFile(path, 'utf8')).trim()
    if (/^[0-9a-f]{64}$/.test(hex)) return Buffer.from(hex, 'hex')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const secret = randomBytes(32)
  await writeFile(path, secret.toString('hex'), { mode: 0o600 })
  return secret
}

async function pruneSessions(sessions: JsonFileMap<Session>) {
  const now = Date.now()
  const all = sessions.entries().sort((a, b) => a[1].lastSeen - b[1].lastSeen)
  const drop = new Set(all.filter(([, s]) => now - s.lastSeen > SESSION_IDLE_MS).map(([k]) => k))
  if (all.length - drop.size >= MAX_SESSIONS) for (const [k] of all.slice(0, MAX_SESSIONS / 10)) drop.add(k)
  await sessions.update((map) => {
    for (const k of drop) map.delete(k)
  })
}

function cookies(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {}
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=')
    if (i < 1) continue
    const name = part.slice(0, i).trim()
    if (!(name in out)) out[name] = part.slice(i + 1).trim()
  }
  return out
}

function cookie(name: string, value: string, o: { maxAge?: number; secure: boolean }): string {
  return [
    `${name}=${value}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Lax',
    ...(o.maxAge !== undefined ? [`Max-Age=${Math.floor(o.maxAge)}`] : []),
    ...(o.secure ? ['Secure'] : []),
  ].join('; ')
}

function appendCookie(res: ServerResponse, value: string) {
  const prev = res.getHeader('set-cookie')
  res.setHeader('set-cookie', [...(Array.isArray(prev) ? prev : prev ? [String(prev)] : []), value])
}

function forbidden(res: ServerResponse) {
  res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
  res.end('This form has expired. Go back, reload the page and try again.')
}

/** Reject cross-site form posts (Origin / Sec-Fetch-Site), on top of the CSRF token. */
function sameOrigin(req: IncomingMessage, origin: string): boolean {
  const site = req.headers['sec-fetch-site']
  if (site && site !== 'same-origin' && site !== 'none') return false
  const o = req.headers.origin
  return !o || o === origin || o === 'null'
}

function customerIp(req: IncomingMessage): string | undefined {
  const raw = (req.socket.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '')
  return IP_RE.test(raw) ? raw : undefined
}

async function readBody(req: IncomingMessage, max: number): Promise<string | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > max) return undefined
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase()
  if (type !== 'application/x-www-form-urlencoded') return undefined
  const body = await readBody(req, MAX_FORM_BYTES)
  return body === undefined ? undefined : new URLSearchParams(body)
}
