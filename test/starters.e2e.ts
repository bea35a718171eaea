/**
 * The starters as a new user gets them: every public package built and `npm pack`ed (what npm would
 * publish), each starter copied to a directory outside the repository whose package.json depends on
 * the tarballs by path, `npm install`ed (third-party packages from the npm cache or registry), and run
 * with its own `npm start` on an ephemeral 127.0.0.1 port. The recipient starter then links an
 * account at the holder starter through the real sign-in and consent forms, reads, and revokes.
 *
 * `npm run test:starters` (not part of `npm test`: building, packing and two installs take minutes).
 * CONSENTRY_STARTER_NODE=/path/to/node runs the starters (and their npm) under another Node.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildPackages, type PackedPackage, packPackages, ROOT, run } from '../scripts/packages.ts'
import { FormBrowser, formAction, hiddenInput } from './helpers/browser.ts'

const node = process.env.CONSENTRY_STARTER_NODE ?? process.execPath
const dir = mkdtempSync(join(tmpdir(), 'consentry-starters-'))
const children: ChildProcess[] = []
let packed: PackedPackage[]

/** The environment of a starter: `npm` and `node` from the Node under test, nothing from this repo. */
function starterEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${dirname(node)}:${process.env.PATH}`, ...extra }
  for (const name of ['DATABASE_URL', 'NODE_OPTIONS', 'CONSENTRY_KEY_ENCRYPTION_KEY', 'VITEST', 'NODE_ENV'])
    if (!(name in extra)) delete env[name]
  return env
}

/**
 * Copy a starter out of the repository and point its @consentry dependencies (and theirs, which npm
 * could not find on the registry before the first release) at the tarballs.
 */
async function installStarter(name: string): Promise<string> {
  const app = join(dir, name)
  mkdirSync(app)
  for (const file of readdirSync(join(ROOT, 'examples', name)))
    if (file !== 'node_modules') copyFileSync(join(ROOT, 'examples', name, file), join(app, file))
  const manifest = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'))
  const byName = new Map(packed.map((p) => [p.name, p]))
  const wanted = new Set<string>()
  const want = (dep: string) => {
    if (!dep.startsWith('@consentry/') || wanted.has(dep)) return
    wanted.add(dep)
    const deps = byName.get(dep)?.manifest.dependencies as Record<string, string> | undefined
    for (const inner of Object.keys(deps ?? {})) want(inner)
  }
  for (const [dep, range] of Object.entries(manifest.dependencies as Record<string, string>)) {
    // What a user copies must ask for the release it was written against (changesets keeps it so).
    if (dep.startsWith('@consentry/')) expect(range, `${name}: ${dep}`).toBe(`^${byName.get(dep)!.version}`)
    want(dep)
  }
  for (const dep of wanted) manifest.dependencies[dep] = `file:${byName.get(dep)!.tarball}`
  writeFileSync(join(app, 'package.json'), JSON.stringify(manifest, null, 2))
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], app)
  return app
}

/** `npm start` in `app`; resolves with the first match of `ready` in its standard output. */
function start(app: string, env: Record<string, string>, ready: RegExp): Promise<string> {
  const child = spawn('npm', ['start'], { cwd: app, env: starterEnv(env), detached: true })
  children.push(child)
  let output = ''
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk
      const m = ready.exec(output)
      if (m) resolve(m[1]!)
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk
    })
    child.once('exit', (code) => reject(new Error(`npm start in ${app} exited ${code}:\n${output}`)))
  })
}

/** Run `npm start` to its end; its exit code and output. */
function runToEnd(
  app: string,
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const child = spawn('npm', ['start'], { cwd: app, env: starterEnv(env) })
  let output = ''
  const collect = (chunk: Buffer) => {
    output += chunk
  }
  child.stdout!.on('data', collect)
  child.stderr!.on('data', collect)
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })))
}

const secret = () => randomBytes(32).toString('base64url')
const holderSecrets = {
  CONSENTRY_KEY_ENCRYPTION_KEY: secret(),
  CONSENTRY_INITIAL_ACCESS_TOKEN: secret(),
  DEMO_PASSWORD: secret(),
}
let holderApp: string
let recipientApp: string

beforeAll(async () => {
  await buildPackages()
  mkdirSync(join(dir, 'tarballs'))
  packed = await packPackages(join(dir, 'tarballs'))
  holderApp = await installStarter('holder-starter')
  recipientApp = await installStarter('recipient-starter')
})

afterAll(() => {
  for (const child of children)
    try {
      process.kill(-child.pid!, 'SIGKILL') // npm and the node it started
    } catch {}
  rmSync(dir, { recursive: true, force: true })
})

describe('starters, installed from the packed tarballs', () => {
  it('the holder starter will not start without its secrets, and says how to make them', async () => {
    const { code, output } = await runToEnd(holderApp, { PORT: '0' })
    expect(code).not.toBe(0)
    expect(output).toMatch(/export CONSENTRY_KEY_ENCRYPTION_KEY=[\w-]{43}\n/)
    expect(output).toMatch(/export CONSENTRY_INITIAL_ACCESS_TOKEN=[\w-]{43}\n/)
  })

  it('link → read → revoke: the recipient starter against the holder starter', async () => {
    const issuer = await start(
      holderApp,
      { PORT: '0', HOST: '127.0.0.1', ...holderSecrets },
      /holder at (\S+) /,
    )
    expect(issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const recipient = await start(
      recipientApp,
      {
        PORT: '0',
        HOST: '127.0.0.1',
        HOLDER_ISSUER: issuer,
        CONSENTRY_INITIAL_ACCESS_TOKEN: holderSecrets.CONSENTRY_INITIAL_ACCESS_TOKEN,
      },
      /recipient at (\S+) /,
    )
    const person = new FormBrowser() // at the holder
    const app = new FormBrowser() // at the recipient

    // Link: the recipient pushes the request and sends the person to the holder.
    const connect = await app.request(`${recipient}/connect`)
    expect(connect.status).toBe(303)
    const authorize = connect.headers.get('location')!
    expect(authorize.startsWith(`${issuer}/`)).toBe(true)

    // The person signs in and allows, on the holder's own forms.
    let { res, url } = await person.follow(authorize, issuer)
    let page = await res.text()
    expect(url).toContain('/login')
    ;({ res, url } = await person.follow(formAction(page, url), issuer, {
      form: { csrf: hiddenInput(page, 'csrf'), username: 'demo', password: holderSecrets.DEMO_PASSWORD },
    }))
    page = await res.text()
    expect(res.status).toBe(200)
    expect(page).toContain('My Lender')
    const allow = await person.request(formAction(page, url), {
      form: {
        csrf: hiddenInput(page, 'csrf'),
        decision: 'allow',
        account: [...page.matchAll(/name="account"[^>]*value="([^"]+)"/g)].map((m) => m[1]!),
        field: [...page.matchAll(/name="field"[^>]*value="([^"]+)"/g)].map((m) => m[1]!),
      },
    })
    expect(allow.status).toBe(303)
    const callback = allow.headers.get('location')!
    expect(callback.startsWith(`${recipient}/callback?`)).toBe(true)

    // Back at the recipient: the code is exchanged and the link kept.
    const completed = await app.request(callback)
    expect(completed.status).toBe(303)
    const linkPath = completed.headers.get('location')!
    expect(linkPath).toMatch(/^\/links\/[\w-]+$/)
    const grantId = linkPath.split('/').pop()!

    // Read: exactly what was asked for and allowed (the recipient asked for 4 fields, 90 days).
    const read = await app.request(`${recipient}${linkPath}`)
    const body = (await read.json()) as {
      grant: { grantId: string; fields: string[] }
      accounts: { id: string; name: string }[]
      transactions: Record<string, unknown>[]
    }
    expect(read.status).toBe(200)
    expect(body.grant.grantId).toBe(grantId)
    expect(body.accounts.map((a) => [a.id, a.name])).toEqual([['acc-1', 'Everyday account']])
    expect(body.transactions.length).toBeGreaterThan(10)
    const oldest = new Date(Date.now() - 91 * 86_400_000).toISOString()
    for (const tx of body.transactions) {
      expect(Object.keys(tx).sort()).toEqual([
        'account_id',
        'amount',
        'booked_at',
        'category',
        'currency',
        'id',
      ])
      expect((tx.booked_at as string) >= oldest).toBe(true)
    }
    expect(body.transactions.map((t) => t.amount)).toEqual(expect.arrayContaining(['2500.00', '-42.30']))

    // The person's "connected apps" at the holder shows the link active …
    const before = await (await person.request(`${issuer}/consents`)).text()
    expect(before).toContain('badge--active')

    // Revoke through the recipient: the holder ends the grant, the recipient forgets it.
    const revoke = await app.request(`${recipient}${linkPath}/revoke`, { method: 'POST' })
    expect(revoke.status).toBe(200)
    expect(await revoke.json()).toEqual({ revoked: grantId })
    const after = await (await person.request(`${issuer}/consents`)).text()
    expect(after).toContain('badge--revoked')
    expect(after).not.toContain('badge--active')
    expect((await app.request(`${recipient}${linkPath}`)).status).toBe(404)
  })
})
