/**
 * "Beacon Lending", the demo recipient: a small node:http web app that links a person's Harbor Pay
 * account with `@consentry/client`, reads the history the person allowed, and shows an affordability
 * summary. Server-rendered HTML, no client-side script.
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
  type Account,
  ClientAuthenticationError,
  type ConsentClient,
  type ConsentEvent,
  ConsentryClientError,
  createConsentClient,
  GrantExpiredError,
  GrantRevokedError,
  InvalidRequestError,
  LinkDeniedError,
  LinkNotFoundError,
  type PendingLink,
  type RegisteredClient,
  registerClient,
  type Transaction,
} from '@consentry/client'
import { fromMonthlyTotals, summarize } from './affordability.ts'
import { fileTokenStore, JsonFileMap, readJsonFile, writeJsonFileAtomic } from './json-file.ts'
import { type AskView, landingPage, messagePage, summaryPage } from './pages.ts'
import { STYLESHEET } from './style.ts'

export const DEMO_INITIAL_ACCESS_TOKEN = 'demo-initial-access-token'
const HOLDER_NAME = 'Harbor Pay'

/**
 * What Beacon Lending asks for by default: a year of monthly totals, computed and signed by the
 * holder — no transactions, descriptions or payees (docs/affordability.md).
 */
export const MONTHLY_TOTALS_DETAIL = {
  type: 'affordability_summary',
  period: { lookback_days: 365 },
  metrics: ['monthly_income', 'monthly_spending', 'month_end_balance', 'income_regularity', 'overdraft_days'],
  purpose: 'credit_assessment',
  expires_in: 30 * 86400,
  max_reads_per_day: 4,
} as const

/** The alternative, when the person chooses to share everything: a year of transaction history. */
export const LOAN_CHECK_DETAIL = {
  type: 'transaction_history',
  datatypes: ['accounts', 'balances', 'transactions'],
  fields: ['booked_at', 'amount', 'currency', 'category', 'description'],
  period: { lookback_days: 365 },
  purpose: 'credit_assessment',
  expires_in: 30 * 86400,
  max_reads_per_day: 4,
} as const

export interface BeaconLendingOptions {
  /** Default 4001; 0 picks a free port. */
  port?: number
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string
  /** The URL people and the holder reach this app at. Default `http://localhost:{port}` (loopback hosts). */
  publicUrl?: string
  /** The data holder's issuer, e.g. `http://localhost:4000`. */
  holderIssuer: string
  /** The holder's registration token. Default: the demo token. */
  initialAccessToken?: string
  /** Where client config, links and sessions are kept. Default `.consentry/beacon-lending`. */
  dataDir?: string
  /** Epoch-ms clock handed to the Consentry client (tests). */
  clock?: () => number
  /** Print request failures. Default: `console.error`. */
  log?: (message: string, error?: unknown) => void
}

export interface BeaconLending {
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
  /** Set when the holder told us (webhook) or a read showed that the link ended. */
  ended?: { status: string; reason?: string; at: number }
}

const SESSION_COOKIE = 'beacon_session'
const CSRF_COOKIE = 'beacon_csrf'
const SESSION_IDLE_MS = 7 * 86_400_000
const MAX_SESSIONS = 10_000
const MAX_FORM_BYTES = 8_192
const IP_RE = /^[0-9A-Fa-f:.]{2,45}$/

/** Start Beacon Lending; registers with the holder on first start (or when the holder forgot us). */
export async function startBeaconLending(options: BeaconLendingOptions): Promise<BeaconLending> {
  const host = options.host ?? '127.0.0.1'
  const dataDir = resolve(options.dataDir ?? '.consentry/beacon-lending')
  const log = options.log ?? ((m: string, e?: unknown) => console.error(`[beacon-lending] ${m}`, e ?? ''))
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
  await new Promise<void>((ok, fail) => http.once('error', fail).listen(options.port ?? 4001, host, ok))
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
      webhookUri: `${url}/webhooks/consentry`,
    }
    const register = async (): Promise<RegisteredClient> => {
      const config = await registerClient({
        issuer: wanted.issuer,
        initialAccessToken: options.initialAccessToken ?? DEMO_INITIAL_ACCESS_TOKEN,
        clientName: 'Beacon Lending',
        redirectUris: [wanted.redirectUri],
        webhookUri: wanted.webhookUri,
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
      createConsentClient({ ...c, tokenStore, ...(options.clock ? { clock: options.clock } : {}) })
    let client: ConsentClient = makeClient(config)
    let webhook = client.webhookHandler(onGrantEnded)
    let reregistering: Promise<void> | undefined
    /** The holder no longer knows our client (e.g. its data was wiped): register again, once. */
    const reregister = (staleClientId: string) => {
      if (client.clientId !== staleClientId) return Promise.resolve()
      reregistering ??= (async () => {
        log('the holder no longer accepts our client; registering again')
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
      // The SDK already dropped the link from the token store; remember it for the person's next visit.
      await sessions.update((map) => {
        for (const s of map.values())
          if (s.grantId === event.grantId) {
            delete s.grantId
            s.ended = {
              status: event.status,
              ...(event.reason ? { reason: event.reason } : {}),
              at: Date.now(),
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
      lookbackDays: LOAN_CHECK_DETAIL.period.lookback_days,
      fields: [...LOAN_CHECK_DETAIL.fields],
      expiresDays: LOAN_CHECK_DETAIL.expires_in / 86400,
      maxReadsPerDay: LOAN_CHECK_DETAIL.max_reads_per_day,
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
              : 'Something went wrong while talking to Harbor Pay. Nothing was shared that you did not allow. Please try again.',
          code,
        }),
      )
    const endedPage = (req: IncomingMessage, res: ServerResponse, sid: string, ended?: Session['ended']) =>
      html(
        res,
        200,
        messagePage({
          title: 'Connection ended',
          heading: `Your connection was ended at ${HOLDER_NAME}`,
          kind: 'warn',
          body: `${ended?.status === 'expired' ? 'The access you gave us has expired' : `Access was revoked at ${HOLDER_NAME}`}, so we can no longer read your data. If you still want a loan check, connect again — you'll choose what to share.`,
          csrf: csrfToken(req, res, sid),
          reconnect: true,
          holderName: HOLDER_NAME,
        }),
      )
    const codeOf = (err: unknown) => (err instanceof ConsentryClientError ? err.code : 'internal_error')

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
      // Monthly totals unless the person explicitly chose the full history.
      const detail = form.get('share') === 'history' ? LOAN_CHECK_DETAIL : MONTHLY_TOTALS_DETAIL
      const start = () => client.startLink({ authorizationDetails: [detail] })
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
            body: 'We couldn’t match this return from Harbor Pay to a connection you started here. Nothing was shared. Please start again.',
            code: 'no_pending_link',
          }),
        )
      const pending = s.data.pending
      delete s.data.pending
      const previous = s.data.grantId
      try {
        const link = await client.completeLink(`${url}${req.url ?? '/'}`, pending)
        s.data.grantId = link.grantId
        delete s.data.ended
        await saveSession(s)
        // One link per person: end the one this replaces.
        if (previous && previous !== link.grantId)
          void client
            .link(previous)
            .then((l) => l.revoke())
            .catch(() => {})
        return redirect(res, '/summary')
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

    async function summary(req: IncomingMessage, res: ServerResponse) {
      const s = readSession(req)
      if (!s) return redirect(res, '/')
      if (!s.data.grantId) {
        if (s.data.ended) return endedPage(req, res, s.id, s.data.ended)
        return redirect(res, '/')
      }
      const grantId = s.data.grantId
      const ip = customerIp(req)
      const read = ip ? { customerIpAddress: ip } : {}
      try {
        const link = await client.link(grantId).catch((err: unknown) => {
          // A link kept for an earlier registration of ours cannot be used by this one.
          if (err instanceof InvalidRequestError) throw new LinkNotFoundError(grantId)
          throw err
        })
        const totalsDetail = link.grant.authorizationDetails.find((d) => d.type === 'affordability_summary')
        const lookbackOf = (p: unknown) =>
          p && typeof p === 'object' && 'lookback_days' in p && typeof p.lookback_days === 'number'
            ? p.lookback_days
            : undefined
        const common = {
          holderName: HOLDER_NAME,
          ...(link.grant.expiresAt ? { expiresAt: link.grant.expiresAt } : {}),
          ...(link.grant.maxReadsPerDay !== undefined ? { maxReadsPerDay: link.grant.maxReadsPerDay } : {}),
        }
        let page: string
        if (totalsDetail) {
          // Monthly totals only: the holder's signed summary, verified against its published keys.
          const signed = await link.affordabilitySummary({ signed: true, ...read })
          const lookback = lookbackOf(totalsDetail.period)
          const metrics = Array.isArray(totalsDetail.metrics)
            ? totalsDetail.metrics.filter((m): m is string => typeof m === 'string')
            : [...MONTHLY_TOTALS_DETAIL.metrics]
          page = summaryPage({
            csrf: csrfToken(req, res, s.id),
            summary: fromMonthlyTotals(signed.summary),
            shared: {
              ...common,
              accounts: [],
              period: signed.summary.period,
              ...(lookback !== undefined ? { lookbackDays: lookback } : {}),
              fields: [],
              datatypes: [],
              metrics,
            },
            source: {
              kind: 'totals',
              signed: true,
              issuedAt: signed.issuedAt,
              accountCount: signed.summary.accounts.length,
            },
          })
        } else {
          const accounts: Account[] = await link.accounts(read)
          const transactions: Transaction[] = []
          let period: { from: string; to: string } | undefined
          if (link.grant.datatypes.includes('transactions'))
            for (const a of accounts)
              for await (const p of link.transactionPages({ accountId: a.id, pageSize: 500, ...read })) {
                if (p.period) period ??= p.period
                transactions.push(...p.data)
              }
          period ??= fallbackPeriod(link.grant.period, options.clock?.() ?? Date.now())
          const lookback = lookbackOf(link.grant.period)
          page = summaryPage({
            csrf: csrfToken(req, res, s.id),
            summary: summarize({ accounts, transactions, period }),
            shared: {
              ...common,
              accounts: accounts.map((a) => ({ name: a.name, type: a.type })),
              period,
              ...(lookback !== undefined ? { lookbackDays: lookback } : {}),
              fields: link.grant.fields,
              datatypes: link.grant.datatypes,
            },
            source: { kind: 'history', transactions: transactions.length },
          })
        }
        await saveSession(s)
        html(res, 200, page)
      } catch (err) {
        if (
          err instanceof GrantRevokedError ||
          err instanceof GrantExpiredError ||
          err instanceof LinkNotFoundError ||
          err instanceof ClientAuthenticationError
        ) {
          const ended = { status: err instanceof GrantExpiredError ? 'expired' : 'revoked', at: Date.now() }
          delete s.data.grantId
          s.data.ended = ended
          await saveSession(s)
          if (err instanceof ClientAuthenticationError) await reregister(client.clientId).catch(() => {})
          return endedPage(req, res, s.id, ended)
        }
        log('reading the shared history failed', err instanceof ConsentryClientError ? err.code : err)
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
          title: 'Access ended',
          heading: 'Access ended',
          kind: 'ok',
          body: `We’ve ended our access to your ${HOLDER_NAME} data. We can’t read anything more, and ${HOLDER_NAME} shows the connection as ended.`,
          csrf: csrfToken(req, res, s?.id ?? ''),
          reconnect: true,
          holderName: HOLDER_NAME,
        }),
      )
    }

    async function webhookRoute(req: IncomingMessage, res: ServerResponse) {
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
      if (path === '/assets/beacon.css' && (method === 'GET' || method === 'HEAD')) {
        res.writeHead(200, {
          'content-type': 'text/css; charset=utf-8',
          'cache-control': 'public, max-age=300',
          'x-content-type-options': 'nosniff',
        })
        return void res.end(method === 'HEAD' ? undefined : STYLESHEET)
      }
      // People must use the public URL, or the session cookie would not come back with the callback.
      // (Only when we are reached directly: behind a proxy with its own publicUrl, Host is the proxy's business.)
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
        if (path === '/summary') return summary(req, res)
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
  // Still full: drop the least recently seen tenth.
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
  if (site && site !== 'same-origin' && site !== 'none') {
    // The holder pushes webhooks server to server (no Sec-Fetch-Site); browsers always send it.
    return false
  }
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

/** The consented period when no transactions page said which one was served. */
function fallbackPeriod(period: unknown, now: number): { from: string; to: string } {
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10)
  if (period && typeof period === 'object') {
    const p = period as { from?: unknown; to?: unknown; lookback_days?: unknown }
    if (typeof p.from === 'string' && typeof p.to === 'string') return { from: p.from, to: p.to }
    if (typeof p.lookback_days === 'number')
      return { from: day(now - (p.lookback_days - 1) * 86_400_000), to: day(now) }
  }
  return { from: day(now), to: day(now) }
}
