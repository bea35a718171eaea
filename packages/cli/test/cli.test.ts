import { spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type CryptoKey, importJWK, type JWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
// The trail is not exported from '@consentry/server' yet: use its source directly.
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
let jwksFile: string
let publicJwk: JWK

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'consentry-cli-'))
  // A key from `consentry keys generate`, a real trail signed with it, exported to a file.
  const keys = JSON.parse((await run('keys', 'generate', '--kid', 'audit-1')).stdout) as {
    private: JWK
    public: JWK
  }
  publicJwk = keys.public
  const trail = createAuditTrail({
    store: memoryStore(),
    logId: 'harbor-pay',
    signingKey: {
      privateKey: (await importJWK(keys.private, 'ES256')) as CryptoKey,
      publicKey: keys.public,
      kid: 'audit-1',
      alg: 'ES256',
    },
  })
  for (let i = 1; i <= 6; i++) {
    await trail.record({
      type: 'data.read',
      actor: { type: 'client', id: 'lender' },
      grantId: 'g_1',
      data: { transactions: i },
    })
    if (i % 3 === 0) await trail.checkpoint()
  }
  lines = []
  for await (const line of trail.export()) lines.push(line)
  clean = join(dir, 'audit.jsonl')
  await writeFile(clean, `${lines.join('\n')}\n`)
  jwksFile = join(dir, 'jwks.json')
  await writeFile(jwksFile, JSON.stringify({ keys: [keys.public] }))
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
    const result = await run('audit', 'verify', clean, '--jwks', jwksFile)
    expect(result).toMatchObject({ code: 0, stderr: '' })
    expect(result.stdout).toContain('log "harbor-pay", 6 events, 2 checkpoints, verified through seq 6')
    expect(result.stdout).toMatch(/^OK: the export verifies$/m)
  })

  it('exits 1 on a tampered export and names the line and seq', async () => {
    // line 3 is event 2
    const file = await tampered('edited.jsonl', (l) => {
      l[2] = l[2]!.replace('"transactions":2', '"transactions":20')
    })
    const result = await run('audit', 'verify', file, '--jwks', jwksFile)
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/error\s+line 3\s+seq 2\s+edited_event/)
    expect(result.stdout).toMatch(/^TAMPERED: 1 error$/m)
  })

  it('reports a deleted event and a cut tail; --json prints the report', async () => {
    const file = await tampered('deleted.jsonl', (l) => {
      l.splice(2, 1) // event 2
      l.splice(l.length - 2, 1) // event 6, its checkpoint stays
    })
    const result = await run('audit', 'verify', file, '--jwks', jwksFile, '--json')
    expect(result.code).toBe(1)
    const report = JSON.parse(result.stdout)
    expect(
      report.problems.map((p: { code: string; line: number; seq: number }) => [p.code, p.line, p.seq]),
    ).toEqual([
      ['deleted_event', 3, 2],
      ['uncovered_events', 5, 4],
      ['truncated_tail', 7, 6],
    ])
  })

  it('warns but exits 0 when the last events have no checkpoint yet; accepts a bare JWK', async () => {
    const file = await tampered('uncovered.jsonl', (l) => {
      l.pop() // the checkpoint over event 6
    })
    const jwk = join(dir, 'key.json')
    await writeFile(jwk, JSON.stringify(publicJwk))
    const result = await run('audit', 'verify', file, '--jwks', jwk)
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/warning\s+line 6\s+seq 4\s+uncovered_events/)
    expect(result.stdout).toContain('OK with 1 warning')
  })

  it('exits 1 when the checkpoints were signed by another key', async () => {
    const other = join(dir, 'other.json')
    await writeFile(
      other,
      JSON.stringify((JSON.parse((await run('keys', 'generate')).stdout) as { public: JWK }).public),
    )
    const result = await run('audit', 'verify', clean, '--jwks', other)
    expect(result.code).toBe(1)
    expect(result.stdout.match(/unknown_key/g)).toHaveLength(2)
  })

  it('exits 2 on usage errors', async () => {
    const notJson = join(dir, 'not.json')
    await writeFile(notJson, 'nope')
    for (const argv of [
      ['audit', 'verify', clean],
      ['audit', 'verify', '--jwks', jwksFile],
      ['audit', 'verify', join(dir, 'missing.jsonl'), '--jwks', jwksFile],
      ['audit', 'verify', clean, '--jwks', notJson],
      ['audit', 'verify', clean, '--jwks', jwksFile, '--bogus'],
    ]) {
      const result = await run(...argv)
      expect(result.code, argv.join(' ')).toBe(2)
      expect(result.stderr).toContain('Usage: consentry audit verify')
      expect(result.stdout).toBe('')
    }
  })
})

describe('consentry keys generate', () => {
  it('prints a private and a public JWK with the same kid', async () => {
    for (const alg of ['ES256', 'EdDSA', 'PS256']) {
      const result = await run('keys', 'generate', '--alg', alg)
      expect(result.code).toBe(0)
      const { private: priv, public: pub } = JSON.parse(result.stdout) as { private: JWK; public: JWK }
      expect(priv).toMatchObject({ alg, use: 'sig', kid: pub.kid })
      expect(priv.d).toEqual(expect.any(String))
      expect(pub).not.toHaveProperty('d')
      expect(pub.kid).toMatch(/^[A-Za-z0-9_-]{43}$/)
    }
    expect((await run('keys', 'generate', '--alg', 'HS256')).code).toBe(2)
  })
})

describe('consentry help', () => {
  it('lists the commands and explains each', async () => {
    const help = await run('help')
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('audit verify')
    expect(help.stdout).toContain('keys generate')
    expect((await run('help', 'audit', 'verify')).stdout).toContain('--jwks')
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
    const ok = spawnSync(process.execPath, [bin, 'audit', 'verify', clean, '--jwks', jwksFile], {
      encoding: 'utf8',
    })
    expect(ok.stdout).toContain('OK')
    expect(ok.status).toBe(0)
    const bad = spawnSync(process.execPath, [bin, 'audit', 'verify', clean], { encoding: 'utf8' })
    expect(bad.status).toBe(2)
  }, 30_000) // each run starts tsx
})
