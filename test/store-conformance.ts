/**
 * The one conformance suite every {@link Store} must pass: the documented behaviour of each method
 * (see packages/server/src/store/store.ts) and its atomicity under concurrent callers.
 *
 * @example
 * ```ts
 * import { memoryStore } from '@consentry/server'
 * import { describeStoreConformance } from './store-conformance.ts'
 * describeStoreConformance('memory', async () => memoryStore())
 * ```
 */
import {
  type AuditEventDraft,
  appendPlan,
  auditLeafHash,
  type ClientRecord,
  foldNodes,
  type Grant,
  type GrantStatus,
  newNodes,
  rootHash,
  rootPlan,
} from '@consentry/core'
import type {
  AuditBatch,
  AuditSeal,
  AuthorizationCode,
  AuthorizationRequest,
  Interaction,
  OutboxEvent,
  RefreshTokenRecord,
  SessionRecord,
  Store,
  StoredRecord,
} from '@consentry/server'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

export interface ConformanceOptions {
  /** Runs after each test, once its stores are closed (drop its schema, remove its directory…). */
  cleanup?: () => Promise<void>
  /**
   * Opens a second, independent instance (its own connections) on the same storage as the store
   * `factory` returned last. When given, the concurrency cases run again split across both.
   */
  openSecond?: () => Promise<Store>
}

/** A fixed clock: stores never read the wall clock, so neither do these tests. */
const T = 1_700_000_000_000
const MINUTE = 60_000
const DAY = 86_400_000
const PARALLEL = 50
const HOOK_TIMEOUT = 60_000

const request = (overrides: Partial<AuthorizationRequest> = {}): AuthorizationRequest => ({
  clientId: 'client-1',
  redirectUri: 'https://lender.example/callback',
  state: 'state-1',
  codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  authorizationDetails: [
    {
      type: 'transaction_history',
      actions: ['read'],
      fields: ['amount', 'date'],
      period: { lookback_days: 90 },
      max_reads_per_day: 4,
    },
  ],
  dpopJkt: 'jkt-1',
  ...overrides,
})

const client = (clientId = 'client-1'): ClientRecord => ({
  clientId,
  clientName: 'Beacon Lending',
  redirectUris: ['https://lender.example/callback'],
  jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k1' }] },
  webhookUri: 'https://lender.example/events',
  createdAt: T,
})

const interaction = (id = 'i1', expiresAt = T + 10 * MINUTE): Interaction => ({
  id,
  request: request(),
  cookieHash: 'cookie-hash',
  csrf: 'csrf-token',
  expiresAt,
})

const code = (codeHash = 'code-hash-1', expiresAt = T + MINUTE): AuthorizationCode => ({
  codeHash,
  clientId: 'client-1',
  grantId: 'g1',
  subject: 'alice',
  redirectUri: 'https://lender.example/callback',
  codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  dpopJkt: 'jkt-1',
  expiresAt,
})

/** What `saveRecord` takes. */
type NewRecord = Omit<StoredRecord, 'consumedAt'>
const asValue = (value: object) => value as Record<string, unknown>

/** The four kinds as the server stores them (packages/server/src/store/records.ts). */
const pushedRecord = (id = 'urn:ietf:params:oauth:request_uri:r1', expiresAt = T + MINUTE): NewRecord => ({
  kind: 'pushed_request',
  id,
  value: { request: request() },
  expiresAt,
})
const interactionRecord = (id = 'i1', expiresAt = T + 10 * MINUTE): NewRecord => ({
  kind: 'interaction',
  id,
  value: asValue(interaction(id, expiresAt)),
  expiresAt,
})
const codeRecord = (id = 'code-hash-1', expiresAt = T + MINUTE): NewRecord => ({
  kind: 'code',
  id,
  owner: 'client-1',
  value: asValue(code(id, expiresAt)),
  expiresAt,
})
const session = (idHash = 'sh1', expiresAt = T + 100): SessionRecord => ({
  idHash,
  subject: 'alice',
  name: 'Alice Martin',
  createdAt: T,
  expiresAt,
})
const sessionRecord = (id = 'sh1', expiresAt = T + 100): NewRecord => ({
  kind: 'session',
  id,
  value: asValue(session(id, expiresAt)),
  expiresAt,
})

const grant = (overrides: Partial<Grant> = {}): Grant => ({
  id: 'g1',
  clientId: 'client-1',
  subject: 'alice',
  status: 'pending',
  authorizationDetails: request().authorizationDetails,
  createdAt: T,
  updatedAt: T,
  expiresAt: T + 90 * DAY,
  ...overrides,
})

const refreshToken = (overrides: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord => ({
  tokenHash: 'rt-1',
  grantId: 'g1',
  clientId: 'client-1',
  jkt: 'jkt-1',
  createdAt: T,
  expiresAt: T + 30 * DAY,
  ...overrides,
})

const draft = (overrides: Partial<AuditEventDraft> = {}): AuditEventDraft => ({
  id: `evt-${Math.random().toString(36).slice(2)}`,
  at: new Date(T).toISOString(),
  type: 'data.read',
  actor: { type: 'client', id: 'client-1' },
  grant_id: 'g1',
  client_id: 'client-1',
  subject: 'alice',
  data: { accounts: 2, transactions: 118, from: '2024-01-01', to: '2024-03-31' },
  ...overrides,
})

/**
 * The sequencer's seal, as the server computes it (without signing: the store never reads the
 * note). `delayMs` widens the window in which a second sequencer could interfere.
 */
const testSeal =
  (delayMs = 0) =>
  async (batch: AuditBatch): Promise<AuditSeal> => {
    const known = new Map(appendPlan(batch.size).map((n, i) => [`${n.level}/${n.index}`, batch.edge[i]!]))
    const nodes = newNodes(batch.size, batch.events.map(auditLeafHash), (l, i) => known.get(`${l}/${i}`)!)
    for (const n of nodes) known.set(`${n.level}/${n.index}`, n.hash)
    const size = batch.size + batch.events.length
    const root = foldNodes(rootPlan(size).map((n) => known.get(`${n.level}/${n.index}`)!))
    if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs))
    return { nodes, checkpoint: { size, root, note: `test\n${size}\n`, createdAt: T + size } }
  }

/** Integrate until nothing is pending. */
export async function integrateAll(store: Store) {
  while (await store.integrateAuditEvents(1000, testSeal())) {
    // next batch
  }
}

const times = <R>(n: number, fn: (i: number) => Promise<R>) =>
  Promise.all(Array.from({ length: n }, (_, i) => fn(i)))

export function describeStoreConformance(
  name: string,
  factory: () => Promise<Store>,
  options: ConformanceOptions = {},
): void {
  // Explicit limits: the integration project does not inherit the root config's timeouts, and
  // embedded or remote databases can be slow on a loaded machine (no test depends on speed).
  describe(`Store conformance: ${name}`, { timeout: 30_000 }, () => {
    let store: Store
    let opened: Store[] = []

    beforeEach(async () => {
      store = await factory()
      opened = [store]
    }, HOOK_TIMEOUT)
    afterEach(async () => {
      for (const s of opened) await s.close()
      opened = []
      await options.cleanup?.()
    }, HOOK_TIMEOUT)

    describe('clients', () => {
      it('creates and reads a client; unknown is null', async () => {
        await store.createClient(client())
        expect(await store.getClient('client-1')).toEqual(client())
        expect(await store.getClient('nope')).toBeNull()
      })
      it('refuses a duplicate client id', async () => {
        await store.createClient(client())
        await expect(store.createClient({ ...client(), clientName: 'Other' })).rejects.toThrow()
        expect((await store.getClient('client-1'))?.clientName).toBe('Beacon Lending')
      })
      it('stores and returns copies', async () => {
        const input = client()
        await store.createClient(input)
        input.redirectUris.push('https://evil.example/cb')
        const out = (await store.getClient('client-1'))!
        out.redirectUris.push('https://evil.example/cb2')
        out.clientName = 'changed'
        expect(await store.getClient('client-1')).toEqual(client())
      })
    })

    describe('single-use records', () => {
      it('finds a record while unexpired and unconsumed; null once expired (expiresAt <= now) or unknown', async () => {
        await store.saveRecord(sessionRecord('sh1', T + 100))
        expect(await store.findRecord('session', 'sh1', T)).toEqual(sessionRecord('sh1', T + 100))
        expect(await store.findRecord('session', 'sh1', T + 99)).toEqual(sessionRecord('sh1', T + 100))
        expect(await store.findRecord('session', 'sh1', T + 100)).toBeNull()
        expect(await store.findRecord('session', 'unknown', T)).toBeNull()
        // The owner comes back with the record; finding never consumes.
        await store.saveRecord(codeRecord())
        expect(await store.findRecord('code', 'code-hash-1', T)).toEqual(codeRecord())
        expect((await store.consumeRecord('code', 'code-hash-1', T, 'client-1'))?.status).toBe('ok')
      })
      it('keeps each kind apart: the same id in two kinds is two records', async () => {
        await store.saveRecord({ ...sessionRecord('same'), expiresAt: T + MINUTE })
        await store.saveRecord(interactionRecord('same'))
        expect((await store.findRecord('session', 'same', T))?.value).toEqual(session('same'))
        expect((await store.findRecord('interaction', 'same', T))?.value).toEqual(interaction('same'))
        expect(await store.findRecord('code', 'same', T)).toBeNull()
        expect((await store.consumeRecord('interaction', 'same', T))?.status).toBe('ok')
        expect(await store.findRecord('session', 'same', T)).not.toBeNull()
        await store.deleteRecord('session', 'same')
        expect((await store.consumeRecord('interaction', 'same', T))?.status).toBe('consumed')
      })
      it('the first consume while unexpired is ok and marks it; every later one is consumed', async () => {
        await store.saveRecord(codeRecord())
        const first = await store.consumeRecord('code', 'code-hash-1', T, 'client-1')
        expect(first).toEqual({ status: 'ok', record: { ...codeRecord(), consumedAt: T } })
        // Reuse is reported whatever the clock says, past expiry too.
        for (const now of [T, T + 1, T + 2 * MINUTE]) {
          const again = await store.consumeRecord('code', 'code-hash-1', now, 'client-1')
          expect(again).toEqual({ status: 'consumed', record: { ...codeRecord(), consumedAt: T } })
        }
        await store.saveRecord(pushedRecord())
        const id = pushedRecord().id
        expect(await store.consumeRecord('pushed_request', id, T + 5)).toEqual({
          status: 'ok',
          record: { ...pushedRecord(), consumedAt: T + 5 },
        })
        expect((await store.consumeRecord('pushed_request', id, T + 6))?.status).toBe('consumed')
      })
      it('unknown, or expired and never consumed, gives null and marks nothing', async () => {
        expect(await store.consumeRecord('code', 'unknown', T, 'client-1')).toBeNull()
        expect(await store.consumeRecord('interaction', 'unknown', T)).toBeNull()
        await store.saveRecord(codeRecord('c2', T + 10))
        expect(await store.consumeRecord('code', 'c2', T + 10, 'client-1')).toBeNull()
        expect(await store.consumeRecord('code', 'c2', T + 11, 'client-1')).toBeNull()
        // Asked "as of" an earlier time: still stored and never marked.
        expect((await store.consumeRecord('code', 'c2', T, 'client-1'))?.status).toBe('ok')
      })
      it('findRecord is null once the record is consumed', async () => {
        await store.saveRecord(interactionRecord())
        expect(await store.findRecord('interaction', 'i1', T)).not.toBeNull()
        expect((await store.consumeRecord('interaction', 'i1', T))?.status).toBe('ok')
        expect(await store.findRecord('interaction', 'i1', T)).toBeNull()
      })
      it('saving again replaces the value, owner and expiry of an unconsumed record (sign-in, pending grant)', async () => {
        await store.saveRecord(interactionRecord('i1', T + 100))
        const signedIn = asValue({ ...interaction('i1', T + 200), subject: 'alice', grantId: 'g1' })
        await store.saveRecord({ kind: 'interaction', id: 'i1', value: signedIn, expiresAt: T + 200 })
        expect(await store.findRecord('interaction', 'i1', T + 150)).toEqual({
          kind: 'interaction',
          id: 'i1',
          value: signedIn,
          expiresAt: T + 200,
        })
        // A new owner replaces the old one.
        await store.saveRecord(codeRecord())
        await store.saveRecord({ ...codeRecord(), owner: 'client-2' })
        expect((await store.consumeRecord('code', 'code-hash-1', T, 'client-1'))?.status).toBe('wrong_owner')
        expect((await store.consumeRecord('code', 'code-hash-1', T, 'client-2'))?.status).toBe('ok')
      })
      it('saving over a consumed record changes nothing (never revived)', async () => {
        await store.saveRecord(interactionRecord('i1', T + 100))
        await store.consumeRecord('interaction', 'i1', T)
        await store.saveRecord({ ...interactionRecord('i1', T + DAY), value: { other: true } })
        expect(await store.findRecord('interaction', 'i1', T)).toBeNull()
        expect(await store.consumeRecord('interaction', 'i1', T + 1)).toEqual({
          status: 'consumed',
          record: { ...interactionRecord('i1', T + 100), consumedAt: T },
        })
        // Nor is a code's owner changed: a stranger still gets wrong_owner.
        await store.saveRecord(codeRecord())
        await store.consumeRecord('code', 'code-hash-1', T, 'client-1')
        await store.saveRecord({ ...codeRecord(), owner: 'client-2' })
        expect((await store.consumeRecord('code', 'code-hash-1', T, 'client-2'))?.status).toBe('wrong_owner')
      })
      it('deleteRecord removes a record, consumed or not; unknown is a no-op (sign-out)', async () => {
        await store.saveRecord(sessionRecord('sh1'))
        await store.saveRecord(sessionRecord('sh2'))
        await store.deleteRecord('session', 'sh1')
        await store.deleteRecord('session', 'nope')
        expect(await store.findRecord('session', 'sh1', T)).toBeNull()
        expect(await store.consumeRecord('session', 'sh1', T)).toBeNull()
        expect(await store.findRecord('session', 'sh2', T)).toEqual(sessionRecord('sh2'))
        await store.saveRecord(codeRecord())
        await store.consumeRecord('code', 'code-hash-1', T, 'client-1')
        await store.deleteRecord('code', 'code-hash-1')
        expect(await store.consumeRecord('code', 'code-hash-1', T, 'client-1')).toBeNull()
      })
      it('stores and returns copies', async () => {
        const input = interactionRecord()
        await store.saveRecord(input)
        const value = input.value as unknown as Interaction
        value.csrf = 'changed'
        value.request.authorizationDetails.push({ type: 'extra' })
        const found = (await store.findRecord('interaction', 'i1', T))!
        expect(found).toEqual(interactionRecord())
        ;(found.value as unknown as Interaction).request.authorizationDetails[0]!.type = 'changed'
        found.expiresAt = T
        const consumed = (await store.consumeRecord('interaction', 'i1', T))!
        expect(consumed.record).toEqual({ ...interactionRecord(), consumedAt: T })
        consumed.record.value.csrf = 'changed'
        expect((await store.consumeRecord('interaction', 'i1', T))?.record).toEqual({
          ...interactionRecord(),
          consumedAt: T,
        })
      })
    })

    describe('grants', () => {
      it('creates and reads a grant; unknown is null; duplicates are refused', async () => {
        await store.createGrant(grant())
        expect(await store.getGrant('g1')).toEqual(grant())
        expect(await store.getGrant('nope')).toBeNull()
        await expect(store.createGrant(grant({ subject: 'mallory' }))).rejects.toThrow()
        expect((await store.getGrant('g1'))?.subject).toBe('alice')
      })
      it('keeps optional members', async () => {
        const ended = grant({
          id: 'g2',
          status: 'revoked',
          endedAt: T + 5,
          endedReason: 'revoked_by_subject',
        })
        await store.createGrant(ended)
        expect(await store.getGrant('g2')).toEqual(ended)
      })
      it('stores and returns copies', async () => {
        const input = grant()
        await store.createGrant(input)
        input.authorizationDetails.push({ type: 'extra' })
        input.status = 'active'
        const out = (await store.getGrant('g1'))!
        out.authorizationDetails[0]!.type = 'changed'
        const [listed] = await store.listGrants({ subject: 'alice' })
        listed!.status = 'revoked'
        expect(await store.getGrant('g1')).toEqual(grant())
      })
      it('transitionGrant applies the patch only from a listed status', async () => {
        await store.createGrant(grant())
        const narrowed = [{ type: 'transaction_history', fields: ['amount'] }]
        const active = await store.transitionGrant('g1', ['pending'], {
          status: 'active',
          authorizationDetails: narrowed,
          expiresAt: T + 30 * DAY,
          updatedAt: T + 1,
        })
        const expected = grant({
          status: 'active',
          authorizationDetails: narrowed,
          expiresAt: T + 30 * DAY,
          updatedAt: T + 1,
        })
        expect(active).toEqual(expected)
        expect(await store.getGrant('g1')).toEqual(expected)

        // Status does not match: nothing changes.
        expect(
          await store.transitionGrant('g1', ['pending', 'denied'], { status: 'denied', updatedAt: T + 2 }),
        ).toBeNull()
        expect(await store.getGrant('g1')).toEqual(expected)
        expect(
          await store.transitionGrant('unknown', ['pending'], { status: 'active', updatedAt: T }),
        ).toBeNull()

        const revoked = await store.transitionGrant('g1', ['active'], {
          status: 'revoked',
          updatedAt: T + 3,
          endedAt: T + 3,
          endedReason: 'revoked_by_subject',
        })
        expect(revoked).toEqual({
          ...expected,
          status: 'revoked',
          updatedAt: T + 3,
          endedAt: T + 3,
          endedReason: 'revoked_by_subject',
        })
        expect(await store.getGrant('g1')).toEqual(revoked)
        // A terminal grant accepts only transitions that list its status.
        expect(
          await store.transitionGrant('g1', ['pending', 'active'], { status: 'expired', updatedAt: T + 4 }),
        ).toBeNull()
      })
      it('transitionGrant with an empty `from` never applies', async () => {
        await store.createGrant(grant())
        expect(await store.transitionGrant('g1', [], { status: 'active', updatedAt: T + 1 })).toBeNull()
        expect((await store.getGrant('g1'))?.status).toBe('pending')
      })
      it('listGrants filters by subject and/or client, newest first', async () => {
        await store.createGrant(grant({ id: 'a1', subject: 'alice', clientId: 'c1', createdAt: T + 1 }))
        await store.createGrant(grant({ id: 'a2', subject: 'alice', clientId: 'c2', createdAt: T + 3 }))
        await store.createGrant(grant({ id: 'a3', subject: 'alice', clientId: 'c1', createdAt: T + 2 }))
        await store.createGrant(grant({ id: 'b1', subject: 'bob', clientId: 'c1', createdAt: T + 4 }))
        const ids = (gs: Grant[]) => gs.map((g) => g.id)
        expect(ids(await store.listGrants({ subject: 'alice' }))).toEqual(['a2', 'a3', 'a1'])
        expect(ids(await store.listGrants({ clientId: 'c1' }))).toEqual(['b1', 'a3', 'a1'])
        expect(ids(await store.listGrants({ subject: 'alice', clientId: 'c1' }))).toEqual(['a3', 'a1'])
        expect(ids(await store.listGrants({}))).toEqual(['b1', 'a2', 'a3', 'a1'])
        expect(await store.listGrants({ subject: 'carol' })).toEqual([])
        expect((await store.listGrants({ subject: 'bob' }))[0]).toEqual(
          grant({ id: 'b1', subject: 'bob', clientId: 'c1', createdAt: T + 4 }),
        )
      })
      it('listExpiringGrants: active or pending with expiresAt <= now, oldest first, limited', async () => {
        const mk = (id: string, status: GrantStatus, expiresAt: number) =>
          store.createGrant(grant({ id, status, expiresAt }))
        await mk('late', 'active', T + 30)
        await mk('due', 'active', T + 20)
        await mk('first', 'active', T + 10)
        await mk('boundary', 'active', T + 40)
        await mk('future', 'active', T + 41)
        await mk('pending', 'pending', T + 15)
        await mk('pending-later', 'pending', T + 99)
        await mk('revoked', 'revoked', T)
        await mk('denied', 'denied', T)
        const ids = (gs: Grant[]) => gs.map((g) => g.id)
        expect(ids(await store.listExpiringGrants(T + 40, 10))).toEqual([
          'first',
          'pending',
          'due',
          'late',
          'boundary',
        ])
        expect(ids(await store.listExpiringGrants(T + 40, 2))).toEqual(['first', 'pending'])
        expect(await store.listExpiringGrants(T, 10)).toEqual([])
        await store.transitionGrant('first', ['active'], {
          status: 'expired',
          updatedAt: T + 50,
          endedAt: T + 50,
        })
        expect(ids(await store.listExpiringGrants(T + 40, 10))).toEqual([
          'pending',
          'due',
          'late',
          'boundary',
        ])
      })
    })

    describe('grants: amendments and expiry reminders', () => {
      it('transitionGrant with ifUpdatedAt applies only to the grant as it was read', async () => {
        await store.createGrant(grant({ status: 'active', updatedAt: T + 5 }))
        const after = [{ type: 'transaction_history', fields: ['amount'] }]
        // Read at T + 4, changed at T + 5 since: refused, nothing changes.
        expect(
          await store.transitionGrant(
            'g1',
            ['active'],
            { authorizationDetails: after, updatedAt: T + 6 },
            { ifUpdatedAt: T + 4 },
          ),
        ).toBeNull()
        expect(await store.getGrant('g1')).toEqual(grant({ status: 'active', updatedAt: T + 5 }))
        const amended = await store.transitionGrant(
          'g1',
          ['active'],
          { authorizationDetails: after, updatedAt: T + 6 },
          { ifUpdatedAt: T + 5 },
        )
        expect(amended).toEqual(grant({ status: 'active', authorizationDetails: after, updatedAt: T + 6 }))
        // The condition joins the status check and the outbox effect: all or nothing.
        const ev: OutboxEvent = {
          id: 'amended-1',
          clientId: 'client-1',
          grantId: 'g1',
          url: 'https://lender.example/events',
          body: 'h.p.s',
          attempts: 0,
          nextAttemptAt: T,
          createdAt: T,
        }
        expect(
          await store.transitionGrant(
            'g1',
            ['active'],
            { updatedAt: T + 7 },
            { ifUpdatedAt: T + 5, outbox: ev },
          ),
        ).toBeNull()
        expect(await store.claimEvents(T, 10, MINUTE)).toEqual([])
        expect(
          await store.transitionGrant(
            'g1',
            ['active'],
            { updatedAt: T + 7 },
            { ifUpdatedAt: T + 6, outbox: ev },
          ),
        ).toMatchObject({ updatedAt: T + 7 })
        expect((await store.claimEvents(T, 10, MINUTE)).map((e) => e.id)).toEqual(['amended-1'])
      })
      it('listGrantsToRemind: active, expiring in (now, before], not yet reminded of that expiry', async () => {
        const mk = (id: string, status: GrantStatus, expiresAt: number) =>
          store.createGrant(grant({ id, status, expiresAt }))
        await mk('soon', 'active', T + 2 * DAY)
        await mk('sooner', 'active', T + DAY)
        await mk('boundary', 'active', T + 7 * DAY)
        await mk('later', 'active', T + 7 * DAY + 1)
        await mk('past', 'active', T)
        await mk('pending', 'pending', T + DAY)
        await mk('revoked', 'revoked', T + DAY)
        const ids = (gs: Grant[]) => gs.map((g) => g.id)
        expect(ids(await store.listGrantsToRemind(T, T + 7 * DAY, 10))).toEqual([
          'sooner',
          'soon',
          'boundary',
        ])
        expect(ids(await store.listGrantsToRemind(T, T + 7 * DAY, 1))).toEqual(['sooner'])
        expect(await store.listGrantsToRemind(T, T + 7 * DAY, 1)).toEqual([
          grant({ id: 'sooner', status: 'active', expiresAt: T + DAY }),
        ])
        expect(await store.markGrantReminded('sooner', T + DAY)).toBe(true)
        expect(ids(await store.listGrantsToRemind(T, T + 7 * DAY, 10))).toEqual(['soon', 'boundary'])
        // A renewal moves the expiry: due again for the new one.
        await store.transitionGrant('sooner', ['active'], { expiresAt: T + 3 * DAY, updatedAt: T + 1 })
        expect(ids(await store.listGrantsToRemind(T, T + 7 * DAY, 10))).toEqual([
          'soon',
          'sooner',
          'boundary',
        ])
        // Reminding changes nothing a grant reader sees.
        expect(await store.getGrant('soon')).toEqual(
          grant({ id: 'soon', status: 'active', expiresAt: T + 2 * DAY }),
        )
      })
      it('markGrantReminded marks once per expiry, only an active grant at that expiry, with its event', async () => {
        await store.createGrant(grant({ status: 'active', expiresAt: T + DAY }))
        await store.createGrant(grant({ id: 'g2', status: 'revoked', expiresAt: T + DAY }))
        const ev = (id: string): OutboxEvent => ({
          id,
          clientId: 'client-1',
          grantId: 'g1',
          url: 'https://lender.example/events',
          body: `h.${id}.s`,
          attempts: 0,
          nextAttemptAt: T,
          createdAt: T,
        })
        expect(await store.markGrantReminded('g1', T + 2 * DAY, ev('wrong-expiry'))).toBe(false)
        expect(await store.markGrantReminded('g2', T + DAY, ev('ended'))).toBe(false)
        expect(await store.markGrantReminded('nope', T + DAY, ev('unknown'))).toBe(false)
        expect(await store.markGrantReminded('g1', T + DAY, ev('first'))).toBe(true)
        expect(await store.markGrantReminded('g1', T + DAY, ev('second'))).toBe(false)
        expect((await store.claimEvents(T, 10, MINUTE)).map((e) => e.id)).toEqual(['first'])
        expect(await store.getGrant('g1')).toEqual(grant({ status: 'active', expiresAt: T + DAY }))
      })
    })

    describe('refresh tokens', () => {
      it('saves and reads; unknown is null; copies', async () => {
        await store.saveRefreshToken(refreshToken())
        const out = (await store.getRefreshToken('rt-1'))!
        expect(out).toEqual(refreshToken())
        out.grantId = 'changed'
        expect(await store.getRefreshToken('rt-1')).toEqual(refreshToken())
        expect(await store.getRefreshToken('nope')).toBeNull()
      })
      it('rotation marks the old token used and saves the next one', async () => {
        await store.saveRefreshToken(refreshToken())
        const next = refreshToken({ tokenHash: 'rt-2', createdAt: T + 5 })
        const result = await store.rotateRefreshToken('rt-1', next, T + 5)
        expect(result).toEqual({ status: 'ok', token: refreshToken({ usedAt: T + 5 }) })
        expect(await store.getRefreshToken('rt-1')).toEqual(refreshToken({ usedAt: T + 5 }))
        expect(await store.getRefreshToken('rt-2')).toEqual(next)
      })
      it('rotating a used token reports reuse and saves nothing', async () => {
        await store.saveRefreshToken(refreshToken())
        await store.rotateRefreshToken('rt-1', refreshToken({ tokenHash: 'rt-2' }), T + 5)
        const again = await store.rotateRefreshToken('rt-1', refreshToken({ tokenHash: 'rt-3' }), T + 6)
        expect(again).toEqual({ status: 'reused', token: refreshToken({ usedAt: T + 5 }) })
        expect(await store.getRefreshToken('rt-3')).toBeNull()
      })
      it('unknown, expired (expiresAt <= now) or revoked tokens give null and save nothing', async () => {
        expect(await store.rotateRefreshToken('nope', refreshToken({ tokenHash: 'n1' }), T)).toBeNull()
        await store.saveRefreshToken(refreshToken({ tokenHash: 'old', expiresAt: T + 10 }))
        expect(await store.rotateRefreshToken('old', refreshToken({ tokenHash: 'n2' }), T + 10)).toBeNull()
        await store.saveRefreshToken(refreshToken({ tokenHash: 'revoked', revokedAt: T }))
        expect(await store.rotateRefreshToken('revoked', refreshToken({ tokenHash: 'n3' }), T + 1)).toBeNull()
        for (const h of ['n1', 'n2', 'n3']) expect(await store.getRefreshToken(h)).toBeNull()
        expect((await store.getRefreshToken('old'))?.usedAt).toBeUndefined()
      })
      it('revokeRefreshTokens revokes every token of the grant; rotation then gives null', async () => {
        await store.saveRefreshToken(refreshToken({ tokenHash: 'a' }))
        await store.saveRefreshToken(refreshToken({ tokenHash: 'b', revokedAt: T - 1 }))
        await store.saveRefreshToken(refreshToken({ tokenHash: 'other', grantId: 'g2' }))
        await store.rotateRefreshToken('a', refreshToken({ tokenHash: 'c' }), T + 1)
        await store.revokeRefreshTokens('g1', T + 2)
        expect((await store.getRefreshToken('a'))?.revokedAt).toBe(T + 2)
        expect((await store.getRefreshToken('b'))?.revokedAt).toBe(T - 1) // already revoked: unchanged
        expect((await store.getRefreshToken('c'))?.revokedAt).toBe(T + 2)
        expect((await store.getRefreshToken('other'))?.revokedAt).toBeUndefined()
        // Revoked wins over used: no reuse report, no new token.
        expect(await store.rotateRefreshToken('a', refreshToken({ tokenHash: 'd' }), T + 3)).toBeNull()
        expect(await store.rotateRefreshToken('c', refreshToken({ tokenHash: 'e' }), T + 3)).toBeNull()
        expect(await store.getRefreshToken('e')).toBeNull()
        expect(
          (await store.rotateRefreshToken('other', refreshToken({ tokenHash: 'f', grantId: 'g2' }), T + 3))
            ?.status,
        ).toBe('ok')
      })
    })

    describe('replay protection', () => {
      it('recordJti is true once per key, false on replay', async () => {
        expect(await store.recordJti('client-1:jti-1', T + MINUTE)).toBe(true)
        expect(await store.recordJti('client-1:jti-1', T + MINUTE)).toBe(false)
        expect(await store.recordJti('client-1:jti-1', T + 2 * MINUTE)).toBe(false)
        expect(await store.recordJti('client-2:jti-1', T + MINUTE)).toBe(true)
      })
    })

    describe('read quota', () => {
      it('allows `limit` reads in the sliding window (now - windowMs, now], then says when to retry', async () => {
        expect(await store.consumeReadQuota('g1', T, 3, 1000)).toEqual({ allowed: true, used: 1 })
        expect(await store.consumeReadQuota('g1', T + 100, 3, 1000)).toEqual({ allowed: true, used: 2 })
        expect(await store.consumeReadQuota('g1', T + 200, 3, 1000)).toEqual({ allowed: true, used: 3 })
        expect(await store.consumeReadQuota('g1', T + 300, 3, 1000)).toEqual({
          allowed: false,
          retryAfterMs: 700,
        })
        // Refused reads are not counted.
        expect(await store.consumeReadQuota('g1', T + 999, 3, 1000)).toEqual({
          allowed: false,
          retryAfterMs: 1,
        })
        // At T + 1000 the read at T has left the window.
        expect(await store.consumeReadQuota('g1', T + 1000, 3, 1000)).toEqual({ allowed: true, used: 3 })
        expect(await store.consumeReadQuota('g1', T + 1001, 3, 1000)).toEqual({
          allowed: false,
          retryAfterMs: 99,
        })
      })
      it('counts each grant separately', async () => {
        expect(await store.consumeReadQuota('g1', T, 1, DAY)).toEqual({ allowed: true, used: 1 })
        expect((await store.consumeReadQuota('g1', T + 1, 1, DAY)).allowed).toBe(false)
        expect(await store.consumeReadQuota('g2', T + 1, 1, DAY)).toEqual({ allowed: true, used: 1 })
      })
      it('a later call with a longer window counts the older reads back in; a shorter one leaves them out', async () => {
        await store.consumeReadQuota('g1', T, 10, 1000)
        await store.consumeReadQuota('g1', T + 1500, 10, 1000)
        expect(await store.consumeReadQuota('g1', T + 2000, 10, 1000)).toEqual({ allowed: true, used: 2 })
        expect(await store.consumeReadQuota('g1', T + 2001, 10, 5000)).toEqual({ allowed: true, used: 4 })
        expect(await store.consumeReadQuota('g1', T + 2002, 10, 100)).toEqual({ allowed: true, used: 3 })
        // An earlier `now` than the last call's (another instance's clock): still exact.
        expect(await store.consumeReadQuota('g1', T + 1600, 3, 1000)).toEqual({
          allowed: false,
          retryAfterMs: 900,
        })
      })
      it('a limit of 0 refuses everything with a positive retryAfterMs', async () => {
        const r = await store.consumeReadQuota('g1', T, 0, DAY)
        expect(r.allowed).toBe(false)
        if (!r.allowed) expect(r.retryAfterMs).toBeGreaterThanOrEqual(1)
      })
    })

    describe('server secrets', () => {
      it('creates once and returns the stored value after', async () => {
        let calls = 0
        const create = () => `secret-${++calls}`
        expect(await store.getOrCreateSecret('cookie-key', create)).toBe('secret-1')
        expect(await store.getOrCreateSecret('cookie-key', create)).toBe('secret-1')
        expect(calls).toBe(1)
        expect(await store.getOrCreateSecret('other', () => 'x')).toBe('x')
      })
    })

    describe('audit log', () => {
      it('appends by inserting: increasing seqs, pending (no index), the draft stored as given', async () => {
        const d = draft()
        const first = await store.appendAuditEvent(d)
        expect(first).toEqual({ ...d, seq: first.seq })
        const second = await store.appendAuditEvent(draft({ type: 'grant.revoked', data: {} }))
        expect(second.seq).toBeGreaterThan(first.seq)
        expect(second).not.toHaveProperty('index')
        expect((await store.listAuditEvents({ pending: true })).map((e) => e.seq)).toEqual([
          first.seq,
          second.seq,
        ])
      })
      it('stores events exactly: listing reproduces the JSON, before and after integration', async () => {
        const tricky = {
          zeta: 1,
          alpha: [3, 2.5, -0.1, 1e21, 9007199254740991, 0, -7, true, false, null],
          nested: { b: { d: 'x', c: 'y' }, a: [] as never[], e: {} },
          text: 'Zoë — 中文 \u{1F600} "quotes" \\ \n\t <b>&amp;</b> \u0001 \u0000',
          '': 'empty key',
          small: 1e-7,
          negZero: -0,
        }
        const appended = [
          await store.appendAuditEvent(draft({ data: tricky })),
          await store.appendAuditEvent(draft({ actor: { type: 'system' }, grant_id: undefined, data: {} })),
          await store.appendAuditEvent(
            draft({ type: 'holder.custom_event', actor: { type: 'holder', id: 'ops' } }),
          ),
        ]
        const listed = await store.listAuditEvents({})
        expect(listed.map((e) => JSON.stringify(e))).toEqual(appended.map((e) => JSON.stringify(e)))
        await integrateAll(store)
        const integrated = await store.listAuditEvents({ afterIndex: -1 })
        expect(integrated.map((e) => auditLeafHash(e))).toEqual(appended.map((e) => auditLeafHash(e)))
        expect(integrated.map((e) => e.index)).toEqual([0, 1, 2])
      })
      it('returns copies and does not keep the draft by reference', async () => {
        const d = draft()
        const sealed = await store.appendAuditEvent(d)
        d.data.accounts = 99
        sealed.data.accounts = 98
        sealed.actor.id = 'changed'
        const [listed] = await store.listAuditEvents({})
        expect(listed!.data.accounts).toBe(2)
        expect(listed!.actor.id).toBe('client-1')
        listed!.data.accounts = 97
        expect((await store.listAuditEvents({}))[0]!.data.accounts).toBe(2)
      })
      it('lists in seq order with filters, afterSeq paging and limit; pending and integrated alike', async () => {
        const rows = [
          { grant_id: 'g1', subject: 'alice', client_id: 'c1', type: 'grant.created' },
          { grant_id: 'g2', subject: 'bob', client_id: 'c1', type: 'grant.created' },
          { grant_id: 'g1', subject: 'alice', client_id: 'c1', type: 'data.read' },
          { grant_id: 'g3', subject: 'alice', client_id: 'c2', type: 'data.read' },
          { grant_id: 'g1', subject: 'alice', client_id: 'c1', type: 'grant.revoked' },
          { grant_id: undefined, subject: undefined, client_id: 'c2', type: 'client.registered' },
        ]
        const seq: number[] = []
        for (const [i, r] of rows.entries()) {
          seq.push((await store.appendAuditEvent(draft(r))).seq)
          if (i === 2) await integrateAll(store) // the first three integrated, the rest pending
        }
        const at = (...ns: number[]) => ns.map((n) => seq[n - 1])
        const seqs = async (q: Parameters<Store['listAuditEvents']>[0]) =>
          (await store.listAuditEvents(q)).map((e) => e.seq)
        expect(await seqs({})).toEqual(at(1, 2, 3, 4, 5, 6))
        expect(await seqs({ grantId: 'g1' })).toEqual(at(1, 3, 5))
        expect(await seqs({ subject: 'alice' })).toEqual(at(1, 3, 4, 5))
        expect(await seqs({ clientId: 'c2' })).toEqual(at(4, 6))
        expect(await seqs({ types: ['data.read', 'grant.revoked'] })).toEqual(at(3, 4, 5))
        expect(await seqs({ types: [] })).toEqual([])
        expect(await seqs({ afterSeq: seq[1]! })).toEqual(at(3, 4, 5, 6))
        expect(await seqs({ afterSeq: seq[5]! })).toEqual([])
        expect(await seqs({ limit: 2 })).toEqual(at(1, 2))
        expect(await seqs({ afterSeq: seq[1]!, limit: 2 })).toEqual(at(3, 4))
        expect(await seqs({ subject: 'alice', afterSeq: seq[0]!, limit: 2 })).toEqual(at(3, 4))
        expect(await seqs({ subject: 'alice', clientId: 'c1', types: ['data.read'] })).toEqual(at(3))
        expect(await seqs({ grantId: 'nope' })).toEqual([])
        expect(await seqs({ pending: true })).toEqual(at(4, 5, 6))
        expect(await seqs({ afterIndex: -1 })).toEqual(at(1, 2, 3))
        expect(await seqs({ grantId: 'g1', afterIndex: 0 })).toEqual(at(3))
        expect(await seqs({ belowIndex: 2 })).toEqual(at(1, 2))
      })
      it('integrates in batches: indexes in seq order, nodes and checkpoints stored', async () => {
        expect(await store.getAuditCheckpoint()).toBeNull()
        // An empty log still gets its size-0 checkpoint, once.
        expect((await store.integrateAuditEvents(3, testSeal()))?.size).toBe(0)
        expect(await store.integrateAuditEvents(3, testSeal())).toBeNull()
        const events = []
        for (let i = 0; i < 7; i++) events.push(await store.appendAuditEvent(draft({ data: { i } })))
        expect((await store.integrateAuditEvents(3, testSeal()))?.size).toBe(3)
        expect((await store.integrateAuditEvents(3, testSeal()))?.size).toBe(6)
        const last = await store.integrateAuditEvents(3, testSeal())
        expect(last?.size).toBe(7)
        expect(await store.integrateAuditEvents(3, testSeal())).toBeNull()
        const leaves = events.map((e) => auditLeafHash(e))
        expect(last?.root).toEqual(rootHash(leaves))
        expect(await store.getAuditCheckpoint()).toEqual(last)
        expect(
          await store.getAuditNodes([
            { level: 0, index: 6 },
            { level: 2, index: 0 },
            { level: 0, index: 0 },
          ]),
        ).toEqual([leaves[6], rootHash(leaves.slice(0, 4)), leaves[0]])
        await expect(store.getAuditNodes([{ level: 3, index: 0 }])).rejects.toThrow()
        expect((await store.listAuditEvents({})).map((e) => e.index)).toEqual([0, 1, 2, 3, 4, 5, 6])
      })
      it('a failing seal integrates nothing', async () => {
        await store.appendAuditEvent(draft())
        await expect(
          store.integrateAuditEvents(10, async () => {
            throw new Error('signer down')
          }),
        ).rejects.toThrow('signer down')
        expect(await store.getAuditCheckpoint()).toBeNull()
        expect(await store.listAuditEvents({ pending: true })).toHaveLength(1)
        await integrateAll(store)
        expect((await store.getAuditCheckpoint())?.size).toBe(1)
      })
      it('one sequencer at a time: concurrent steps never give an index twice', async () => {
        for (let i = 0; i < 20; i++) await store.appendAuditEvent(draft({ data: { i } }))
        await store.integrateAuditEvents(1, testSeal())
        const results = await Promise.all(
          Array.from({ length: 5 }, () => store.integrateAuditEvents(4, testSeal(20))),
        )
        const sizes = results.filter((r) => r !== null).map((r) => r!.size)
        expect(sizes.length).toBeGreaterThanOrEqual(1)
        await integrateAll(store)
        const listed = await store.listAuditEvents({ afterIndex: -1 })
        expect(listed.map((e) => e.index)).toEqual(Array.from({ length: 20 }, (_, i) => i))
        expect((await store.getAuditCheckpoint())?.root).toEqual(
          rootHash(listed.map((e) => auditLeafHash(e))),
        )
      })
      it('an empty log lists nothing', async () => {
        expect(await store.listAuditEvents({})).toEqual([])
        expect(await store.getAuditCheckpoint()).toBeNull()
      })
    })

    describe('outbox', () => {
      const ev = (id: string, over: Partial<OutboxEvent> = {}): OutboxEvent => ({
        id,
        clientId: 'c1',
        grantId: 'g1',
        url: 'https://rp.example/events',
        body: `h.${id}.s`,
        attempts: 0,
        nextAttemptAt: T,
        createdAt: T,
        ...over,
      })
      it('claims due events once per lease, oldest first, as copies', async () => {
        await store.enqueueEvent(ev('b', { createdAt: T + 1 }))
        await store.enqueueEvent(ev('a'))
        await store.enqueueEvent(ev('later', { nextAttemptAt: T + 10 }))
        const claimed = await store.claimEvents(T, 10, MINUTE)
        expect(claimed.map((e) => e.id)).toEqual(['a', 'b'])
        expect(claimed[0]).toEqual({ ...ev('a'), nextAttemptAt: T + MINUTE })
        claimed[0]!.body = 'changed'
        expect(await store.claimEvents(T + 5, 10, MINUTE)).toEqual([]) // leased
        expect((await store.claimEvents(T + 10, 10, MINUTE)).map((e) => e.id)).toEqual(['later'])
        // The lease ran out without a delivery (an instance died): the event comes back.
        const again = await store.claimEvents(T + MINUTE, 1, MINUTE)
        expect(again.map((e) => e.id)).toEqual(['a'])
        expect(again[0]!.body).toBe('h.a.s')
      })
      it('reschedules and deletes', async () => {
        await store.enqueueEvent(ev('x'))
        await store.claimEvents(T, 10, MINUTE)
        await store.rescheduleEvent('x', 1, T + 5)
        expect(await store.claimEvents(T + 4, 10, MINUTE)).toEqual([])
        const [x] = await store.claimEvents(T + 5, 10, MINUTE)
        expect(x).toMatchObject({ id: 'x', attempts: 1 })
        await store.deleteEvent('x')
        expect(await store.claimEvents(T + DAY, 10, MINUTE)).toEqual([])
      })
    })

    describe('deleteExpired', () => {
      it('drops unconsumed records once expired (expiresAt <= now), keeps live ones', async () => {
        for (const make of [pushedRecord, interactionRecord, codeRecord, sessionRecord]) {
          await store.saveRecord(make('dead', T + 100))
          await store.saveRecord(make('live', T + 101))
        }
        await store.deleteExpired(T + 100)
        // Asking "as of" an earlier time shows whether the record is still stored.
        for (const kind of ['pushed_request', 'interaction', 'code', 'session'] as const) {
          expect(await store.findRecord(kind, 'dead', T)).toBeNull()
          expect(await store.findRecord(kind, 'live', T)).not.toBeNull()
        }
      })
      it('keeps consumed records a day past expiry so reuse is still reported', async () => {
        await store.saveRecord(codeRecord('used', T + MINUTE))
        await store.saveRecord(codeRecord('live', T + 2 * DAY))
        await store.consumeRecord('code', 'used', T, 'client-1')
        // Consumed, then expired: still consumed until deleteExpired drops it a day later.
        await store.deleteExpired(T + MINUTE + DAY - 1)
        const late = await store.consumeRecord('code', 'used', T + MINUTE + DAY - 1, 'client-1')
        expect(late?.status).toBe('consumed')
        await store.deleteExpired(T + MINUTE + DAY)
        expect(await store.consumeRecord('code', 'used', T + MINUTE + DAY, 'client-1')).toBeNull()
        expect((await store.consumeRecord('code', 'live', T, 'client-1'))?.status).toBe('ok')
      })
      it('forgets expired jtis only', async () => {
        await store.recordJti('dead', T + 100)
        await store.recordJti('live', T + 101)
        await store.deleteExpired(T + 100)
        expect(await store.recordJti('dead', T + 200)).toBe(true)
        expect(await store.recordJti('live', T + 200)).toBe(false)
      })
      it('drops read-quota rows older than 48 hours', async () => {
        const window = 100 * 3_600_000 // longer than the retention, to observe the deletion
        await store.consumeReadQuota('g1', T, 2, window)
        await store.consumeReadQuota('g1', T + 47 * 3_600_000, 2, window)
        await store.deleteExpired(T + 48 * 3_600_000 + 1)
        expect(await store.consumeReadQuota('g1', T + 48 * 3_600_000 + 1, 2, window)).toEqual({
          allowed: true,
          used: 2,
        })
      })
      it('never touches grants, refresh tokens, secrets or the audit trail', async () => {
        await store.createGrant(grant({ status: 'active', expiresAt: T }))
        await store.saveRefreshToken(refreshToken({ expiresAt: T }))
        await store.getOrCreateSecret('k', () => 'v')
        const e = await store.appendAuditEvent(draft())
        await store.deleteExpired(T + 365 * DAY)
        expect(await store.getGrant('g1')).not.toBeNull()
        expect(await store.getRefreshToken('rt-1')).not.toBeNull()
        expect(await store.getOrCreateSecret('k', () => 'other')).toBe('v')
        expect(await store.listAuditEvents({})).toEqual([e])
      })
    })

    describe('single-use records: only the owner consumes', () => {
      it('another owner gets wrong_owner and the record stays untouched; the owner then consumes it', async () => {
        await store.saveRecord(codeRecord())
        for (const now of [T, T + 1]) {
          const stranger = await store.consumeRecord('code', 'code-hash-1', now, 'client-2')
          expect(stranger).toEqual({ status: 'wrong_owner', record: codeRecord() })
        }
        expect(await store.findRecord('code', 'code-hash-1', T + 2)).toEqual(codeRecord())
        const owner = await store.consumeRecord('code', 'code-hash-1', T + 2, 'client-1')
        expect(owner).toEqual({ status: 'ok', record: { ...codeRecord(), consumedAt: T + 2 } })
      })
      it('another owner presenting a consumed record gets wrong_owner, not consumed; the owner’s is consumed', async () => {
        await store.saveRecord(codeRecord())
        expect((await store.consumeRecord('code', 'code-hash-1', T, 'client-1'))?.status).toBe('ok')
        expect((await store.consumeRecord('code', 'code-hash-1', T, 'client-2'))?.status).toBe('wrong_owner')
        expect((await store.consumeRecord('code', 'code-hash-1', T, 'client-1'))?.status).toBe('consumed')
      })
      it('an unknown record is null for anyone; another owner’s expired one is still wrong_owner', async () => {
        expect(await store.consumeRecord('code', 'unknown', T, 'client-2')).toBeNull()
        await store.saveRecord(codeRecord('c2', T + 10))
        expect((await store.consumeRecord('code', 'c2', T + 10, 'client-2'))?.status).toBe('wrong_owner')
        expect(await store.consumeRecord('code', 'c2', T + 10, 'client-1')).toBeNull()
      })
      it('a record without an owner is anyone’s; without an owner argument nothing is checked', async () => {
        await store.saveRecord(interactionRecord())
        expect((await store.consumeRecord('interaction', 'i1', T, 'client-2'))?.status).toBe('ok')
        expect((await store.consumeRecord('interaction', 'i1', T, 'client-3'))?.status).toBe('consumed')
        await store.saveRecord(codeRecord())
        expect((await store.consumeRecord('code', 'code-hash-1', T))?.status).toBe('ok')
      })
      it('under concurrency, strangers never win and never mark it: exactly one owner call is ok', async () => {
        await store.saveRecord(codeRecord())
        const results = await times(20, (i) =>
          store.consumeRecord('code', 'code-hash-1', T, i % 2 ? 'client-2' : 'client-1'),
        )
        expect(results.filter((r, i) => i % 2 === 1 && r?.status !== 'wrong_owner')).toHaveLength(0)
        expect(results.filter((r) => r?.status === 'ok')).toHaveLength(1)
        expect(results.filter((r) => r?.status === 'consumed')).toHaveLength(9)
      })
    })

    describe('client name skeletons and logos', () => {
      it('finds clients by name skeleton, oldest first, bounded; none without a skeleton', async () => {
        await store.createClient({ ...client('c2'), nameSkeleton: 'beaconlending', createdAt: T + 2 })
        await store.createClient({ ...client('c1'), nameSkeleton: 'beaconlending', createdAt: T + 1 })
        await store.createClient({
          ...client('c3'),
          clientName: 'Other',
          nameSkeleton: 'other',
          createdAt: T,
        })
        await store.createClient(client('c4')) // registered without a skeleton
        const found = await store.findClientsByNameSkeleton('beaconlending', 10)
        expect(found.map((c) => c.clientId)).toEqual(['c1', 'c2'])
        expect(found[0]).toEqual({ ...client('c1'), nameSkeleton: 'beaconlending', createdAt: T + 1 })
        expect((await store.findClientsByNameSkeleton('beaconlending', 1)).map((c) => c.clientId)).toEqual([
          'c1',
        ])
        expect(await store.findClientsByNameSkeleton('nobody', 10)).toEqual([])
      })
      it('stores a logo byte for byte, replaces it, and returns null for none', async () => {
        const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 255, 10, 13, 0x7f])
        expect(await store.getClientLogo('client-1')).toBeNull()
        await store.saveClientLogo({ clientId: 'client-1', contentType: 'image/png', bytes, createdAt: T })
        const got = await store.getClientLogo('client-1')
        expect(got).toEqual({ clientId: 'client-1', contentType: 'image/png', bytes, createdAt: T })
        got!.bytes[0] = 0
        expect((await store.getClientLogo('client-1'))!.bytes[0]).toBe(0x89)
        const big = new Uint8Array(256 * 1024).map((_, i) => i % 251)
        await store.saveClientLogo({
          clientId: 'client-1',
          contentType: 'image/webp',
          bytes: big,
          createdAt: T + 1,
        })
        expect(await store.getClientLogo('client-1')).toEqual({
          clientId: 'client-1',
          contentType: 'image/webp',
          bytes: big,
          createdAt: T + 1,
        })
      })
    })

    describe('sign-in failures', () => {
      it('recordFailure counts in a fixed window from the first failure, with the previous failure time', async () => {
        expect(await store.getFailures('k', T, MINUTE)).toBeNull()
        expect(await store.recordFailure('k', T, MINUTE)).toEqual({ count: 1, firstAt: T, lastAt: T })
        expect(await store.recordFailure('k', T + 10, MINUTE)).toEqual({
          count: 2,
          firstAt: T,
          lastAt: T + 10,
          previousAt: T,
        })
        expect(await store.recordFailure('k', T + 30, MINUTE)).toEqual({
          count: 3,
          firstAt: T,
          lastAt: T + 30,
          previousAt: T + 10,
        })
        expect(await store.getFailures('k', T + 40, MINUTE)).toEqual({ count: 3, firstAt: T, lastAt: T + 30 })
        // The window opened at T; at T + MINUTE it is over: nothing to read, and the next failure
        // opens a new window at count 1.
        expect(await store.getFailures('k', T + MINUTE - 1, MINUTE)).not.toBeNull()
        expect(await store.getFailures('k', T + MINUTE, MINUTE)).toBeNull()
        expect(await store.recordFailure('k', T + MINUTE, MINUTE)).toEqual({
          count: 1,
          firstAt: T + MINUTE,
          lastAt: T + MINUTE,
        })
      })
      it('counts each key separately; clearFailures forgets one key; forgiveFailure takes one back', async () => {
        await store.recordFailure('a', T, MINUTE)
        await store.recordFailure('a', T + 1, MINUTE)
        await store.recordFailure('a', T + 2, MINUTE)
        await store.recordFailure('b', T, MINUTE)
        await store.forgiveFailure('a')
        expect(await store.getFailures('a', T + 3, MINUTE)).toEqual({ count: 2, firstAt: T, lastAt: T + 2 })
        await store.clearFailures('a')
        expect(await store.getFailures('a', T + 3, MINUTE)).toBeNull()
        expect((await store.getFailures('b', T + 3, MINUTE))?.count).toBe(1)
        // Never below zero, and unknown keys are no-ops.
        await store.forgiveFailure('b')
        await store.forgiveFailure('b')
        await store.forgiveFailure('unknown')
        await store.clearFailures('unknown')
        expect((await store.getFailures('b', T + 3, MINUTE))?.count).toBe(0)
        expect((await store.recordFailure('b', T + 4, MINUTE)).count).toBe(1)
      })
      it('deleteExpired removes failure windows idle for 48 hours', async () => {
        const long = 100 * 3_600_000 // longer than the retention, to observe the deletion
        await store.recordFailure('old', T, long)
        await store.recordFailure('recent', T, long)
        await store.recordFailure('recent', T + 47 * 3_600_000, long)
        await store.deleteExpired(T + 48 * 3_600_000)
        expect(await store.getFailures('old', T + 1, long)).toBeNull()
        expect((await store.getFailures('recent', T + 1, long))?.count).toBe(2)
      })
    })

    describeGrantEndAndSecrets(() => store)

    describe('read path: recordJtiAndGetGrant', () => {
      it('records the jti once and returns the grant as getGrant does', async () => {
        await store.createGrant(grant({ status: 'active' }))
        const first = await store.recordJtiAndGetGrant('dpop:k:j1', T + MINUTE, 'g1')
        expect(first).toEqual({ firstUse: true, grant: await store.getGrant('g1') })
        expect(first.grant).toEqual(grant({ status: 'active' }))
        const replay = await store.recordJtiAndGetGrant('dpop:k:j1', T + MINUTE, 'g1')
        expect(replay.firstUse).toBe(false)
        // Shares recordJti's record: either way round, a key is first used only once.
        expect(await store.recordJti('dpop:k:j1', T + MINUTE)).toBe(false)
        expect(await store.recordJti('dpop:k:j2', T + MINUTE)).toBe(true)
        expect((await store.recordJtiAndGetGrant('dpop:k:j2', T + MINUTE, 'g1')).firstUse).toBe(false)
      })
      it('sees a transition committed before it (revocation is immediate); unknown grant is null', async () => {
        await store.createGrant(grant({ status: 'active' }))
        await store.transitionGrant('g1', ['active'], { status: 'revoked', updatedAt: T + 1, endedAt: T + 1 })
        const r = await store.recordJtiAndGetGrant('dpop:k:j3', T + MINUTE, 'g1')
        expect(r.firstUse).toBe(true)
        expect(r.grant?.status).toBe('revoked')
        expect(r.grant?.endedAt).toBe(T + 1)
        expect(await store.recordJtiAndGetGrant('dpop:k:j4', T + MINUTE, 'nope')).toEqual({
          firstUse: true,
          grant: null,
        })
      })
      it('counts a claimed read in the same step, only for a first-used jti and a usable grant of the client', async () => {
        await store.createGrant(grant({ status: 'active' }))
        const claim = { key: 'attended:g1', clientId: 'client-1', now: T, limit: 2, windowMs: DAY }
        const first = await store.recordJtiAndGetGrant('dpop:k:c1', T + MINUTE, 'g1', claim)
        expect(first).toEqual({
          firstUse: true,
          grant: await store.getGrant('g1'),
          quota: { allowed: true, used: 1 },
        })
        // A replayed proof counts nothing.
        expect(await store.recordJtiAndGetGrant('dpop:k:c1', T + MINUTE, 'g1', claim)).not.toHaveProperty(
          'quota',
        )
        // Another client's claim, an unknown grant, an expired grant: nothing counted.
        expect(
          await store.recordJtiAndGetGrant('dpop:k:c2', T + MINUTE, 'g1', { ...claim, clientId: 'client-2' }),
        ).not.toHaveProperty('quota')
        expect(await store.recordJtiAndGetGrant('dpop:k:c3', T + MINUTE, 'nope', claim)).not.toHaveProperty(
          'quota',
        )
        const late = { ...claim, now: grant().expiresAt }
        expect(await store.recordJtiAndGetGrant('dpop:k:c4', T + MINUTE, 'g1', late)).not.toHaveProperty(
          'quota',
        )
        // The same count as consumeReadQuota's: one more allowed, then refused with the retry time.
        expect(await store.consumeReadQuota('attended:g1', T + 10, 2, DAY)).toEqual({
          allowed: true,
          used: 2,
        })
        expect(
          (await store.recordJtiAndGetGrant('dpop:k:c5', T + MINUTE, 'g1', { ...claim, now: T + 20 })).quota,
        ).toEqual({
          allowed: false,
          retryAfterMs: DAY - 20,
        })
        // A revoked grant: nothing counted.
        await store.transitionGrant('g1', ['active'], { status: 'revoked', updatedAt: T + 1, endedAt: T + 1 })
        await store.releaseReadQuota('attended:g1', T)
        expect(await store.recordJtiAndGetGrant('dpop:k:c6', T + MINUTE, 'g1', claim)).not.toHaveProperty(
          'quota',
        )
        expect(await store.consumeReadQuota('attended:g1', T + 30, 2, DAY)).toEqual({
          allowed: true,
          used: 2,
        })
      })
      it('requests made together each get their own answer (a key twice is first used once)', async () => {
        await store.createGrant(grant({ status: 'active' }))
        await store.createGrant(grant({ id: 'g2', status: 'revoked' }))
        const claim = { key: 'attended:g1', clientId: 'client-1', now: T, limit: 2, windowMs: DAY }
        const [a, b, c, d, e, f] = await Promise.all([
          store.recordJtiAndGetGrant('dpop:k:t1', T + MINUTE, 'g1', claim),
          store.recordJtiAndGetGrant('dpop:k:t1', T + MINUTE, 'g1', claim),
          store.recordJtiAndGetGrant('dpop:k:t2', T + MINUTE, 'g2', { ...claim, key: 'attended:g2' }),
          store.recordJtiAndGetGrant('dpop:k:t3', T + MINUTE, 'nope'),
          store.recordJtiAndGetGrant('dpop:k:t4', T + MINUTE, 'g1', claim),
          store.recordJtiAndGetGrant('dpop:k:t5', T + MINUTE, 'g1', claim),
        ])
        expect([a, b, c, d, e, f].map((r) => r.firstUse)).toEqual([true, false, true, true, true, true])
        expect([a, b, e, f].every((r) => r.grant?.id === 'g1')).toBe(true)
        expect(c.grant?.status).toBe('revoked')
        expect(d.grant).toBeNull()
        expect([b, c, d].some((r) => 'quota' in r)).toBe(false)
        // Three claims on a limit of two: two allowed (1 and 2), one refused.
        const quotas = [a, e, f].map((r) => r.quota)
        expect(
          quotas
            .filter((q) => q?.allowed)
            .map((q) => (q?.allowed ? q.used : 0))
            .sort(),
        ).toEqual([1, 2])
        expect(quotas.filter((q) => q && !q.allowed)).toHaveLength(1)
      })
      it('releaseReadQuota gives one counted read back, once; an unknown one is nothing', async () => {
        expect(await store.consumeReadQuota('g1', T, 2, DAY)).toEqual({ allowed: true, used: 1 })
        expect(await store.consumeReadQuota('g1', T, 2, DAY)).toEqual({ allowed: true, used: 2 })
        expect((await store.consumeReadQuota('g1', T + 1, 2, DAY)).allowed).toBe(false)
        await store.releaseReadQuota('g1', T)
        await store.releaseReadQuota('g1', T + 5) // never counted
        await store.releaseReadQuota('other', T)
        expect(await store.consumeReadQuota('g1', T + 2, 2, DAY)).toEqual({ allowed: true, used: 2 })
        expect((await store.consumeReadQuota('g1', T + 3, 2, DAY)).allowed).toBe(false)
      })
      it('returns copies', async () => {
        await store.createGrant(grant({ status: 'active' }))
        const { grant: g } = await store.recordJtiAndGetGrant('dpop:k:j5', T + MINUTE, 'g1')
        g!.status = 'revoked'
        expect((await store.getGrant('g1'))?.status).toBe('active')
      })
      it('a high read limit stays exact (sliding window, sorted times)', async () => {
        for (let i = 0; i < 300; i++)
          expect(await store.consumeReadQuota('g9', T + i * 10, 1000, 1000)).toEqual({
            allowed: true,
            used: Math.min(i, 99) + 1,
          })
        // 100 reads in the last second (T+2000..T+2990): the oldest one leaves the window at T+3000.
        expect(await store.consumeReadQuota('g9', T + 2995, 100, 1000)).toEqual({
          allowed: false,
          retryAfterMs: 2000 + 1000 - 2995,
        })
      })
    })

    describeConcurrency('one instance', async () => [store])
    if (options.openSecond) {
      const openSecond = options.openSecond
      describeConcurrency('two instances', async () => {
        const second = await openSecond()
        opened.push(second)
        return [store, second]
      })
    }
  })
}

/** 50 callers at once; with several instances, call i goes through instance i mod n. */
function describeConcurrency(label: string, instances: () => Promise<Store[]>): void {
  describe(`concurrency (${label})`, () => {
    let stores: Store[]
    const via = (i: number) => stores[i % stores.length]!
    beforeEach(async () => {
      stores = await instances()
    }, HOOK_TIMEOUT)

    it('consumeRecord: exactly one ok, the rest consumed', async () => {
      await via(0).saveRecord(codeRecord())
      const results = await times(PARALLEL, (i) => via(i).consumeRecord('code', 'code-hash-1', T, 'client-1'))
      expect(results.filter((r) => r?.status === 'ok')).toHaveLength(1)
      expect(results.filter((r) => r?.status === 'consumed')).toHaveLength(PARALLEL - 1)
    })
    it('consumeRecord of a pushed request and an interaction: exactly one winner each', async () => {
      await via(0).saveRecord(pushedRecord())
      await via(0).saveRecord(interactionRecord())
      const requests = await times(PARALLEL, (i) =>
        via(i).consumeRecord('pushed_request', pushedRecord().id, T),
      )
      const interactions = await times(PARALLEL, (i) => via(i).consumeRecord('interaction', 'i1', T))
      for (const [results, saved] of [
        [requests, pushedRecord()],
        [interactions, interactionRecord()],
      ] as const) {
        expect(results.filter((r) => r?.status === 'ok').map((r) => r?.record)).toEqual([
          { ...saved, consumedAt: T },
        ])
        expect(results.filter((r) => r?.status === 'consumed')).toHaveLength(PARALLEL - 1)
      }
    })
    it('consumeRecord: strangers never win; exactly one owner call is ok', async () => {
      await via(0).saveRecord(codeRecord())
      const results = await times(PARALLEL, (i) =>
        via(i).consumeRecord('code', 'code-hash-1', T, i % 2 ? 'client-2' : 'client-1'),
      )
      expect(results.filter((r, i) => i % 2 === 1 && r?.status !== 'wrong_owner')).toHaveLength(0)
      expect(results.filter((r) => r?.status === 'ok')).toHaveLength(1)
      expect(results.filter((r) => r?.status === 'consumed')).toHaveLength(PARALLEL / 2 - 1)
    })
    it('saveRecord racing consumeRecord never revives it: one ok, consumed after', async () => {
      await via(0).saveRecord(interactionRecord())
      const results = await times(PARALLEL, (i) =>
        i % 2
          ? via(i)
              .saveRecord({ ...interactionRecord(), value: { saved: i } })
              .then(() => null)
          : via(i).consumeRecord('interaction', 'i1', T),
      )
      expect(results.filter((r) => r?.status === 'ok')).toHaveLength(1)
      expect(await via(1).findRecord('interaction', 'i1', T)).toBeNull()
      expect((await via(1).consumeRecord('interaction', 'i1', T))?.status).toBe('consumed')
    })
    it('claimEvents: each event goes to exactly one claimer', async () => {
      for (let i = 0; i < 5; i++)
        await via(0).enqueueEvent({
          id: `e${i}`,
          clientId: 'c1',
          grantId: 'g1',
          url: 'https://rp.example/e',
          body: 'b',
          attempts: 0,
          nextAttemptAt: T,
          createdAt: T,
        })
      const claims = await times(PARALLEL, (i) => via(i).claimEvents(T, 2, MINUTE))
      const ids = claims.flat().map((e) => e.id)
      expect(ids.sort()).toEqual(['e0', 'e1', 'e2', 'e3', 'e4'])
    })
    it('markGrantReminded: exactly one reminder (and one event) per expiry', async () => {
      await via(0).createGrant(grant({ status: 'active', expiresAt: T + DAY }))
      const results = await times(PARALLEL, (i) =>
        via(i).markGrantReminded('g1', T + DAY, {
          id: `remind-${i}`,
          clientId: 'client-1',
          grantId: 'g1',
          url: 'https://rp.example/e',
          body: 'b',
          attempts: 0,
          nextAttemptAt: T,
          createdAt: T,
        }),
      )
      expect(results.filter(Boolean)).toHaveLength(1)
      expect(await via(0).claimEvents(T, 100, MINUTE)).toHaveLength(1)
    })
    it('transitionGrant with ifUpdatedAt: exactly one amendment of the grant as read wins', async () => {
      await via(0).createGrant(grant({ status: 'active' }))
      const results = await times(PARALLEL, (i) =>
        via(i).transitionGrant(
          'g1',
          ['active'],
          { authorizationDetails: [{ type: 'transaction_history', n: i }], updatedAt: T + 1 + i },
          { ifUpdatedAt: T },
        ),
      )
      const winners = results.filter((r) => r !== null)
      expect(winners).toHaveLength(1)
      expect(await via(0).getGrant('g1')).toEqual(winners[0])
    })
    it('recordJti: exactly one true', async () => {
      const results = await times(PARALLEL, (i) => via(i).recordJti('client-1:jti-x', T + MINUTE))
      expect(results.filter(Boolean)).toHaveLength(1)
    })
    it('rotateRefreshToken: exactly one ok and exactly one successor saved', async () => {
      await via(0).saveRefreshToken(refreshToken())
      const results = await times(PARALLEL, (i) =>
        via(i).rotateRefreshToken('rt-1', refreshToken({ tokenHash: `next-${i}` }), T + 1),
      )
      expect(results.filter((r) => r?.status === 'ok')).toHaveLength(1)
      expect(results.filter((r) => r?.status === 'reused')).toHaveLength(PARALLEL - 1)
      const saved = await times(PARALLEL, (i) => via(0).getRefreshToken(`next-${i}`))
      expect(saved.filter((t) => t !== null)).toHaveLength(1)
      expect(saved.findIndex((t) => t !== null)).toBe(results.findIndex((r) => r?.status === 'ok'))
    })
    it('consumeReadQuota: exactly `limit` reads allowed', async () => {
      const results = await times(PARALLEL, (i) => via(i).consumeReadQuota('g1', T, 4, DAY))
      const allowed = results.filter((r) => r.allowed)
      expect(allowed).toHaveLength(4)
      expect(allowed.map((r) => (r.allowed ? r.used : 0)).sort()).toEqual([1, 2, 3, 4])
      expect(results.filter((r) => !r.allowed).every((r) => !r.allowed && r.retryAfterMs === DAY)).toBe(true)
    })
    it('claimed reads and consumeReadQuota together: exactly `limit` allowed', async () => {
      await via(0).createGrant(grant({ status: 'active' }))
      const claim = { key: 'attended:g1', clientId: 'client-1', now: T, limit: 4, windowMs: DAY }
      const results = await times(PARALLEL, (i) =>
        i % 2
          ? via(i)
              .recordJtiAndGetGrant(`dpop:k:p${i}`, T + MINUTE, 'g1', claim)
              .then((r) => r.quota!)
          : via(i).consumeReadQuota('attended:g1', T, 4, DAY),
      )
      expect(results.filter((r) => r.allowed)).toHaveLength(4)
      expect(
        results
          .map((r) => (r.allowed ? r.used : 0))
          .filter(Boolean)
          .sort(),
      ).toEqual([1, 2, 3, 4])
    })
    it('recordJtiAndGetGrant: exactly one first use of a jti, every caller sees the grant', async () => {
      await via(0).createGrant(grant({ status: 'active' }))
      const results = await times(PARALLEL, (i) =>
        i % 2
          ? via(i).recordJtiAndGetGrant('dpop:k:same', T + MINUTE, 'g1')
          : via(i)
              .recordJti('dpop:k:same', T + MINUTE)
              .then((firstUse) => ({ firstUse, grant: grant({ status: 'active' }) })),
      )
      expect(results.filter((r) => r.firstUse)).toHaveLength(1)
      expect(results.every((r) => r.grant?.status === 'active')).toBe(true)
    })
    it('transitionGrant: exactly one compare-and-set wins', async () => {
      await via(0).createGrant(grant())
      const results = await times(PARALLEL, (i) =>
        via(i).transitionGrant('g1', ['pending'], { status: i % 2 ? 'active' : 'denied', updatedAt: T + i }),
      )
      const winners = results.filter((g) => g !== null)
      expect(winners).toHaveLength(1)
      expect(await via(1).getGrant('g1')).toEqual(winners[0])
    })
    it('getOrCreateSecret: everyone gets the same value', async () => {
      const results = await times(PARALLEL, (i) =>
        via(i).getOrCreateSecret('signing-key', () => `value-${i}`),
      )
      expect(new Set(results).size).toBe(1)
      expect(await via(0).getOrCreateSecret('signing-key', () => 'late')).toBe(results[0])
    })
    it('recordFailure: 50 concurrent failures get the counts 1..50', async () => {
      const results = await times(PARALLEL, (i) => via(i).recordFailure('signin:k', T + i, DAY))
      expect(results.map((r) => r.count).sort((a, b) => a - b)).toEqual(
        Array.from({ length: PARALLEL }, (_, i) => i + 1),
      )
      expect(results.filter((r) => r.previousAt === undefined)).toHaveLength(1)
      await times(10, (i) => via(i).forgiveFailure('signin:k'))
      expect((await via(0).getFailures('signin:k', T + PARALLEL, DAY))?.count).toBe(PARALLEL - 10)
    })
    it('appendAuditEvent and integration: 50 inserts, one tree, every event one index', async () => {
      const sealed = await times(PARALLEL, (i) =>
        via(i).appendAuditEvent(draft({ id: `evt-${i}`, data: { i } })),
      )
      expect(new Set(sealed.map((e) => e.seq)).size).toBe(PARALLEL)
      // Both instances sequence at once: the lock lets one through at a time.
      await times(6, (i) => via(i).integrateAuditEvents(10, testSeal(5)))
      for (let i = 0; i < 10; i++) await via(i).integrateAuditEvents(1000, testSeal())
      const listed = await via(0).listAuditEvents({ afterIndex: -1 })
      expect(listed.map((e) => e.index)).toEqual(Array.from({ length: PARALLEL }, (_, i) => i))
      expect(new Set(listed.map((e) => e.id)).size).toBe(PARALLEL)
      expect((await via(1).getAuditCheckpoint())?.root).toEqual(rootHash(listed.map((e) => auditLeafHash(e))))
    })
  })
}

/**
 * Ending a grant and queueing its event are one transaction (`transitionGrant` with effects), and
 * server secrets can be replaced in place (encryption at rest).
 */
function describeGrantEndAndSecrets(current: () => Store): void {
  const event = (id = 'evt-end-1'): OutboxEvent => ({
    id,
    clientId: 'client-1',
    grantId: 'g1',
    url: 'https://lender.example/events',
    body: 'h.grant-ended.s',
    attempts: 0,
    nextAttemptAt: T + 5,
    createdAt: T + 5,
  })
  const ending = { status: 'revoked' as const, updatedAt: T + 5, endedAt: T + 5, endedReason: 'test' }

  describe('transitionGrant with effects', () => {
    it('ends the grant, revokes its refresh tokens and queues the event together', async () => {
      const store = current()
      await store.createGrant(grant({ status: 'active' }))
      await store.saveRefreshToken(refreshToken())
      await store.saveRefreshToken(refreshToken({ tokenHash: 'rt-other', grantId: 'g2' }))
      const ended = await store.transitionGrant('g1', ['active'], ending, {
        revokeRefreshTokensAt: T + 5,
        outbox: event(),
      })
      expect(ended).toMatchObject({ id: 'g1', status: 'revoked', endedReason: 'test' })
      expect((await store.getRefreshToken('rt-1'))?.revokedAt).toBe(T + 5)
      expect((await store.getRefreshToken('rt-other'))?.revokedAt).toBeUndefined()
      expect(await store.claimEvents(T + 5, 10, MINUTE)).toEqual([
        { ...event(), nextAttemptAt: T + 5 + MINUTE },
      ])
    })
    it('when the compare-and-set fails, queues nothing and revokes nothing', async () => {
      const store = current()
      await store.createGrant(grant({ status: 'denied' }))
      await store.saveRefreshToken(refreshToken())
      expect(
        await store.transitionGrant('g1', ['active'], ending, {
          revokeRefreshTokensAt: T + 5,
          outbox: event(),
        }),
      ).toBeNull()
      expect(
        await store.transitionGrant('unknown', ['active'], ending, { outbox: event('evt-unknown') }),
      ).toBeNull()
      expect(await store.claimEvents(T + DAY, 10, MINUTE)).toEqual([])
      expect((await store.getRefreshToken('rt-1'))?.revokedAt).toBeUndefined()
      expect((await store.getGrant('g1'))?.status).toBe('denied')
    })
    it('when queueing the event fails, the grant is left as it was', async () => {
      const store = current()
      await store.createGrant(grant({ status: 'active' }))
      await store.saveRefreshToken(refreshToken())
      await store.enqueueEvent(event('evt-taken'))
      await expect(
        store.transitionGrant('g1', ['active'], ending, {
          revokeRefreshTokensAt: T + 5,
          outbox: { ...event('evt-taken'), body: 'second' },
        }),
      ).rejects.toThrow()
      expect((await store.getGrant('g1'))?.status).toBe('active')
      expect((await store.getRefreshToken('rt-1'))?.revokedAt).toBeUndefined()
      const queued = await store.claimEvents(T + DAY, 10, MINUTE)
      expect(queued.map((e) => [e.id, e.body])).toEqual([['evt-taken', 'h.grant-ended.s']])
    })
    it('of concurrent ends, exactly one queues its event', async () => {
      const store = current()
      await store.createGrant(grant({ status: 'active' }))
      const results = await times(PARALLEL, (i) =>
        store.transitionGrant('g1', ['active'], ending, { outbox: event(`evt-${i}`) }),
      )
      expect(results.filter((g) => g !== null)).toHaveLength(1)
      const queued = await store.claimEvents(T + DAY, PARALLEL, MINUTE)
      expect(queued.map((e) => e.id)).toEqual([`evt-${results.findIndex((g) => g !== null)}`])
    })
  })

  describe('replaceSecret', () => {
    it('replaces only the expected value', async () => {
      const store = current()
      await store.getOrCreateSecret('cookie', () => 'plain')
      expect(await store.replaceSecret('cookie', 'other', 'enc:x')).toBe(false)
      expect(await store.replaceSecret('absent', 'plain', 'enc:x')).toBe(false)
      expect(await store.replaceSecret('cookie', 'plain', 'enc:x')).toBe(true)
      expect(await store.getOrCreateSecret('cookie', () => 'new')).toBe('enc:x')
      expect(await store.getOrCreateSecret('absent', () => 'fresh')).toBe('fresh')
    })
  })
}
