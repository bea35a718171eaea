/**
 * `consentry register` against a real running data holder (Harbor Pay over HTTP): the config it
 * writes is one `createConsentClient` can link with; a refused token fails without echoing it.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createConsentClient, type RegisteredClient } from '@consentry/client'
import { memoryStore } from '@consentry/server'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type HarborPay, startHarborPay } from '../../../examples/payment-provider/src/app.ts'
import { HISTORY_DETAIL } from '../../../test/helpers/recipient.ts'
import { run } from './helpers/run.ts'

const TOKEN = 'cli-test-initial-access-token-7f3a9c'
const REDIRECT = 'http://127.0.0.1:9/callback'

let holder: HarborPay
let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'consentry-cli-register-'))
  holder = await startHarborPay({
    store: memoryStore(),
    port: 0,
    publicHost: '127.0.0.1',
    maintenance: false,
    initialAccessToken: TOKEN,
  })
})
afterAll(async () => {
  await holder?.close()
  await rm(dir, { recursive: true, force: true })
})

const args = (...extra: string[]) => [
  'register',
  '--issuer',
  holder.issuer,
  '--name',
  'Beacon Lending',
  '--redirect-uri',
  REDIRECT,
  ...extra,
]

describe('consentry register', () => {
  it('writes a config (mode 0600) that createConsentClient can link with', async () => {
    const file = join(dir, 'client.json')
    const result = await run(
      ...args('--initial-access-token', TOKEN, '--redirect-uri', 'http://127.0.0.1:9/other', '--out', file),
    )
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    const config = JSON.parse(await readFile(file, 'utf8')) as RegisteredClient
    expect(config).toMatchObject({
      issuer: holder.issuer,
      clientName: 'Beacon Lending',
      alg: 'ES256',
      redirectUri: REDIRECT,
      redirectUris: [REDIRECT, 'http://127.0.0.1:9/other'],
    })
    expect(config.privateKey.d).toEqual(expect.any(String))
    // The summary names the client, never the key.
    expect(result.stdout).toContain(`as client ${config.clientId}`)
    expect(result.stdout).not.toContain(config.privateKey.d)

    const client = createConsentClient(config)
    const { url } = await client.startLink({ authorizationDetails: [HISTORY_DETAIL] })
    expect(new URL(url).searchParams.get('client_id')).toBe(config.clientId)
    expect(url.startsWith(`${holder.issuer}/`)).toBe(true)

    // An existing config (and its key) is never replaced; nothing is registered.
    const again = await run(...args('--initial-access-token', TOKEN, '--out', file))
    expect(again.code).toBe(2)
    expect(again.stderr).toContain(`${file} exists`)
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(config)
  })

  it('takes the token from $CONSENTRY_INITIAL_ACCESS_TOKEN and prints the config without --out', async () => {
    vi.stubEnv('CONSENTRY_INITIAL_ACCESS_TOKEN', TOKEN)
    try {
      const result = await run(...args('--alg', 'EdDSA', '--webhook-uri', 'http://127.0.0.1:9/events'))
      expect(result).toMatchObject({ code: 0, stderr: '' })
      const config = JSON.parse(result.stdout) as RegisteredClient
      expect(config).toMatchObject({ alg: 'EdDSA', webhookUri: 'http://127.0.0.1:9/events' })
      expect(config.privateKey).toMatchObject({ kty: 'OKP', d: expect.any(String) })
    } finally {
      vi.unstubAllEnvs()
    }
  })

  it('exits 1 on a wrong token, without printing it or leaving a file', async () => {
    const wrong = 'wrong-token-do-not-print-5d1e'
    const file = join(dir, 'refused.json')
    const result = await run(...args('--initial-access-token', wrong, '--out', file))
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('consentry register: ')
    expect(result.stderr).toContain('initial access token')
    expect(result.stderr).not.toContain(wrong)
    expect(result.stdout).toBe('')
    await expect(stat(file)).rejects.toThrow()
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([])
  })

  it('exits 2 on usage errors, before contacting the holder', async () => {
    const taken = join(dir, 'taken.json')
    await writeFile(taken, '{}')
    vi.stubEnv('CONSENTRY_INITIAL_ACCESS_TOKEN', '')
    try {
      for (const argv of [
        ['register', '--issuer', holder.issuer, '--name', 'X', '--redirect-uri', REDIRECT], // no token
        ['register', '--initial-access-token', TOKEN, '--name', 'X', '--redirect-uri', REDIRECT],
        ['register', '--issuer', holder.issuer, '--initial-access-token', TOKEN, '--redirect-uri', REDIRECT],
        ['register', '--issuer', holder.issuer, '--initial-access-token', TOKEN, '--name', 'X'],
        args('--initial-access-token', TOKEN, '--alg', 'HS256'),
        args('--initial-access-token', TOKEN, '--webhook-uri', 'http://lender.example/events'),
        ['register', '--issuer', 'http://holder.example', '--initial-access-token', TOKEN, '--name', 'X'],
        args('--initial-access-token', TOKEN, '--out', taken),
        args('--initial-access-token', TOKEN, '--out', join(dir, 'missing', 'client.json')),
      ]) {
        const result = await run(...argv)
        expect(result.code, argv.join(' ')).toBe(2)
        expect(result.stderr).toContain('Usage: consentry register')
        expect(result.stdout).toBe('')
      }
    } finally {
      vi.unstubAllEnvs()
    }
  })
})
