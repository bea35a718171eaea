/**
 * Issue 14: `consentry serve` runs a data holder from a config file — the shipped sample on an
 * ephemeral 127.0.0.1 port, then generated keys on an embedded database whose audit log is exported
 * and verified with the generated public key. The binary is spawned as a holder would run it.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { run } from './helpers/run.ts'

const BIN = fileURLToPath(new URL('../bin/consentry.js', import.meta.url))
const SAMPLE = fileURLToPath(new URL('../examples/consentry.config.mjs', import.meta.url))
const TOKEN = 'serve-test-initial-access-token-5c1e'

interface Serving {
  url: string
  child: ChildProcess
  stdout(): string
  stderr(): string
  /** Resolves with the exit code once the process ends. */
  exited: Promise<number | null>
}

const children: ChildProcess[] = []

/** Spawn `consentry serve …` and wait for its "listening on <url>" line (or its exit). */
function startServe(args: string[], env: Record<string, string> = {}): Promise<Serving> {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], {
    env: {
      ...process.env,
      DEBUG: '',
      CONSENTRY_KEY_ENCRYPTION_KEY: '',
      CONSENTRY_SIGNING_JWK: '',
      CONSENTRY_AUDIT_SIGNING_JWK: '',
      CONSENTRY_INITIAL_ACCESS_TOKEN: TOKEN,
      DATABASE_URL: '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  let out = ''
  let err = ''
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString()
  })
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString()
  })
  const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)))
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m) resolve({ url: m[1]!, child, stdout: () => out, stderr: () => err, exited })
    }
    child.stdout!.on('data', check)
    void exited.then((code) => reject(new Error(`serve exited (${code}) before listening:\n${err}`)))
  })
}

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'consentry-cli-serve-'))
})
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGTERM')
})
afterAll(() => rm(dir, { recursive: true, force: true }))

describe('consentry serve', () => {
  it('runs the sample config on an ephemeral port; DEBUG traces an area; SIGTERM stops it', async () => {
    const serving = await startServe(['--config', SAMPLE, '--port', '0', '--host', '127.0.0.1'], {
      DEBUG: 'consentry:discovery',
    })
    expect(serving.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const res = await fetch(`${serving.url}/.well-known/oauth-authorization-server`)
    expect(res.status).toBe(200)
    const metadata = (await res.json()) as Record<string, unknown>
    expect(metadata.issuer).toBe(serving.url)
    expect(metadata.registration_endpoint).toBe(`${serving.url}/register`)
    expect(serving.stdout()).toContain('store:           memory')

    // The sample's people sign in with the built-in form; its data source answers through the API
    // (linking is covered elsewhere): here, the sign-in page carries the sample's theme.
    const login = await fetch(`${serving.url}/login`)
    expect(await login.text()).toContain('Harbor Pay (sample)')

    // The sample takes its registration token from CONSENTRY_INITIAL_ACCESS_TOKEN.
    const registered = await fetch(`${serving.url}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({}),
    })
    expect(registered.status).toBe(400) // authorized, but an empty registration is invalid
    expect(((await registered.json()) as { error: string }).error).toBe('invalid_client_metadata')

    serving.child.kill('SIGTERM')
    expect(await serving.exited).toBe(0)
    // One JSON line per request of the traced area (discovery), with its request id; the start note.
    const lines = serving
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
    expect(lines.find((l) => l.event === 'server.started')).toMatchObject({
      level: 'info',
      issuer: serving.url,
    })
    const traced = lines.filter((l) => l.level === 'debug')
    expect(traced).toEqual([
      expect.objectContaining({
        area: 'discovery',
        event: 'request',
        path: '/.well-known/oauth-authorization-server',
        status: 200,
        request_id: expect.stringMatching(/^[\w-]{16}$/),
      }),
    ])
    expect(serving.stderr()).toContain('SIGTERM, stopping')
    expect(serving.stderr()).not.toContain(TOKEN)
  }, 120_000)

  it('runs with generated keys on SQLite (--data-dir); the audit export verifies with the generated public key', async () => {
    const keys = join(dir, 'keys')
    expect((await run('keys', 'generate', '--out', keys)).code).toBe(0)
    expect((await run('keys', 'generate', '--out', keys, '--name', 'audit-key')).code).toBe(0)
    const signing = await readFile(join(keys, 'signing-key.private.jwk.json'), 'utf8')
    const audit = await readFile(join(keys, 'audit-key.private.jwk.json'), 'utf8')
    const dataDir = join(dir, 'db')
    const serving = await startServe(['--config', SAMPLE, '--port', '0', '--data-dir', dataDir], {
      CONSENTRY_SIGNING_JWK: signing, // the file's content, as it is
      CONSENTRY_AUDIT_SIGNING_JWK: audit,
      CONSENTRY_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
    })
    expect(serving.stdout()).toContain(`embedded SQLite in ${dataDir}`)
    const jwks = (await (await fetch(`${serving.url}/jwks`)).json()) as { keys: { kid: string }[] }
    expect(jwks.keys.map((k) => k.kid)).toEqual(
      expect.arrayContaining([JSON.parse(signing).kid, JSON.parse(audit).kid]),
    )
    // Something for the audit log: a registration (RFC 7591) with a real key.
    const { publicKey } = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])
    const jwk = { ...(await crypto.subtle.exportKey('jwk', publicKey)), kid: 'k1', alg: 'EdDSA', use: 'sig' }
    delete (jwk as { key_ops?: unknown }).key_ops
    delete (jwk as { ext?: unknown }).ext
    const registered = await fetch(`${serving.url}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({
        client_name: 'Beacon Lending',
        redirect_uris: ['http://127.0.0.1:9/callback'],
        jwks: { keys: [jwk] },
        token_endpoint_auth_method: 'private_key_jwt',
      }),
    })
    expect(registered.status).toBe(201)
    serving.child.kill('SIGTERM')
    expect(await serving.exited).toBe(0)

    // Stopped (a SQLite file is one process at a time): export the log and verify it with the public JWKS.
    const exported = join(dir, 'audit.jsonl')
    const exportRun = await run('audit', 'export', '--data-dir', dataDir, '--out', exported)
    expect(exportRun.stderr).toBe('')
    expect(exportRun.code).toBe(0)
    const verify = await run('audit', 'verify', exported, '--key', join(keys, 'audit-key.public.jwks.json'))
    expect(verify.code).toBe(0)
    expect(verify.stdout).toMatch(/[1-9]\d* entries/)
    expect(verify.stdout).toContain('OK')
  }, 300_000) // a child process under load: generous, never a speed assertion

  it('refuses a misspelled option with its path and a hint (exit 2), before listening', async () => {
    const file = join(dir, 'typo.config.mjs')
    await writeFile(
      file,
      `export default async () => ({
        dataSource: { listAccounts: async () => [], listTransactions: async () => [] },
        accountHolders: { verifyPassword: async () => null },
        theem: { name: 'Harbor Pay' },
        logger: { error() {}, warn() {} },
        port: 0,
      })\n`,
    )
    const result = await run('serve', '--config', file)
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('config.theem: unknown option; did you mean "theme"?')
    expect(result.stdout).toBe('')
  })

  it('refuses a missing config, a bad port, a public host without an issuer, a non-JSON key', async () => {
    expect((await run('serve', '--config', join(dir, 'nope.mjs'))).stderr).toContain('cannot read')
    for (const argv of [
      ['--config', join(dir, 'nope.mjs')],
      ['--config', SAMPLE, '--port', 'eighty'],
      ['--config', SAMPLE, '--port', '70000'],
      ['--config', SAMPLE, '--host', '0.0.0.0'],
      ['--config', SAMPLE, '--data-dir', dir, '--database-url', 'postgres://x'],
    ]) {
      const result = await run('serve', ...argv)
      expect(result.code, argv.join(' ')).toBe(2)
      expect(result.stderr).toContain('Usage: consentry serve')
    }
    const previous = process.env.CONSENTRY_SIGNING_JWK
    process.env.CONSENTRY_SIGNING_JWK = 'not json, maybe a secret'
    try {
      const result = await run('serve', '--config', SAMPLE, '--port', '0')
      expect(result.code).toBe(2)
      expect(result.stderr).toContain('$CONSENTRY_SIGNING_JWK is not JSON')
      expect(result.stderr).not.toContain('maybe a secret')
    } finally {
      if (previous === undefined) delete process.env.CONSENTRY_SIGNING_JWK
      else process.env.CONSENTRY_SIGNING_JWK = previous
    }
  })
})

describe('consentry --version', () => {
  it('prints the package version', async () => {
    const { version } = JSON.parse(
      await readFile(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8'),
    ) as { version: string }
    for (const flag of ['--version', '-v']) {
      const result = await run(flag)
      expect(result.code).toBe(0)
      expect(result.stdout).toBe(`${version}\n`)
    }
  })
})
