/**
 * The loop every mounting test runs through whatever serves the issuer: the real
 * `@consentry/client` discovers it (RFC 8414, path insertion), registers, links through the real
 * login and consent forms, reads and revokes; oauth4webapi discovers the resource's RFC 9728
 * metadata (path insertion too); the person's "Connected apps" page works with the cookies the
 * mounted server set.
 */
import { createConsentClient, GrantRevokedError, memoryTokenStore, registerClient } from '@consentry/client'
import type { ConsentServer } from '@consentry/server'
import { expect } from 'vitest'
import { FormBrowser } from './browser.ts'
import { consent, INITIAL_ACCESS_TOKEN, insecure, oauth, REDIRECT_URI } from './recipient.ts'

export { createHolder, holderConfig, type LogCapture } from './holder.ts'

const DETAIL = {
  type: 'transaction_history',
  datatypes: ['accounts', 'balances', 'transactions'],
  fields: ['booked_at', 'amount', 'currency', 'category', 'description'],
  period: { lookback_days: 90 },
  purpose: 'credit_assessment',
  expires_in: 7 * 86400,
  max_reads_per_day: 10,
}

/**
 * Link → read → revoke through whatever serves `issuer`, asserting each step. `holder` is the server
 * object when it runs in this process (its store is checked too). Returns what the steps saw.
 */
export async function linkReadRevoke(issuer: string, holder?: ConsentServer) {
  const issuerUrl = new URL(issuer)
  const origin = issuerUrl.origin
  const path = issuerUrl.pathname.replace(/\/$/, '')

  // RFC 8414 §3.1 path insertion, as oauth4webapi (under @consentry/client) builds it.
  const metadata = await fetch(`${origin}/.well-known/oauth-authorization-server${path}`)
  expect(metadata.status).toBe(200)
  const as = await metadata.json()
  expect(as.issuer).toBe(issuer)
  for (const endpoint of ['authorization_endpoint', 'token_endpoint', 'registration_endpoint', 'jwks_uri'])
    expect(as[endpoint]).toMatch(new RegExp(`^${origin}${path}/`))

  // RFC 9728 §3.1 path insertion for the resource, through oauth4webapi.
  const resource = new URL(as.consentry_resource)
  expect(resource.href).toBe(`${issuer}/api`)
  const rs = await oauth.processResourceDiscoveryResponse(
    resource,
    await oauth.resourceDiscoveryRequest(resource, insecure),
  )
  expect(rs.authorization_servers).toEqual([issuer])

  const registered = await registerClient({
    issuer,
    initialAccessToken: INITIAL_ACCESS_TOKEN,
    clientName: 'Beacon Lending',
    redirectUris: [REDIRECT_URI],
  })
  const tokens = memoryTokenStore()
  const client = createConsentClient({ ...registered, tokenStore: tokens })
  const { url, pending } = await client.startLink({ authorizationDetails: [DETAIL] })
  expect(url.startsWith(`${issuer}/authorize?`)).toBe(true)
  const browser = new FormBrowser()
  const answer = await consent(issuer, { url } as never, {}, browser)
  expect(answer.status).toBe(303)
  const link = await client.completeLink(answer.location!, pending)

  const accounts = await link.accounts()
  expect(accounts.map((a) => a.id).sort()).toEqual(['acc_alice_savings', 'acc_alice_wallet'])
  const first = await link.transactionPages({ accountId: 'acc_alice_wallet', pageSize: 5 }).next()
  expect(first.done).toBe(false)
  expect(first.value!.data).toHaveLength(5)

  // The person's own pages work under the mount: the session cookie was scoped to the issuer's path.
  const dashboard = await browser.request(`${issuer}/consents`)
  expect(dashboard.status).toBe(200)
  expect(await dashboard.text()).toContain('Beacon Lending')

  // A second worker holding a copy of the tokens: after revoke() the holder refuses it.
  const copy = memoryTokenStore()
  copy.set(link.grantId, (await tokens.get(link.grantId))!)
  const worker = await createConsentClient({ ...registered, tokenStore: copy }).link(link.grantId)

  await link.revoke()
  await expect(worker.accounts()).rejects.toBeInstanceOf(GrantRevokedError)
  if (holder) expect((await holder.store.getGrant(link.grantId))?.status).toBe('revoked')
  return { grantId: link.grantId, accounts }
}
