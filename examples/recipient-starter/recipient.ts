/**
 * A Consentry recipient in one file: a small web app that links a person's account at a data holder,
 * reads what they allowed, and revokes. Copy it, ask for what you need, keep tokens in your database.
 * `npm start` (Node 22.13+). The environment it reads:
 *
 *   HOLDER_ISSUER                   the holder's issuer, default http://127.0.0.1:4000
 *   CONSENTRY_INITIAL_ACCESS_TOKEN  the holder's registration token (needed the first time)
 *   CONSENTRY_CLIENT_FILE           where the registered client (with its private key) is kept,
 *                                   default consentry-client.json (mode 0600: it is a secret)
 *   PORT, HOST, PUBLIC_URL          default 4001, 127.0.0.1, http://127.0.0.1:{PORT}
 *
 * Routes: GET / (start), GET /connect, GET /callback, GET /links/{id} (read), POST /links/{id}/revoke.
 */
import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  ConsentryClientError,
  createConsentClient,
  LinkDeniedError,
  type PendingLink,
  type RegisteredClient,
  registerClient,
} from '@consentry/client'

const env = process.env
const issuer = env.HOLDER_ISSUER ?? 'http://127.0.0.1:4000'
const clientFile = env.CONSENTRY_CLIENT_FILE ?? 'consentry-client.json'

// What you ask for (RFC 9396 authorization details): ask for no more than you use.
const ASK = {
  type: 'transaction_history',
  datatypes: ['accounts', 'transactions'],
  fields: ['booked_at', 'amount', 'currency', 'category'],
  period: { lookback_days: 90 },
  purpose: 'credit_assessment',
  expires_in: 30 * 86400,
  max_reads_per_day: 4,
}

const http = createServer((req, res) =>
  route(req, res).catch((error) => {
    // Typed errors with a stable code (never tokens or keys in the message); anything else is a bug.
    const code = error instanceof ConsentryClientError ? error.code : 'internal_error'
    if (code === 'internal_error') console.error(error)
    const ended = ['grant_revoked', 'grant_expired', 'link_not_found'].includes(code)
    send(res, ended ? 410 : 502, { error: code })
  }),
)
await new Promise<void>((ok) => http.listen(Number(env.PORT ?? 4001), env.HOST ?? '127.0.0.1', ok))
const baseUrl = env.PUBLIC_URL ?? `http://127.0.0.1:${(http.address() as AddressInfo).port}`
const redirectUri = `${baseUrl}/callback`

// Register once (RFC 7591) and keep the config: it holds the private key. Use your secret store.
let config = await readFile(clientFile, 'utf8').then(
  (t) => JSON.parse(t) as RegisteredClient,
  () => null,
)
if (config?.issuer !== issuer || config.redirectUri !== redirectUri) {
  if (!env.CONSENTRY_INITIAL_ACCESS_TOKEN) {
    console.error(`Set CONSENTRY_INITIAL_ACCESS_TOKEN (from the holder) to register at ${issuer}`)
    process.exit(1)
  }
  config = await registerClient({
    issuer,
    initialAccessToken: env.CONSENTRY_INITIAL_ACCESS_TOKEN,
    clientName: 'My Lender',
    redirectUris: [redirectUri],
  })
  await writeFile(clientFile, JSON.stringify(config), { mode: 0o600 })
}
// Links (tokens, DPoP keys) live in memory here: pass `tokenStore` to keep them in your database.
const client = createConsentClient(config)

// Who started which link: your own sessions/users in a real app (cookie SameSite=Lax, HttpOnly).
interface Session {
  pending?: PendingLink
  grants: Set<string>
}
const sessions = new Map<string, Session>()
function session(req: IncomingMessage, res: ServerResponse): Session {
  const id = /(?:^|;\s*)starter_session=([\w-]{43})/.exec(req.headers.cookie ?? '')?.[1]
  const known = id ? sessions.get(id) : undefined
  if (known) return known
  const fresh = { grants: new Set<string>() }
  const newId = randomBytes(32).toString('base64url')
  sessions.set(newId, fresh)
  res.setHeader('set-cookie', `starter_session=${newId}; Path=/; HttpOnly; SameSite=Lax`)
  return fresh
}

async function route(req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', baseUrl)
  const s = session(req, res)
  const grantId = /^\/links\/([\w-]+)(\/revoke)?$/.exec(url.pathname)
  if (req.method === 'GET' && url.pathname === '/') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end('<!doctype html><title>Recipient</title><a href="/connect">Connect your account</a>')
  } else if (req.method === 'GET' && url.pathname === '/connect') {
    const { url: authorizationUrl, pending } = await client.startLink({ authorizationDetails: [ASK] })
    s.pending = pending // server-side only: it holds the PKCE verifier and a private key
    res.writeHead(303, { location: authorizationUrl }).end()
  } else if (req.method === 'GET' && url.pathname === '/callback' && s.pending) {
    const pending = s.pending
    delete s.pending
    try {
      const link = await client.completeLink(url.href, pending)
      s.grants.add(link.grantId)
      res.writeHead(303, { location: `/links/${link.grantId}` }).end()
    } catch (error) {
      if (!(error instanceof LinkDeniedError)) throw error
      send(res, 200, { linked: false, message: 'Nothing was shared.' })
    }
  } else if (grantId && s.grants.has(grantId[1]!)) {
    const link = await client.link(grantId[1]!)
    if (req.method === 'POST' && grantId[2]) {
      await link.revoke()
      s.grants.delete(link.grantId)
      send(res, 200, { revoked: link.grantId })
    } else if (req.method === 'GET' && !grantId[2]) {
      // The person is here (their browser asked): an attended read, not counted against
      // max_reads_per_day. Behind a proxy, take their address from your proxy's header instead.
      const customerIpAddress = req.socket.remoteAddress!
      const accounts = await link.accounts({ customerIpAddress })
      const transactions = []
      for (const account of accounts)
        for await (const tx of link.transactions({ accountId: account.id, customerIpAddress }))
          transactions.push(tx)
      send(res, 200, { grant: link.grant, accounts, transactions })
    } else send(res, 405, { error: 'method_not_allowed' })
  } else send(res, 404, { error: 'not_found' })
}

function send(res: ServerResponse, status: number, body: unknown) {
  if (!res.headersSent) res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

console.log(`Consentry recipient at ${baseUrl} (holder ${issuer}, client ${config.clientId})`)
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => http.close(() => process.exit(0)))
