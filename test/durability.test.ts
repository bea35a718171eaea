import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { verifyAuditExport } from '@consentry/core'
import { exportAuditLog, sqliteStore } from '@consentry/server'
import { afterAll, describe, expect, it } from 'vitest'
import { HISTORY_DETAIL, insecure, link, oauth, registerRecipient, resourceGet } from './helpers/recipient.ts'

/**
 * The demo on its embedded store (SQLite in its data directory), killed with SIGKILL right after acknowledged
 * writes, then started again: grants, their revocation state and the audit trail are all still there.
 */
const dir = mkdtempSync(join(tmpdir(), 'consentry-durability-'))
let child: ChildProcess | undefined

afterAll(() => {
  child?.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

/** Start the demo holder (its real entry point) and wait until it says it is running. */
async function startDemo(port: number): Promise<ChildProcess> {
  const proc = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', 'examples/payment-provider/src/main.ts'],
    {
      env: {
        ...process.env,
        PORT: String(port),
        CONSENTRY_DATA_DIR: dir,
        HARBOR_PAY_ISSUER: `http://127.0.0.1:${port}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let output = ''
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d) => {
      output += d
      if (output.includes('is running at')) resolve()
    })
    proc.stderr!.on('data', (d) => {
      output += d
    })
    proc.once('exit', (code) => reject(new Error(`demo exited (${code}): ${output}`)))
  })
  return proc
}

async function kill(proc: ChildProcess) {
  const exited = new Promise((r) => proc.once('exit', r))
  proc.kill('SIGKILL')
  await exited
}

describe('durability of the embedded store', () => {
  it(
    'keeps grants, revocations and a verifiable audit trail across SIGKILL',
    { timeout: 120_000 },
    async () => {
      const port = await freePort()
      const issuer = `http://127.0.0.1:${port}`
      child = await startDemo(port)
      const r = await registerRecipient(issuer)
      const kept = await link(issuer, r, [HISTORY_DETAIL])
      const ended = await link(issuer, r, [HISTORY_DETAIL])
      const keptGrant = (kept.tokens as unknown as { grant_id: string }).grant_id
      const endedGrant = (ended.tokens as unknown as { grant_id: string }).grant_id
      expect((await resourceGet(kept.tokens.access_token, `${issuer}/api/accounts`, kept.DPoP)).status).toBe(
        200,
      )
      await oauth.processRevocationResponse(
        await oauth.revocationRequest(r.as, r.client, r.auth, ended.tokens.refresh_token!, insecure),
      )
      const jwks = await (await fetch(`${issuer}/jwks`)).json()
      const { audit_log: log } = await (
        await fetch(`${issuer}/.well-known/oauth-authorization-server`)
      ).json()
      await kill(child) // no shutdown hook runs: only what was committed survives

      child = await startDemo(port)
      // The same signing key, the same active grant: the unexpired access token still reads.
      expect(await (await fetch(`${issuer}/jwks`)).json()).toEqual(jwks)
      const read = await resourceGet(kept.tokens.access_token, `${issuer}/api/accounts`, kept.DPoP)
      expect(read.status).toBe(200)
      // The revoked grant stays revoked.
      const refused = await resourceGet(ended.tokens.access_token, `${issuer}/api/accounts`, ended.DPoP)
      expect(refused.status).toBe(401)
      await kill(child)
      child = undefined

      // Open the database offline (the demo has exited: one process per file) and verify the trail.
      const store = await sqliteStore({ path: join(dir, 'consentry.db') })
      const grant = await store.getGrant(endedGrant)
      expect(grant?.status).toBe('revoked')
      expect((await store.getGrant(keptGrant))?.status).toBe('active')
      const lines: string[] = []
      for await (const line of exportAuditLog({ store, checkpoint: await store.getAuditCheckpoint() }))
        lines.push(line)
      // Events recorded in the last ~100 ms before a SIGKILL may not be integrated yet: they are
      // kept, pending, and the next start integrates them. Nothing acknowledged is lost.
      const pending = await store.listAuditEvents({ pending: true })
      await store.close()
      const report = await verifyAuditExport(lines, { verifierKey: log.verifier_key })
      expect(report.problems.filter((p) => p.severity === 'error')).toEqual([])
      expect(report.verifiedThrough).toBe(report.checkpoint?.size)
      const types = [...report.verified.map((e) => e.type), ...pending.map((e) => e.type)]
      expect(types).toEqual(expect.arrayContaining(['grant.approved', 'data.read', 'grant.revoked']))
      expect(types.filter((t) => t === 'data.read')).toHaveLength(2)
    },
  )
})
