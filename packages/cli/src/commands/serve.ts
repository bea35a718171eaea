import { stat } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { isLoopbackHost } from '@consentry/core'
import type { ConsentServerConfig, Store } from '@consentry/server'
import { usage } from '../args.ts'
import { type Command, type Io, UsageError } from '../io.ts'
import { openEmbeddedStore } from '../stores.ts'

/** Environment variables `serve` reads for what the config file leaves out. */
export const SERVE_ENV = {
  signingKey: 'CONSENTRY_SIGNING_JWK',
  auditSigningKey: 'CONSENTRY_AUDIT_SIGNING_JWK',
  initialAccessToken: 'CONSENTRY_INITIAL_ACCESS_TOKEN',
} as const

/** What a config file may add beside the server configuration: where to listen. */
export interface ServeOptions {
  /** Default 4000; 0 picks a free port. */
  port?: number
  /** Default 127.0.0.1 (this machine only). */
  host?: string
}

/** The default export of a config file: the configuration, or a (sync or async) function returning it. */
export type ServeConfig = Partial<ConsentServerConfig> & ServeOptions

/**
 * `consentry serve --config <file>`: run a data holder from a config file, so a holder can try
 * Consentry without writing a server. Exit 0 after SIGINT/SIGTERM, 1 on a failure, 2 on a usage or
 * configuration error.
 */
export const serve: Command = {
  name: ['serve'],
  summary: 'run a data holder from a config file (consentry.config.mjs)',
  usage: `Usage: consentry serve --config <file> [--port <n>] [--host <address>]
                       [--data-dir <dir> | --database-url <url>]

  Runs a data holder: an HTTP server on <host>:<port> serving createConsentServer(config), with
  background maintenance (expiry, webhooks, audit checkpoints), until SIGINT or SIGTERM.

  The config file is an ES module (.mjs or .js) whose default export is the configuration
  createConsentServer takes — or a function, sync or async, returning it — plus where to listen:
    export default { dataSource, accountHolders, theme: { name: 'Harbor Pay' }, port: 4000 }
  A sample with a small in-file data source: consentry.config.mjs in this package's examples/.

  What the file leaves out is filled in:
    issuer              http://<host>:<port> (loopback only; set issuer for anything public)
    store               PostgreSQL (--database-url, else $DATABASE_URL), SQLite (--data-dir), else
                        memory: nothing survives a restart (said at start)
    signingKey          $${SERVE_ENV.signingKey} (a private JWK: consentry keys generate --out)
    auditSigningKey     $${SERVE_ENV.auditSigningKey}
    initialAccessToken  $${SERVE_ENV.initialAccessToken}
  A persistent store needs its keys encrypted: set CONSENTRY_KEY_ENCRYPTION_KEY.

  --config <file>        the config module (default ./consentry.config.mjs)
  --port <n>             overrides the file's port (default 4000; 0: any free port)
  --host <address>       overrides the file's host (default 127.0.0.1)
  --data-dir <dir>       keep everything in an embedded database: <dir>/consentry.db (SQLite; one
                         process at a time), or a PGlite directory an earlier release made there
  --database-url <url>   keep everything in PostgreSQL

  Logs: JSON lines on stderr (DEBUG=consentry:* adds trace lines), or the config's logger.
  Exit status: 0 stopped by a signal, 1 failure, 2 usage or configuration error.
`,
  async run(args, io) {
    const { values, positionals } = usage(() =>
      parseArgs({
        args,
        options: {
          config: { type: 'string', default: 'consentry.config.mjs' },
          port: { type: 'string' },
          host: { type: 'string' },
          'data-dir': { type: 'string' },
          'database-url': { type: 'string' },
        },
        strict: true,
        allowPositionals: true,
      }),
    )
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`)
    if (values['data-dir'] !== undefined && values['database-url'] !== undefined)
      throw new UsageError('give --data-dir or --database-url, not both')
    const file = resolve(values.config)
    if (!(await stat(file).catch(() => null))?.isFile())
      throw new UsageError(`cannot read ${values.config} (give --config <file>)`)

    const loaded = await loadConfig(file)
    const { port: filePort, host: fileHost, ...config } = loaded
    const port = values.port !== undefined ? portOf(values.port, '--port') : (filePort ?? 4000)
    if (!Number.isInteger(port) || port < 0 || port > 65_535)
      throw new UsageError(`${values.config}: port must be an integer from 0 to 65535`)
    const host = values.host ?? fileHost ?? '127.0.0.1'
    if (typeof host !== 'string' || host === '')
      throw new UsageError(`${values.config}: host must be a string`)
    if (config.issuer === undefined && !isLoopbackHost(host))
      throw new UsageError(
        `listening on ${host} needs an issuer in ${values.config}: the public https URL people reach it at`,
      )
    return run(
      file,
      config,
      { port, host, dataDir: values['data-dir'], databaseUrl: values['database-url'] },
      io,
    )
  },
}

const portOf = (text: string, what: string) => {
  if (!/^\d{1,5}$/.test(text)) throw new UsageError(`${what} must be a number from 0 to 65535`)
  return Number(text)
}

async function loadConfig(file: string): Promise<ServeConfig> {
  let module: { default?: unknown }
  try {
    module = await import(pathToFileURL(file).href)
  } catch (error) {
    // The holder's own module failed to load: show its error as it is (their code, their secrets).
    throw new Error(`cannot load ${file}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    })
  }
  let value = module.default
  if (typeof value === 'function') value = await (value as () => unknown)()
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new UsageError(`${file} must default-export the configuration object (or a function returning it)`)
  return value as ServeConfig
}

interface Listen {
  port: number
  host: string
  dataDir: string | undefined
  databaseUrl: string | undefined
}

async function run(file: string, fileConfig: Partial<ConsentServerConfig>, listen: Listen, io: Io) {
  const { createServer } = await import('node:http')
  const server = await import('@consentry/server')
  const env = process.env
  // Listen first (port 0 = any free port), then name the issuer after the port actually bound.
  let handle: Parameters<typeof createServer>[1] = (_req, res) => void res.writeHead(503).end()
  const http = createServer((req, res) => handle!(req, res))
  server.guardNodeServer(http)
  await new Promise<void>((ok, fail) => http.once('error', fail).listen(listen.port, listen.host, ok))
  const { port } = http.address() as AddressInfo
  const url = `http://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${port}`

  let store: Store | undefined
  let storeNote = 'from the config file'
  let ownStore = false
  let stopMaintenance = () => {}
  let flush = async () => {}
  const stop = async () => {
    stopMaintenance()
    // Integrate what was recorded, so the audit log's last events are under a signed checkpoint.
    await flush().catch(() => {})
    http.closeAllConnections()
    await new Promise<void>((ok) => http.close(() => ok()))
    if (ownStore) await store?.close().catch(() => {})
  }
  try {
    if (fileConfig.store) store = fileConfig.store
    else {
      ownStore = true
      const databaseUrl = listen.databaseUrl ?? (listen.dataDir === undefined ? env.DATABASE_URL : undefined)
      if (databaseUrl) {
        const { postgresStore } = await import('@consentry/store-postgres')
        store = await postgresStore({ connectionString: databaseUrl })
        storeNote = 'PostgreSQL'
      } else if (listen.dataDir !== undefined) {
        const opened = await openEmbeddedStore(listen.dataDir, { create: true })
        store = opened.store
        storeNote = `embedded ${opened.kind} in ${listen.dataDir}`
      } else {
        store = server.memoryStore()
        storeNote = 'memory: nothing survives a restart (--data-dir or --database-url to keep it)'
      }
    }
    const config = {
      ...fileConfig,
      issuer: fileConfig.issuer ?? url,
      store,
      ...fromEnv('signingKey', fileConfig, env),
      ...fromEnv('auditSigningKey', fileConfig, env),
      ...(fileConfig.initialAccessToken === undefined && env[SERVE_ENV.initialAccessToken]
        ? { initialAccessToken: env[SERVE_ENV.initialAccessToken] }
        : {}),
    } as ConsentServerConfig
    const holder = await server.createConsentServer(config)
    handle = server.nodeListener(holder.fetch)
    stopMaintenance = holder.startMaintenance(30_000)
    flush = async () => void (await holder.audit.flush())
    const name = config.theme?.name ?? 'Consentry'
    io.stdout(
      [
        `listening on ${url}`,
        `  ${name}, issuer ${holder.urls.issuer}`,
        `  metadata:        ${holder.urls.metadata}`,
        `  connected apps:  ${holder.urls.consents}`,
        `  store:           ${storeNote}`,
        `  registration:    ${config.initialAccessToken ? `POST ${holder.urls.register} with the initial access token` : 'closed (no initialAccessToken)'}`,
        '',
      ].join('\n'),
    )
  } catch (error) {
    await stop()
    if ((error as { code?: unknown }).code === 'invalid_config') {
      io.stderr(`consentry serve: ${file}:\n  ${(error as Error).message.replace(/\n/g, '\n  ')}\n`)
      return 2
    }
    throw error
  }
  const signal = await new Promise<NodeJS.Signals>((ok) => {
    const on = (s: NodeJS.Signals) => {
      process.off('SIGINT', on)
      process.off('SIGTERM', on)
      ok(s)
    }
    process.on('SIGINT', on)
    process.on('SIGTERM', on)
  })
  io.stderr(`consentry serve: ${signal}, stopping\n`)
  await stop()
  return 0
}

/** A key from its environment variable (a private JWK as JSON), unless the file sets it. */
function fromEnv(
  option: 'signingKey' | 'auditSigningKey',
  config: Partial<ConsentServerConfig>,
  env: NodeJS.ProcessEnv,
): Partial<ConsentServerConfig> {
  const name = SERVE_ENV[option]
  const text = env[name]
  if (config[option] !== undefined || !text) return {}
  try {
    return { [option]: JSON.parse(text) }
  } catch {
    // Never echo the value: it is a private key.
    throw new UsageError(`$${name} is not JSON: set it to the private JWK file's content`)
  }
}
