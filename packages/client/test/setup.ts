import {
  type ConsentClientOptions,
  createConsentClient,
  type Link,
  memoryTokenStore,
} from '@consentry/client'
import { exportJWK, generateKeyPair } from 'jose'
import { afterEach, beforeEach } from 'vitest'
import { createMockServer, ISSUER, type MockServer, REDIRECT_URI } from './mock-server.ts'

export const DETAIL = {
  type: 'transaction_history',
  datatypes: ['accounts', 'transactions'],
  fields: ['booked_at', 'amount', 'currency'],
  period: { lookback_days: 90 },
  purpose: 'credit_assessment',
  expires_in: 30 * 86400,
} as const

/** A fresh mock server for every test (listening through msw; unhandled requests fail loudly). */
export function useMockServer(): { readonly mock: MockServer } {
  const holder = {} as { mock: MockServer }
  beforeEach(() => {
    holder.mock = createMockServer()
    holder.mock.server.listen({ onUnhandledRequest: 'error' })
  })
  afterEach(() => {
    holder.mock.server.close()
  })
  return holder
}

/** A registered client (fresh ES256 key) with a memory store and a hand-driven clock. */
export async function setupClient(mock: MockServer, options: Partial<ConsentClientOptions> = {}) {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true })
  const clientId = `cl_${crypto.randomUUID()}`
  mock.registerClientKey(clientId, await exportJWK(publicKey))
  let now = Date.now()
  const clock = {
    now: () => now,
    advance(seconds: number) {
      now += seconds * 1000
    },
  }
  const store = memoryTokenStore()
  const client = createConsentClient({
    issuer: ISSUER,
    clientId,
    privateKey: await exportJWK(privateKey),
    redirectUri: REDIRECT_URI,
    tokenStore: store,
    clock: clock.now,
    ...options,
  })
  return { client, store, clock, clientId }
}

/** Start a link, let the mock person consent, complete it. */
export async function linkAccount(
  mock: MockServer,
  client: Awaited<ReturnType<typeof setupClient>>['client'],
  approve: Parameters<MockServer['approve']>[1] = {},
): Promise<Link> {
  const { url, pending } = await client.startLink({ authorizationDetails: [DETAIL] })
  const callback = mock.approve(url, approve)
  return client.completeLink(callback, JSON.parse(JSON.stringify(pending)))
}

/** Expect a promise to reject; return the error. */
export async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise
  } catch (err) {
    return err as Error & { code?: string }
  }
  throw new Error('expected a rejection')
}

/** Assert an error's message and own fields contain none of the server's secrets. */
export function assertNoSecrets(err: unknown, secrets: Iterable<string>, extra: string[] = []): void {
  const e = err as Error
  const text = `${e.message} ${String(e)} ${JSON.stringify(e)} ${e.stack ?? ''}`
  for (const s of [...secrets, ...extra]) {
    if (s && text.includes(s)) throw new Error(`error text leaks a secret: ${e.name}`)
  }
}
