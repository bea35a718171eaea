/**
 * Issue 14: `consentry keys generate` writes files the server's `signingKey` / `auditSigningKey`
 * and `consentry audit verify --key` take as they are; a generated key starts a server and verifies
 * an export of its audit log.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createConsentServer, memoryStore } from '@consentry/server'
import type { JWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { run } from './helpers/run.ts'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'consentry-cli-keys-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

const readJson = async (file: string) => JSON.parse(await readFile(file, 'utf8'))

describe('consentry keys generate --out', () => {
  it('writes a private JWK (0600) and a public JWKS, never replacing them', async () => {
    const out = join(dir, 'keys')
    const result = await run('keys', 'generate', '--out', out)
    expect(result.code).toBe(0)
    const privateFile = join(out, 'signing-key.private.jwk.json')
    const publicFile = join(out, 'signing-key.public.jwks.json')
    expect((await stat(out)).mode & 0o777).toBe(0o700)
    expect((await stat(privateFile)).mode & 0o777).toBe(0o600)
    const priv = (await readJson(privateFile)) as JWK
    const jwks = (await readJson(publicFile)) as { keys: JWK[] }
    expect(priv).toMatchObject({
      kty: 'OKP',
      crv: 'Ed25519',
      alg: 'EdDSA',
      use: 'sig',
      d: expect.any(String),
    })
    expect(jwks.keys).toEqual([
      { kty: 'OKP', crv: 'Ed25519', x: priv.x, kid: priv.kid, alg: 'EdDSA', use: 'sig' },
    ])
    // The summary names the files and the kid, never the private key.
    expect(result.stdout).toContain(privateFile)
    expect(result.stdout).toContain(`kid ${priv.kid}`)
    expect(result.stdout).not.toContain(priv.d)

    const again = await run('keys', 'generate', '--out', out)
    expect(again.code).toBe(2)
    expect(again.stderr).toContain(`${privateFile} exists`)
    expect(await readJson(privateFile)).toEqual(priv)

    // keys public derives the same JWKS from the private file.
    const pub = await run('keys', 'public', privateFile)
    expect(pub.code).toBe(0)
    expect(JSON.parse(pub.stdout)).toEqual(jwks)
  })

  it('names the files with --name and refuses bad arguments', async () => {
    const out = join(dir, 'named')
    expect((await run('keys', 'generate', '--out', out, '--name', 'audit-key', '--kid', 'log-1')).code).toBe(
      0,
    )
    expect(await readJson(join(out, 'audit-key.private.jwk.json'))).toMatchObject({ kid: 'log-1' })
    for (const argv of [
      ['--name', 'x'], // needs --out
      ['--out', out, '--name', '../escape'],
      ['--out', out, '--kid', 'has space'],
      ['--alg', 'RS256'],
      ['extra'],
    ]) {
      const result = await run('keys', 'generate', ...argv)
      expect(result.code, argv.join(' ')).toBe(2)
      expect(result.stderr).toContain('Usage: consentry keys generate')
    }
    expect((await run('keys', 'public', '{"kty":"OKP"}')).code).toBe(2) // a file, not the key itself
  })
})

describe('a generated key', () => {
  it('starts a server as signingKey (EdDSA, ES256, PS256), and as auditSigningKey verifies its export', async () => {
    const out = join(dir, 'server')
    expect((await run('keys', 'generate', '--out', out)).code).toBe(0)
    expect((await run('keys', 'generate', '--out', out, '--name', 'audit-key')).code).toBe(0)
    expect((await run('keys', 'generate', '--out', out, '--name', 'es', '--alg', 'ES256')).code).toBe(0)
    expect((await run('keys', 'generate', '--out', out, '--name', 'ps', '--alg', 'PS256')).code).toBe(0)
    const file = (name: string, kind: 'private.jwk' | 'public.jwks') => join(out, `${name}.${kind}.json`)
    const base = {
      issuer: 'http://127.0.0.1:9',
      dataSource: { listAccounts: async () => [], listTransactions: async () => [] },
      accountHolders: { verifyPassword: async () => null },
      logger: { error() {}, warn() {} },
    }
    // Exactly as the README says: JSON.parse(file) — and CONSENTRY_SIGNING_JWK holds the same text.
    const signingKey = JSON.parse(await readFile(file('signing-key', 'private.jwk'), 'utf8'))
    const auditSigningKey = JSON.parse(await readFile(file('audit-key', 'private.jwk'), 'utf8'))
    const server = await createConsentServer({ ...base, store: memoryStore(), signingKey, auditSigningKey })
    expect(server.jwks().keys.map((k) => k.kid)).toEqual(
      expect.arrayContaining([signingKey.kid, auditSigningKey.kid]),
    )
    for (const name of ['es', 'ps']) {
      const key = JSON.parse(await readFile(file(name, 'private.jwk'), 'utf8'))
      const other = await createConsentServer({ ...base, store: memoryStore(), signingKey: key })
      expect(other.jwks().keys[0]).toMatchObject({ kid: key.kid, alg: key.alg })
    }

    // Events, a checkpoint signed with the generated audit key, an export.
    for (let i = 0; i < 5; i++)
      await server.audit.record({ type: 'data.read', actor: { type: 'client', id: 'lender' }, data: { i } })
    await server.audit.flush()
    const lines: string[] = []
    for await (const line of server.audit.export()) lines.push(line)
    const exported = join(dir, 'audit.jsonl')
    await writeFile(exported, `${lines.join('\n')}\n`)

    const ok = await run('audit', 'verify', exported, '--key', file('audit-key', 'public.jwks'))
    expect(ok.stderr).toBe('')
    expect(ok.code).toBe(0)
    expect(ok.stdout).toContain('5 entries')
    expect(ok.stdout).toContain('OK')
    // The holder's whole published JWKS works too: the key whose id signed the checkpoint is chosen.
    const published = join(dir, 'holder-jwks.json')
    await writeFile(published, JSON.stringify(server.jwks()))
    expect((await run('audit', 'verify', exported, '--key', published)).code).toBe(0)
    // Another Ed25519 key (the token key) did not sign it: tampered/invalid, exit 1.
    const wrong = await run('audit', 'verify', exported, '--key', file('signing-key', 'public.jwks'))
    expect(wrong.code).toBe(1)
    expect(wrong.stdout).toContain('unknown_key')
    // A private key file is refused: verifying needs only the public key.
    const priv = await run('audit', 'verify', exported, '--key', file('audit-key', 'private.jwk'))
    expect(priv.code).toBe(2)
    expect(priv.stderr).toContain('holds a private key')
    // A key that cannot sign checkpoints at all.
    const ec = await run('audit', 'verify', exported, '--key', file('es', 'public.jwks'))
    expect(ec.code).toBe(2)
    expect(ec.stderr).toContain('no Ed25519 public key')
    // An access-log bundle verifies with the JWKS file as well.
    const page = await server.audit.accessLog({})
    const bundle = join(dir, 'bundle.json')
    await writeFile(
      bundle,
      JSON.stringify({ checkpoint: page!.checkpoint.note, entries: page!.entries }, null, 2),
    )
    expect((await run('audit', 'verify', bundle, '--key', file('audit-key', 'public.jwks'))).code).toBe(0)
  })
})
