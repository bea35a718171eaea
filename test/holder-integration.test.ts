import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createConsentServer, memoryStore, nodeListener } from '@consentry/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDemoData } from '../examples/payment-provider/src/data.ts'
import { FormBrowser, formAction, hiddenInput } from './helpers/browser.ts'
import {
  exchange,
  HISTORY_DETAIL,
  pushRequest,
  type Recipient,
  registerRecipient,
  resourceGet,
} from './helpers/recipient.ts'

/**
 * A holder with its own login: Consentry sees only `authenticate(request)` (the holder's session
 * cookie) and sends people without a session to the holder's `loginUrl`.
 */
let http: Server
let issuer: string
let r: Recipient
let api: Server
let apiUrl: string

beforeAll(async () => {
  const demo = createDemoData()
  const sessions = new Map<string, string>([['s3cr3t-session-of-alice', 'alice']])
  let handle: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void =
    () => {}
  http = createServer((req, res) => {
    // The holder's own pages, beside Consentry.
    if (req.url?.startsWith('/my-login')) {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>Harbor Pay sign-in</h1>')
      return
    }
    handle(req, res)
  })
  await new Promise<void>((ok) => http.listen(0, '127.0.0.1', ok))
  issuer = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
  const server = await createConsentServer({
    issuer,
    store: memoryStore(),
    dataSource: demo.dataSource,
    accountHolders: {
      loginUrl: '/my-login',
      async authenticate(request) {
        const cookie = request.headers.get('cookie') ?? ''
        const sid = /(?:^|; )holder_sid=([^;]+)/.exec(cookie)?.[1]
        const subject = sid ? sessions.get(sid) : undefined
        return subject ? { subject, name: demo.users.displayName(subject) } : null
      },
    },
    initialAccessToken: 'demo-initial-access-token',
  })
  handle = nodeListener(server.fetch)
  r = await registerRecipient(issuer)

  // The same holder's API alone, as a separate listener (e.g. another process behind the same host).
  api = createServer(nodeListener(server.resource))
  await new Promise<void>((ok) => api.listen(0, '127.0.0.1', ok))
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`
})
afterAll(() => {
  http?.close()
  api?.close()
})

describe("a holder's own login", () => {
  it('sends a person without a session to the holder’s login with a return address', async () => {
    const browser = new FormBrowser()
    const pending = await pushRequest(r, [HISTORY_DETAIL])
    const { res, url } = await browser.follow(pending.url, issuer)
    expect(new URL(url).pathname).toBe('/my-login')
    expect(res.status).toBe(200)
    const returnTo = new URL(new URL(url).searchParams.get('return_to')!)
    expect(returnTo.origin).toBe(issuer)
    expect(returnTo.pathname).toMatch(/^\/authorize\/[\w-]+$/)
  })

  it('uses the holder’s session for consent, with no Consentry login at all', async () => {
    const browser = new FormBrowser()
    // The person signed in at the holder earlier: the holder's own session cookie.
    browser.setCookie('holder_sid', 's3cr3t-session-of-alice')
    const pending = await pushRequest(r, [HISTORY_DETAIL])
    const { res, url } = await browser.follow(pending.url, issuer)
    expect(new URL(url).pathname).toMatch(/^\/authorize\/[\w-]+$/)
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html).toContain('Alice Martin')
    const answer = await browser.request(formAction(html, url), {
      form: {
        csrf: hiddenInput(html, 'csrf'),
        decision: 'allow',
        account: ['acc_alice_wallet'],
        field: ['booked_at', 'amount'],
      },
    })
    expect(answer.status).toBe(303)
    const { tokens, DPoP } = await exchange(r, pending, answer.headers.get('location')!)
    expect((await resourceGet(tokens.access_token, `${issuer}/api/accounts`, DPoP)).status).toBe(200)
  })
})

describe('the resource handler on its own', () => {
  it('serves the API and its metadata, and nothing of the authorization server', async () => {
    expect((await fetch(`${apiUrl}/.well-known/oauth-protected-resource/api`)).status).toBe(200)
    for (const path of ['/.well-known/oauth-authorization-server', '/token', '/par', '/consents', '/jwks'])
      expect((await fetch(`${apiUrl}${path}`, { redirect: 'manual' })).status).toBe(404)
    const unauth = await fetch(`${apiUrl}/api/accounts`)
    expect(unauth.status).toBe(401)
    expect(unauth.headers.get('www-authenticate')).toMatch(/^DPoP /)
  })
})
