/**
 * Reference 2: node-oidc-provider 9 as its users run it for a protected read — the userinfo endpoint
 * with a DPoP-bound opaque access token, DPoP nonces required, the default in-memory adapter. The
 * userinfo answer carries the same 100-record body Consentry serves (as a `transactions` claim of
 * the `openid` scope), so both encode the same JSON. Run as a child of bench/compare.ts (IPC: sends
 * `{ url }`, gets `'stop'`); `GET /bench-token?jkt=` (not measured) mints the token.
 *
 *   node --import tsx bench/reference/oidc-provider-server.ts <body.json>
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import Provider from 'oidc-provider'

// Its start-up notices (development keys, memory adapter, default TTLs) are expected here.
console.warn = () => {}
console.info = () => {}

const body = JSON.parse(readFileSync(process.argv[2]!, 'utf8'))
let handler:
  | ((req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void)
  | null = null
const server = createServer((req, res) => handler!(req, res))
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'bench',
      client_secret: randomBytes(32).toString('base64url'),
      redirect_uris: ['https://rp.example/cb'],
    },
  ],
  features: {
    devInteractions: { enabled: false },
    dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true },
  },
  claims: { openid: ['sub', 'transactions'] },
  findAccount: (_ctx: unknown, sub: string) => ({
    accountId: sub,
    claims: () => ({ sub, transactions: body }),
  }),
})
const callback = provider.callback()
handler = async (req, res) => {
  if (!req.url!.startsWith('/bench-token')) return callback(req, res)
  const jkt = new URL(req.url!, issuer).searchParams.get('jkt')!
  const client = await provider.Client.find('bench')
  const grant = new provider.Grant({ accountId: 'alice', clientId: 'bench' })
  grant.addOIDCScope('openid')
  const grantId = await grant.save()
  const at = new provider.AccessToken({
    accountId: 'alice',
    client,
    grantId,
    scope: 'openid',
    gty: 'authorization_code',
  })
  ;(at as unknown as { jkt: string }).jkt = jkt
  res.end(JSON.stringify({ access_token: await at.save() }))
}
process.send!({ url: `${issuer}/me` })
process.on('message', (m) => m === 'stop' && server.close(() => process.exit(0)))
process.on('message', (m) => {
  // bench/compare.ts: the CPU this process has used (user + system µs), around a measured phase.
  if (m === 'cpu') process.send!({ cpu: process.cpuUsage() })
})
process.on('disconnect', () => process.exit(0))
