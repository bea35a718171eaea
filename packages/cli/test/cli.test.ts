import { spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { JWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadAuditLogKey } from '../../server/src/audit/log-key.ts'
import { createAuditTrail } from '../../server/src/audit/trail.ts'
import { memoryStore } from '../../server/src/store/memory.ts'
import { main } from '../src/index.ts'

/** Run `main` and capture what it prints. */
async function run(...argv: string[]) {
  let stdout = ''
  let stderr = ''
  const io = {
    stdout(text: string) {
      stdout += text
    },
    stderr(text: string) {
      stderr += text
    },
  }
  const code = await main(argv, io)
  return { code, stdout, stderr }
}

let dir: string
let clean: string
let lines: string[]
let key: string
let trail: ReturnType<typeof createAuditTrail>

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'consentry-cli-'))
  // An Ed25519 key from `consentry keys generate`, a real log signed with it, exported to a file.
  const privateJwk = JSON.parse((await run('keys', 'generate', '--alg', 'EdDSA', '--kid', 'audit-1')).stdout)
  const store = memoryStore()
  const logKey = await loadAuditLogKey(store, 'harbor.example/audit', privateJwk)
  key = logKey.verifierKey
  trail = createAuditTrail({ store, logKey })
  for (let i = 1; i <= 6; i++) {
    await trail.record({
      type: 'data.read',
      actor: { type: 'client', id: 'lender' },
      grantId: `g_${i % 2}`,
      data: { transactions: i },
    })
    if (i % 3 === 0) await trail.flush()
  }
  lines = []
  for await (const line of trail.export()) lines.push(line)
  clean = join(dir, 'audit.jsonl')
  await writeFile(clean, `${lines.join('\n')}\n`)
})
afterAll(() => rm(dir, { recursive: true, force: true }))

async function tampered(name: string, change: (lines: string[]) => void) {
  const copy = [...lines]
  change(copy)
  const file = join(dir, name)
  await writeFile(file, `${copy.join('\n')}\n`)
  return file
}

describe('consentry audit verify', () => {
  it('exits 0 and says OK on a clean export', async () => {
    const result = await run('audit', 'verify', clean, '--key', key)
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('harbor.example/audit')
    expect(result.stdout).toContain('OK')
  })

  it('exits 1 on a tampered export and names the line and the index', async () => {
    const file = await tampered('edited.jsonl', (l) => {
      const entry = JSON.parse(l[4]!)
      const event = JSON.parse(Buffer.from(entry.leaf, 'base64').toString('utf8'))
      event.data.transactions = 99
      l[4] = JSON.stringify({ ...entry, leaf: Buffer.from(JSON.stringify(event)).toString('base64') })
    })
    const result = await run('audit', 'verify', file, '--key', key)
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/line 5\s+index 2\s+edited_event/)
    expect(result.stdout).toContain('TAMPERED: 1 error')
  })

  it('reports a deleted event and a cut tail; --json prints the report', async () => {
    const deleted = await tampered('deleted.jsonl', (l) => l.splice(3, 1))
    const gap = await run('audit', 'verify', deleted, '--key', key)
    expect(gap.code).toBe(1)
    expect(gap.stdout).toMatch(/index 1\s+deleted_event/)
    const cut = await tampered('cut.jsonl', (l) => l.splice(-2, 2))
    const json = await run('audit', 'verify', cut, '--key', key, '--json')
    expect(json.code).toBe(1)
    const report = JSON.parse(json.stdout)
    expect(report.problems).toEqual([expect.objectContaining({ code: 'truncated_tail', index: 4 })])
  })

  it('verifies an access-log bundle, per grant', async () => {
    const page = await trail.accessLog({ grantId: 'g_1' })
    const bundle = join(dir, 'bundle.json')
    await writeFile(bundle, JSON.stringify({ checkpoint: page!.checkpoint.note, entries: page!.entries }))
    expect((await run('audit', 'verify', bundle, '--key', key, '--grant', 'g_1')).code).toBe(0)
    const wrong = await run('audit', 'verify', bundle, '--key', key, '--grant', 'g_0')
    expect(wrong.code).toBe(1)
    expect(wrong.stdout).toContain('foreign_event')
  })

  it('checks two checkpoints for consistency with a proof', async () => {
    const size = (await trail.latest())!.size
    const older = join(dir, 'old.note')
    const newer = join(dir, 'new.note')
    const proof = join(dir, 'proof.json')
    // The log grows; the old checkpoint of size 3 is what someone kept.
    const first = (await trail.list()).filter((e) => e.index! < 3)
    expect(first).toHaveLength(3)
    await trail.record({ type: 'data.read', actor: { type: 'client', id: 'lender' }, data: {} })
    const now = (await trail.flush())!
    await writeFile(newer, now.note)
    const old = lines[1]! // the export's checkpoint, of `size`
    await writeFile(older, JSON.parse(old).checkpoint)
    const hashes = (await trail.consistencyProof(size, now.size)).map((h) =>
      Buffer.from(h).toString('base64'),
    )
    await writeFile(proof, JSON.stringify({ proof: hashes }))
    const ok = await run('audit', 'verify', '--consistency', older, newer, '--proof', proof, '--key', key)
    expect(ok.code).toBe(0)
    expect(ok.stdout).toContain(`extends the one of size ${size}`)
    await writeFile(proof, JSON.stringify({ proof: hashes.reverse() }))
    const bad = await run('audit', 'verify', '--consistency', older, newer, '--proof', proof, '--key', key)
    expect(bad.code).toBe(1)
    expect(bad.stdout).toContain('INCONSISTENT')
  })

  it('exits 1 when the checkpoint was signed by another key', async () => {
    const other = await loadAuditLogKey(memoryStore(), 'harbor.example/audit')
    const result = await run('audit', 'verify', clean, '--key', other.verifierKey)
    expect(result.code).toBe(1)
    expect(result.stdout).toContain('unknown_key')
  })

  it('exits 2 on usage errors', async () => {
    for (const argv of [
      ['audit', 'verify', clean],
      ['audit', 'verify', '--key', key],
      ['audit', 'verify', join(dir, 'missing.jsonl'), '--key', key],
      ['audit', 'verify', clean, '--key', 'not-a-key'],
      ['audit', 'verify', clean, '--jwks', 'jwks.json'],
      ['audit', 'verify', clean, '--key', key, '--bogus'],
    ]) {
      const result = await run(...argv)
      expect(result.code, argv.join(' ')).toBe(2)
      expect(result.stderr).toContain('Usage: consentry audit verify')
      expect(result.stdout).toBe('')
    }
  })
})

describe('consentry keys generate', () => {
  it('prints the private JWK alone, with kid, alg and use', async () => {
    for (const alg of ['ES256', 'EdDSA', 'PS256']) {
      const result = await run('keys', 'generate', '--alg', alg)
      expect(result.code).toBe(0)
      const priv = JSON.parse(result.stdout) as JWK
      expect(priv).toMatchObject({ alg, use: 'sig', kid: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) })
      expect(priv.d).toEqual(expect.any(String))
      expect(priv).not.toHaveProperty('private')
    }
    expect(JSON.parse((await run('keys', 'generate')).stdout)).toMatchObject({
      kty: 'OKP',
      crv: 'Ed25519',
      alg: 'EdDSA',
    })
    expect((await run('keys', 'generate', '--alg', 'HS256')).code).toBe(2)
  })
})

describe('consentry help', () => {
  it('lists the commands and explains each', async () => {
    const help = await run('help')
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('audit verify')
    expect(help.stdout).toContain('keys generate')
    expect((await run('help', 'audit', 'verify')).stdout).toContain('--key')
    expect((await run('keys', 'generate', '--help')).stdout).toContain('--alg')
    expect((await run()).code).toBe(2)
    const unknown = await run('frobnicate')
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('unknown command "frobnicate"')
  })
})

describe('the consentry binary', () => {
  it('runs from the repository without a build', () => {
    const bin = fileURLToPath(new URL('../bin/consentry.js', import.meta.url))
    const ok = spawnSync(process.execPath, [bin, 'audit', 'verify', clean, '--key', key], {
      encoding: 'utf8',
    })
    expect(ok.stdout).toContain('OK')
    expect(ok.status).toBe(0)
    const bad = spawnSync(process.execPath, [bin, 'audit', 'verify', clean], { encoding: 'utf8' })
    expect(bad.status).toBe(2)
  }, 30_000) // each run starts tsx
})
