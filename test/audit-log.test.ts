/**
 * The audit log as a transparency log, end to end over real HTTP: metadata, the checkpoint and
 * consistency endpoints, the person's verifiable access log and the recipient's. Everything fetched
 * is checked by an independent verifier written here from RFC 9162 §2.1 and C2SP signed-note (with
 * node:crypto), not with Consentry's own verifier.
 */
import { createHash, createPublicKey, verify as edVerify } from 'node:crypto'
import { ACCESS_LOG_PAGE, memoryStore } from '@consentry/server'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type HarborPay, startHarborPay } from '../examples/payment-provider/src/app.ts'
import {
  browserFor,
  link,
  managementToken,
  type Recipient,
  registerRecipient,
  resourceGet,
} from './helpers/recipient.ts'

// ---- an independent verifier (RFC 9162 §2.1.3.2, §2.1.4.2; C2SP signed-note) --------------------
const H = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest()
const leafHashOf = (leaf: Buffer) => H(Buffer.from([0]), leaf)
const nodeOf = (l: Buffer, r: Buffer) => H(Buffer.from([1]), l, r)
const b64 = (s: string) => Buffer.from(s, 'base64')

function inclusionOk(leaf: Buffer, index: number, size: number, proof: Buffer[], root: Buffer) {
  if (index >= size) return false
  let fn = index
  let sn = size - 1
  let r = leaf
  for (const p of proof) {
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      r = nodeOf(p, r)
      while (fn % 2 === 0 && fn !== 0) [fn, sn] = [fn >> 1, sn >> 1]
    } else r = nodeOf(r, p)
    ;[fn, sn] = [fn >> 1, sn >> 1]
  }
  return sn === 0 && r.equals(root)
}

function consistencyOk(m: number, n: number, r1: Buffer, r2: Buffer, proof: Buffer[]) {
  if (m === n) return proof.length === 0 && r1.equals(r2)
  if (proof.length === 0) return false
  const path = (m & (m - 1)) === 0 ? [r1, ...proof] : proof
  let [fn, sn] = [m - 1, n - 1]
  while (fn % 2 === 1) [fn, sn] = [fn >> 1, sn >> 1]
  let [fr, sr] = [path[0]!, path[0]!]
  for (const c of path.slice(1)) {
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      ;[fr, sr] = [nodeOf(c, fr), nodeOf(c, sr)]
      while (fn % 2 === 0 && fn !== 0) [fn, sn] = [fn >> 1, sn >> 1]
    } else sr = nodeOf(sr, c)
    ;[fn, sn] = [fn >> 1, sn >> 1]
  }
  return fr.equals(r1) && sr.equals(r2) && sn === 0
}

/** Open a checkpoint note with the published verifier key: returns { origin, size, root } or throws. */
function openCheckpoint(note: string, verifierKey: string) {
  const [name, hexId, ...rest] = verifierKey.split('+') as [string, string, ...string[]]
  const keyB64 = rest.join('+') // the base64 key may contain "+" itself
  const typed = b64(keyB64)
  expect(typed[0]).toBe(0x01)
  const pub = typed.subarray(1)
  expect(
    H(Buffer.from(name), Buffer.from([0x0a, 0x01]), pub)
      .subarray(0, 4)
      .toString('hex'),
  ).toBe(hexId)
  const split = note.lastIndexOf('\n\n')
  const text = note.slice(0, split + 1)
  const sigLine = note
    .slice(split + 2)
    .split('\n')
    .find((l) => l.startsWith(`— ${name} `))!
  const sig = b64(sigLine.split(' ')[2]!)
  expect(sig.subarray(0, 4).toString('hex')).toBe(hexId)
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), pub])
  const key = createPublicKey({ key: spki, format: 'der', type: 'spki' })
  if (!edVerify(null, Buffer.from(text), key, sig.subarray(4))) throw new Error('bad checkpoint signature')
  const [origin, size, root] = text.split('\n')
  expect(origin).toBe(name)
  expect(size).toMatch(/^(0|[1-9][0-9]*)$/)
  return { origin: origin!, size: Number(size), root: b64(root!) }
}

/** Verify a bundle independently; returns the decoded events with their index. */
function checkBundle(
  bundle: { checkpoint: string; entries: { index: number; leaf: string; proof: string[] }[] },
  key: string,
) {
  const cp = openCheckpoint(bundle.checkpoint, key)
  let last = -1
  return bundle.entries.map((e) => {
    expect(e.index).toBeGreaterThan(last)
    last = e.index
    const leaf = b64(e.leaf)
    expect(leaf.toString('base64')).toBe(e.leaf) // standard, padded
    expect(inclusionOk(leafHashOf(leaf), e.index, cp.size, e.proof.map(b64), cp.root)).toBe(true)
    return { index: e.index, event: JSON.parse(leaf.toString('utf8')) }
  })
}

// ---- setup ------------------------------------------------------------------------------------------
let holder: HarborPay
let r: Recipient
let metadata: {
  audit_log: {
    origin: string
    verifier_key: string
    checkpoint_endpoint: string
    consistency_endpoint: string
  }
}
let grant: { id: string; at: string; DPoP: Parameters<typeof resourceGet>[2]; dpop: unknown }

beforeAll(async () => {
  holder = await startHarborPay({
    store: memoryStore(),
    port: 0,
    publicHost: '127.0.0.1',
    maintenance: false,
  })
  r = await registerRecipient(holder.issuer)
  metadata = await (await fetch(`${holder.issuer}/.well-known/oauth-authorization-server`)).json()
  const l = await link(holder.issuer, r)
  const tokens = l.tokens as typeof l.tokens & { grant_id: string }
  grant = { id: tokens.grant_id, at: tokens.access_token, DPoP: l.DPoP, dpop: l.pending.dpopKeys }
  for (let i = 0; i < 3; i++) {
    const res = await resourceGet(grant.at, `${holder.issuer}/api/accounts`, grant.DPoP)
    expect(res.status).toBe(200)
  }
})
afterAll(() => holder?.close())

const key = () => metadata.audit_log.verifier_key

describe('the published log', () => {
  it('is described in the RFC 8414 metadata', () => {
    const log = metadata.audit_log
    expect(log.origin).toBe(`${holder.issuer.replace(/^https?:\/\//, '')}/audit`)
    expect(log.verifier_key).toMatch(
      new RegExp(`^${log.origin.replace(/[.]/g, '\\.')}\\+[0-9a-f]{8}\\+[A-Za-z0-9+/]{44}$`),
    )
    expect(log.checkpoint_endpoint).toBe(`${holder.issuer}/audit/checkpoint`)
    expect(log.consistency_endpoint).toBe(`${holder.issuer}/audit/consistency`)
  })

  it('serves the newest checkpoint as a signed note that verifies with the published key', async () => {
    await holder.server.audit.flush()
    const res = await fetch(metadata.audit_log.checkpoint_endpoint)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
    const note = await res.text()
    const cp = openCheckpoint(note, key())
    expect(cp.size).toBe((await holder.server.audit.list({})).length)
    // Tampering with the size breaks the signature.
    expect(() => openCheckpoint(note.replace(`\n${cp.size}\n`, `\n${cp.size + 1}\n`), key())).toThrow()
  })

  it('proves any two checkpoints consistent (RFC 9162 §2.1.4), and refuses bad ranges with 400', async () => {
    const older = openCheckpoint(await (await fetch(metadata.audit_log.checkpoint_endpoint)).text(), key())
    await resourceGet(grant.at, `${holder.issuer}/api/accounts`, grant.DPoP)
    await holder.server.audit.flush()
    const newer = openCheckpoint(await (await fetch(metadata.audit_log.checkpoint_endpoint)).text(), key())
    expect(newer.size).toBeGreaterThan(older.size)
    const url = (q: string) => `${metadata.audit_log.consistency_endpoint}?${q}`
    const res = await fetch(url(`first=${older.size}&second=${newer.size}`))
    expect(res.status).toBe(200)
    const { proof } = (await res.json()) as { proof: string[] }
    expect(consistencyOk(older.size, newer.size, older.root, newer.root, proof.map(b64))).toBe(true)
    expect(consistencyOk(older.size, newer.size, newer.root, newer.root, proof.map(b64))).toBe(false)
    // Every earlier size too.
    for (let m = 1; m <= newer.size; m++) {
      const p = ((await (await fetch(url(`first=${m}&second=${newer.size}`))).json()) as { proof: string[] })
        .proof
      expect(p.every((h) => b64(h).length === 32)).toBe(true)
    }
    expect(await (await fetch(url(`first=${newer.size}&second=${newer.size}`))).json()).toEqual({ proof: [] })
    for (const q of [
      `first=0&second=${newer.size}`,
      `first=${newer.size}&second=${older.size}`,
      `first=1&second=${newer.size + 1}`,
      'first=abc&second=2',
      'first=1.5&second=2',
      'first=-1&second=2',
      'first=1',
      'second=2',
      'first=01&second=2',
      'first=1&second=99999999999999999999',
    ]) {
      const bad = await fetch(url(q))
      expect(bad.status, q).toBe(400)
      expect(((await bad.json()) as { error: string }).error, q).toBe('invalid_request')
    }
  })
})

describe('the log as C2SP tlog-tiles (hash tiles only)', () => {
  /** `MTH(D[n])` of RFC 9162 §2.1.1, recursively, from leaf hashes. */
  const mth = (leaves: Buffer[]): Buffer => {
    if (leaves.length === 1) return leaves[0]!
    let k = 1
    while (k * 2 < leaves.length) k *= 2
    return nodeOf(mth(leaves.slice(0, k)), mth(leaves.slice(k)))
  }
  const tile = async (path: string) => {
    const res = await fetch(`${holder.issuer}/audit/${path}`)
    expect(res.status, path).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/octet-stream')
    expect(res.headers.get('cache-control')).toMatch(/immutable/)
    const bytes = Buffer.from(await res.arrayBuffer())
    return Array.from({ length: bytes.length / 32 }, (_, i) => bytes.subarray(i * 32, i * 32 + 32))
  }

  it('serves level-0 and level-1 tiles from which anyone recomputes the signed root', async () => {
    for (let i = 0; i < 300; i++)
      await holder.server.audit.record({ type: 'test.filler', actor: { type: 'system' }, data: { i } })
    await holder.server.audit.flush()
    const cp = openCheckpoint(await (await fetch(metadata.audit_log.checkpoint_endpoint)).text(), key())
    expect(cp.size).toBeGreaterThan(256)
    expect((metadata.audit_log as { tiles_prefix?: string }).tiles_prefix).toBe(`${holder.issuer}/audit`)
    const full = Math.floor(cp.size / 256)
    const leaves: Buffer[] = []
    for (let n = 0; n < full; n++) leaves.push(...(await tile(`tile/0/${String(n).padStart(3, '0')}`)))
    const rest = cp.size % 256
    if (rest) leaves.push(...(await tile(`tile/0/${String(full).padStart(3, '0')}.p/${rest}`)))
    expect(leaves).toHaveLength(cp.size)
    expect(mth(leaves).equals(cp.root)).toBe(true)
    // Level 1: each hash is the root of a full level-0 tile.
    const level1 = await tile(`tile/1/000.p/${full}`)
    for (let n = 0; n < full; n++)
      expect(level1[n]!.equals(mth(leaves.slice(n * 256, n * 256 + 256)))).toBe(true)
    // The leaves are the events' leaf hashes, in index order.
    const events = (await holder.server.audit.list({})).filter((e) => e.index !== undefined)
    const first = events.find((e) => e.index === 0)!
    const { auditLeafBytes } = await import('@consentry/core')
    expect(leafHashOf(Buffer.from(auditLeafBytes(first))).equals(leaves[0]!)).toBe(true)
  })

  it('refuses tiles beyond the newest checkpoint, malformed paths and entry bundles with 404', async () => {
    const cp = openCheckpoint(await (await fetch(metadata.audit_log.checkpoint_endpoint)).text(), key())
    const full = String(Math.floor(cp.size / 256)).padStart(3, '0')
    const rest = cp.size % 256
    for (const path of [
      `tile/0/${full}`, // the rightmost tile is not full yet
      ...(rest < 255 ? [`tile/0/${full}.p/${rest + 1}`] : []), // one hash wider than the tree
      'tile/1/000', // 65,536 leaves needed
      'tile/0/0',
      'tile/0/x000/000',
      'tile/64/000',
      'tile/entries/000',
      'tile/entries/000.p/3',
      'tile/0/000.p/0',
    ]) {
      const res = await fetch(`${holder.issuer}/audit/${path}`)
      expect(res.status, path).toBe(404)
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    }
  })
})

describe("the person's verifiable access log", () => {
  const bundleUrl = () => `${holder.issuer}/consents/${grant.id}/access-log`

  it('contains every event of the grant under the newest checkpoint, each proven, and nobody else’s', async () => {
    const other = await registerRecipient(holder.issuer, { name: 'Other Lender' })
    await link(holder.issuer, other) // someone else's events interleave in the log
    await holder.server.audit.flush()
    const res = await browserFor(holder.issuer).request(bundleUrl())
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    const bundle = await res.json()
    expect(Object.keys(bundle).sort()).toEqual(['checkpoint', 'entries'])
    const entries = checkBundle(bundle, key())
    const size = openCheckpoint(bundle.checkpoint, key()).size
    const expected = (await holder.server.audit.list({ grantId: grant.id })).filter((e) => e.index! < size)
    expect(entries.map((e) => e.index)).toEqual(expected.map((e) => e.index))
    expect(entries.every((e) => e.event.grant_id === grant.id)).toBe(true)
    expect(entries.filter((e) => e.event.type === 'data.read').length).toBeGreaterThanOrEqual(3)
    // The leaf is the RFC 8785 canonical JSON of the event: what the server listed, minus seq/index.
    const { seq: _s, index: _i, ...first } = expected[0]!
    const canon = (v: unknown): string =>
      Array.isArray(v)
        ? `[${v.map(canon).join(',')}]`
        : v && typeof v === 'object'
          ? `{${Object.entries(v)
              .sort(([a], [b]) => (a < b ? -1 : 1))
              .map(([k, x]) => `${JSON.stringify(k)}:${canon(x)}`)
              .join(',')}}`
          : JSON.stringify(v)
    const bundleLeaf = b64(bundle.entries[0].leaf).toString('utf8')
    expect(bundleLeaf).toBe(canon(first))
  })

  it('is refused without the person’s session, and another person sees no such grant', async () => {
    const anonymous = await fetch(bundleUrl(), { redirect: 'manual' })
    expect(anonymous.status).toBe(303)
    expect(anonymous.headers.get('location')).toMatch(/\/login/)
    expect(await anonymous.text()).not.toContain('"entries"')
    const bob = browserFor(holder.issuer, 'bob')
    const other = await registerRecipient(holder.issuer, { name: 'Bob Lender' })
    await link(holder.issuer, other, undefined, { username: 'bob', password: 'bob' }).catch(() => undefined)
    const res = await bob.request(bundleUrl())
    expect(res.status === 404 || res.status === 303).toBe(true)
    expect(await res.text()).not.toContain('"entries"')
  })

  it('is linked from the grant page, and every read links to its own inclusion proof', async () => {
    await holder.server.audit.flush()
    const browser = browserFor(holder.issuer)
    const page = await (await browser.request(`${holder.issuer}/consents/${grant.id}`)).text()
    expect(page).toContain('Download verifiable access log')
    expect(page).toContain(`href="/consents/${grant.id}/access-log"`)
    const proofLinks = [...page.matchAll(/href="([^"]*access-log\?index=(\d+))"/g)]
    expect(proofLinks.length).toBeGreaterThanOrEqual(3)
    for (const [, href, index] of proofLinks) {
      const one = await (
        await browser.request(new URL(href!.replace(/&amp;/g, '&'), holder.issuer).href)
      ).json()
      const [entry] = checkBundle(one, key())
      expect(one.entries).toHaveLength(1)
      expect(entry!.index).toBe(Number(index))
      expect(entry!.event.type).toBe('data.read')
    }
  })

  it(`pages beyond ${ACCESS_LOG_PAGE} entries with ?after= and a next link`, async () => {
    const before = (await holder.server.audit.list({ grantId: grant.id })).length
    for (let i = 0; i < ACCESS_LOG_PAGE + 5 - before; i++)
      await holder.server.audit.record({
        type: 'data.read',
        actor: { type: 'client', id: r.client.client_id },
        grantId: grant.id,
        data: { i },
      })
    await holder.server.audit.flush()
    const browser = browserFor(holder.issuer)
    const first = await (await browser.request(bundleUrl())).json()
    expect(first.entries).toHaveLength(ACCESS_LOG_PAGE)
    const lastIndex = first.entries.at(-1).index
    expect(first.next).toBe(`${bundleUrl()}?after=${lastIndex}`)
    const second = await (await browser.request(first.next)).json()
    expect(second.next).toBeUndefined()
    const all = [...checkBundle(first, key()), ...checkBundle(second, key())]
    expect(all.length).toBe(ACCESS_LOG_PAGE + 5)
    expect(new Set(all.map((e) => e.index)).size).toBe(all.length)
    const bad = await browser.request(`${bundleUrl()}?after=x`)
    expect(bad.status).toBe(400)
  })
})

describe("the recipient's access log", () => {
  it('serves the same bundle for its own grant with its grant-management token, and nothing for others', async () => {
    await holder.server.audit.flush()
    const mt = await managementToken(r, grant.DPoP, 'grant_management_query')
    const url = `${holder.issuer}/grants/${grant.id}/access-log`
    const res = await resourceGet(mt.access_token, url, grant.DPoP)
    expect(res.status).toBe(200)
    const entries = checkBundle(await res.json(), key())
    expect(entries.length).toBeGreaterThan(0)
    expect(entries.every((e) => e.event.grant_id === grant.id)).toBe(true)

    const stranger = await registerRecipient(holder.issuer, { name: 'Stranger' })
    const l = await link(holder.issuer, stranger)
    const smt = await managementToken(stranger, l.DPoP, 'grant_management_query')
    expect((await resourceGet(smt.access_token, url, l.DPoP)).status).toBe(404)
    expect((await fetch(url)).status).toBe(401)
  })
})

describe('integration', () => {
  it('with maintenance on, an event recorded is integrated under a signed checkpoint without anyone asking', async () => {
    const live = await startHarborPay({ store: memoryStore(), port: 0, publicHost: '127.0.0.1' })
    try {
      const event = await live.server.audit.record({
        type: 'holder.noted',
        actor: { type: 'holder' },
        data: {},
      })
      await vi.waitFor(
        async () => {
          const [listed] = await live.server.audit.list({ afterSeq: event.seq - 1, limit: 1 })
          expect(listed?.index).toBeTypeOf('number')
          expect((await live.server.audit.latest())!.size).toBeGreaterThan(listed!.index!)
        },
        { timeout: 10_000, interval: 50 },
      )
    } finally {
      await live.close()
    }
  })

  it('exports and verifies; a tampered export is located at the exact index', async () => {
    const report = await holder.server.audit.verify()
    expect(report.ok).toBe(true)
    const lines: string[] = []
    for await (const line of holder.server.audit.export()) lines.push(line)
    const { verifyAuditExport } = await import('@consentry/core')
    const edited = [...lines]
    const entry = JSON.parse(edited[5]!)
    const event = JSON.parse(b64(entry.leaf).toString('utf8'))
    event.data = { ...event.data, records: 1 }
    edited[5] = JSON.stringify({ ...entry, leaf: Buffer.from(JSON.stringify(event)).toString('base64') })
    const bad = await verifyAuditExport(edited, { verifierKey: key() })
    expect(bad.ok).toBe(false)
    expect(bad.problems.map((p) => [p.code, p.index])).toEqual([['edited_event', entry.index]])
    const deleted = lines.filter((_, i) => i !== 7)
    const gap = await verifyAuditExport(deleted, { verifierKey: key() })
    expect(gap.problems.map((p) => [p.code, p.index])).toEqual([
      ['deleted_event', JSON.parse(lines[7]!).index],
    ])
    const cut = await verifyAuditExport(lines.slice(0, -2), { verifierKey: key() })
    expect(cut.problems.map((p) => p.code)).toEqual(['truncated_tail'])
  })
})

describe('the recipient SDK: link.verifyAccessLog()', () => {
  it('proves its reads, keeps the checkpoint, checks consistency next time — and notices a rewritten log', async () => {
    const { createConsentClient, registerClient } = await import('@consentry/client')
    const { FormBrowser } = await import('./helpers/browser.ts')
    const { consent } = await import('./helpers/recipient.ts')
    const config = await registerClient({
      issuer: holder.issuer,
      initialAccessToken: 'demo-initial-access-token',
      clientName: 'Audit Lending',
      redirectUris: ['http://127.0.0.1:9/callback'],
    })
    const states = new Map<string, unknown>()
    const tokenStore = {
      get: (id: string) => states.get(id) as never,
      set: (id: string, s: unknown) => void states.set(id, s),
      delete: (id: string) => void states.delete(id),
    }
    const client = createConsentClient({ ...config, tokenStore })
    const { url, pending } = await client.startLink({
      authorizationDetails: [
        {
          type: 'transaction_history',
          datatypes: ['accounts'],
          purpose: 'credit_assessment',
          max_reads_per_day: 4,
        },
      ],
    })
    const answer = await consent(holder.issuer, { url } as never, {}, new FormBrowser())
    const l = await client.completeLink(answer.location!, pending)
    await l.accounts()
    await l.accounts()
    await holder.server.audit.flush()
    const first = await l.verifyAccessLog()
    expect(first).toMatchObject({ ok: true, reads: 2, problems: [] })
    expect(first.previousSize).toBeUndefined()
    expect((states.get(l.grantId) as { auditCheckpoint?: string }).auditCheckpoint).toMatch(/\n— /)

    await l.accounts()
    await holder.server.audit.flush()
    const second = await l.verifyAccessLog()
    expect(second).toMatchObject({ ok: true, reads: 3, previousSize: first.size })
    expect(second.size).toBeGreaterThan(first.size)

    // A holder whose consistency proof does not connect the kept checkpoint to the new one (as when
    // history was rewritten): the same link, through a fetch that alters the proof, says so.
    let tamper = true
    const lying = createConsentClient({
      ...config,
      tokenStore,
      fetch: async (input: string | URL | Request, init?: RequestInit) => {
        const res = await fetch(input, init)
        if (!tamper || !String(input).includes('/audit/consistency')) return res
        const body = (await res.json()) as { proof: string[] }
        const flipped = body.proof.map((h, i) =>
          i === 0
            ? Buffer.from(Buffer.from(h, 'base64').map((x, j) => (j === 0 ? x ^ 1 : x))).toString('base64')
            : h,
        )
        return new Response(JSON.stringify({ proof: flipped }), {
          status: 200,
          headers: { 'content-type': 'application/json' },
        })
      },
    })
    const again = await lying.link(l.grantId)
    await again.accounts()
    await holder.server.audit.flush()
    const kept = (states.get(l.grantId) as { auditCheckpoint: string }).auditCheckpoint
    const refused = await again.verifyAccessLog()
    expect(refused.ok).toBe(false)
    expect(refused.problems.join()).toMatch(/not consistent/)
    // …and the kept checkpoint is not replaced by the unproven one.
    expect((states.get(l.grantId) as { auditCheckpoint: string }).auditCheckpoint).toBe(kept)
    tamper = false
    expect((await again.verifyAccessLog()).ok).toBe(true)
  })
})
