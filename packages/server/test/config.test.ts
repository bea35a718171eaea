/**
 * Issue 14, "Config": the configuration is validated strictly at start. Unknown options and bad
 * values are refused with their path and a hint; every existing option stays valid; function-valued
 * options are checked for shape and reach the server untouched.
 */
import { exportJWK, generateKeyPair } from 'jose'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import {
  ConfigError,
  type ConsentServerConfig,
  createConsentServer,
  type DataSource,
  keyEncryptionKeyProvider,
  memoryStore,
  type Store,
} from '../src/index.ts'

const dataSource: DataSource = {
  listAccounts: async () => [{ id: 'acc_1', name: 'Wallet', type: 'wallet', currency: 'EUR' }],
  listTransactions: async () => [],
}
const quiet = { error() {}, warn() {}, info() {} }

const base = (): ConsentServerConfig => ({
  issuer: 'http://127.0.0.1:9',
  store: memoryStore(),
  dataSource,
  accountHolders: { verifyPassword: async () => null },
  logger: quiet,
})

/** The ConfigError `config` is refused with. */
async function refusal(config: unknown): Promise<ConfigError> {
  try {
    await createConsentServer(config as ConsentServerConfig)
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError)
    expect((e as ConfigError).code).toBe('invalid_config')
    return e as ConfigError
  }
  throw new Error('the configuration was accepted')
}

const with_ = (extra: Record<string, unknown>) => ({ ...base(), ...extra })
const without = (key: keyof ConsentServerConfig) => {
  const c = base() as unknown as Record<string, unknown>
  delete c[key]
  return c
}

describe('unknown options', () => {
  it('names a misspelled top-level option and the one meant', async () => {
    const e = await refusal(with_({ theem: { name: 'Harbor Pay' } }))
    expect(e.message).toBe('config.theem: unknown option; did you mean "theme"?')
    expect(e.issues).toEqual([{ path: 'config.theem', message: 'unknown option; did you mean "theme"?' }])
  })

  it.each([
    [{ signinKey: {} }, 'config.signinKey: unknown option; did you mean "signingKey"?'],
    [{ Logger: quiet }, 'config.Logger: unknown option; did you mean "logger"?'],
    [{ initialAccessTokens: ['x'.repeat(16)] }, 'did you mean "initialAccessToken"?'],
    [{ theme: { name: 'H', colours: {} } }, 'theme.colours: unknown option; did you mean "colors"?'],
    [
      { theme: { name: 'H', colors: { primry: '#000' } } },
      'theme.colors.primry: unknown option; did you mean "primary"?',
    ],
    [{ lifetimes: { acessToken: 60 } }, 'lifetimes.acessToken: unknown option; did you mean "accessToken"?'],
    [{ egress: { timeout: 100 } }, 'egress.timeout: unknown option; did you mean "timeoutMs"?'],
    [{ signIn: { lockout: true } }, 'signIn.lockout: unknown option; expected one of freeFailures'],
    [
      { accountHolders: { verifyPasword: async () => null } },
      'accountHolders.verifyPasword: unknown option; did you mean "verifyPassword"?',
    ],
    [{ registration: { isConfusable: () => false } }, 'did you mean "isConfusableName"?'],
    [
      { purposes: { credit: { label: 'Credit', description: 'x', text: 'y' } } },
      'purposes.credit.text: unknown option',
    ],
  ])('%j', async (extra, message) => {
    expect((await refusal(with_(extra))).message).toContain(message)
  })

  it('lists the options when nothing is close', async () => {
    const e = await refusal(with_({ colourScheme: 'dark' }))
    expect(e.message).toMatch(
      /^config\.colourScheme: unknown option; expected one of issuer, store, dataSource, /,
    )
  })

  it('explains a removed option', async () => {
    expect((await refusal(with_({ fetch: globalThis.fetch }))).message).toMatch(
      /fetch is no longer a setting/,
    )
  })

  it('reports every problem at once', async () => {
    const e = await refusal(
      with_({ theem: {}, readWindowMs: -1, theme: { name: 'H', colors: { text: 'black' } } }),
    )
    expect(e.issues.map((i) => i.path).sort()).toEqual(['config.theem', 'readWindowMs', 'theme.colors.text'])
    expect(e.message.split('\n')).toHaveLength(4)
    expect(e.message).toMatch(/^invalid configuration:\n {2}/)
  })
})

describe('bad values', () => {
  it('refuses a colour that is not #rrggbb', async () => {
    const e = await refusal(with_({ theme: { name: 'Harbor Pay', colors: { primary: 'blue' } } }))
    expect(e.message).toBe('theme.colors.primary: "blue" is not a colour; use #rrggbb')
  })

  it.each([
    // theme
    [{ theme: { name: 'H', colors: { accent: '#12345' } } }, 'theme.colors.accent: "#12345" is not a colour'],
    [
      { theme: { name: 'H', colors: { background: 0xffffff } } },
      'theme.colors.background: number is not a colour',
    ],
    [{ theme: { colors: {} } }, 'theme.name: required: the holder name shown on the pages'],
    [{ theme: { name: '' } }, 'theme.name: must not be empty'],
    [{ theme: { name: 'H', logoUrl: 42 } }, 'theme.logoUrl: must be a string, not a number'],
    // registration and keys
    [{ initialAccessToken: 'short' }, 'initialAccessToken: must be at least 16 characters'],
    [{ initialAccessToken: ['x'.repeat(16), 7] }, 'initialAccessToken: must be at least 16 characters'],
    [{ signingKey: '{"kty":"EC"}' }, 'signingKey: is a string; pass the parsed JWK: signingKey: JSON.parse('],
    [
      { signingKey: { private: {}, public: {} } },
      'signingKey: is a {private, public} pair; pass the private JWK alone',
    ],
    [{ signingKey: { keys: [] } }, 'signingKey: is a JWKS; pass one private JWK'],
    [{ signingKey: { kty: 'OKP', crv: 'Ed25519', x: 'abc' } }, 'signingKey: is a public key (no "d")'],
    [{ signingKey: { d: 'abc' } }, 'signingKey: is not a JWK (no "kty")'],
    [{ signingKey: [1] }, 'signingKey: must be a private JWK object, not an array'],
    [{ auditSigningKey: { kty: 'OKP', crv: 'Ed25519', x: 'abc' } }, 'auditSigningKey: is a public key'],
    [
      { previousSigningKeys: { kty: 'EC' } },
      'previousSigningKeys: must be an array of public JWKs, not an object',
    ],
    [{ keyEncryptionKey: 32 }, 'keyEncryptionKey: must be a string (32 random bytes, base64url)'],
    [
      { dangerouslyStoreKeysInPlaintext: 'yes' },
      'dangerouslyStoreKeysInPlaintext: must be a boolean, not a string',
    ],
    [{ dangerouslyAllowInsecureIssuer: 1 }, 'dangerouslyAllowInsecureIssuer: must be a boolean'],
    [{ dangerouslyAllowLoopbackEgress: 'true' }, 'dangerouslyAllowLoopbackEgress: must be a boolean'],
    // data options
    [
      { purposes: { 'Credit Check': { label: 'C', description: 'D' } } },
      'purposes.Credit Check: a purpose id is a lowercase identifier',
    ],
    [{ purposes: { credit: { label: 'C' } } }, 'purposes.credit.description: required (string)'],
    [{ detailTypes: [{ schema: {} }] }, 'detailTypes.0.type: required (string)'],
    [{ resourcePath: 5 }, 'resourcePath: must be a path like /api, not a number'],
    [{ resourcePath: 'api' }, 'resourcePath must look like /api'],
    [{ lifetimes: { accessToken: 5 } }, 'lifetimes.accessToken: must be at least 10'],
    [{ lifetimes: { session: 1.5 } }, 'lifetimes.session: '],
    [{ lifetimes: { code: 3600 } }, 'lifetimes.code: must be at most 60'],
    [{ readWindowMs: -1 }, 'readWindowMs: must be at least 1000'],
    [{ webhookRetryDelaysMs: [1000, -5] }, 'webhookRetryDelaysMs.1: must be at least 0'],
    [{ webhookRetryDelaysMs: 1000 }, 'webhookRetryDelaysMs: must be an array, not a number'],
    [{ attendedReadsPerDay: 0 }, 'attendedReadsPerDay: must be a positive integer'],
    [{ attendedReadsPerDay: '5' }, 'attendedReadsPerDay: must be a positive integer, not a string'],
    [{ egress: { timeoutMs: 0 } }, 'egress.timeoutMs: must be an integer from 1 to 60000 (milliseconds)'],
    [{ signIn: { maxFailuresPerAddress: 0 } }, 'signIn.maxFailuresPerAddress: must be at least 1'],
    [
      { trustedProxy: { header: 'x forwarded for' } },
      'trustedProxy.header: a header name, e.g. x-forwarded-for',
    ],
    [{ issuer: 42 }, 'issuer: must be the issuer URL, e.g. https://pay.example.com, not a number'],
    [{ issuer: 'pay.example.com' }, 'issuer must be an absolute URL'],
  ])('%j', async (extra, message) => {
    expect((await refusal(with_(extra))).message).toContain(message)
  })

  it('never echoes a secret value', async () => {
    const secret = 'super-secret-registration-token-that-is-long'
    const e = await refusal(with_({ initialAccessToken: [secret, 'short'], keyEncryptionKey: [secret, 1] }))
    expect(e.message).not.toContain(secret)
    expect(JSON.stringify(e.issues)).not.toContain(secret)
  })
})

describe('function-valued options are checked for shape', () => {
  it.each([
    [
      without('store'),
      'store: required; use memoryStore() for tests, sqliteStore(), postgresStore() or pgliteStore() otherwise',
    ],
    [with_({ store: 'postgres://x' }), 'store: must be a Store, not a string'],
    [with_({ store: { getClient: async () => null } }), 'store.createClient: missing'],
    [without('dataSource'), 'dataSource (or at least one of dataTypes) is required'],
    [with_({ dataTypes: [{ type: 'orders' }] }), 'dataTypes.0: must be a data type made with defineDataType'],
    [
      with_({ dataTypes: { detail: {} } }),
      'dataTypes: must be an array of data types (defineDataType), not an object',
    ],
    [with_({ dataSource: { listAccounts: async () => [] } }), 'dataSource.listTransactions: missing'],
    [
      with_({ dataSource: { ...dataSource, getBalance: 'x' } }),
      'dataSource.getBalance: must be a function, not a string',
    ],
    [
      without('accountHolders'),
      'accountHolders: required: { authenticate } (your login) or { verifyPassword }',
    ],
    [
      with_({ accountHolders: { authenticate: true } }),
      'accountHolders.authenticate: must be a function, not a boolean',
    ],
    [
      with_({ accountHolders: { loginUrl: '/login' } }),
      'accountHolders needs authenticate() or verifyPassword()',
    ],
    [
      with_({ accountHolders: { authenticate: async () => null } }),
      'accountHolders.loginUrl is required with authenticate() alone',
    ],
    [with_({ logger: console.log }), 'logger: must be a logger, not a function'],
    [with_({ logger: { error() {} } }), 'logger.warn: missing; a pino logger, or { error(fields, msg)'],
    [with_({ logger: { ...quiet, child: {} } }), 'logger.child: must be a function, not an object'],
    [with_({ keyProvider: { encrypt: async () => '' } }), 'keyProvider.decrypt: missing'],
    [with_({ egress: { resolve: '127.0.0.1' } }), 'egress.resolve: must be a function, not a string'],
    [
      with_({ registration: { isConfusableName: true } }),
      'registration.isConfusableName: must be a function',
    ],
    [with_({ onError: 'log' }), 'onError: must be a function, not a string'],
    [with_({ now: 1_700_000_000_000 }), 'now: must be a function, not a number'],
    [with_({ insights: { categorize: 'income' } }), 'insights.categorize: must be a function'],
    [with_({ insights: { categorise: () => 'income' } }), 'insights.categorise: unknown option'],
  ])('%#', async (config, message) => {
    expect((await refusal(config)).message).toContain(message)
  })

  it('passes them through untouched: a class-instance store, a pino logger, a key provider', async () => {
    // Methods on a prototype (not own properties) are found, and the instance itself is used.
    class CountingStore {
      calls = 0
    }
    const inner = memoryStore()
    for (const name of Object.keys(inner) as (keyof Store)[])
      (CountingStore.prototype as unknown as Record<string, unknown>)[name] = function (
        this: CountingStore,
        ...args: unknown[]
      ) {
        this.calls++
        return (inner[name] as (...a: unknown[]) => unknown)(...args)
      }
    const store = new CountingStore() as unknown as Store & CountingStore
    const lines: string[] = []
    const server = await createConsentServer({
      ...base(),
      store,
      logger: pino({ level: 'info' }, { write: (l: string) => void lines.push(l) }),
      keyProvider: keyEncryptionKeyProvider(Buffer.alloc(32, 7).toString('base64url')),
    })
    expect(server.store).toBe(store)
    expect(store.calls).toBeGreaterThan(0)
    expect(lines.some((l) => JSON.parse(l).event === 'server.started')).toBe(true)
  })
})

describe('every existing option stays valid', () => {
  it('starts with all of them set', async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { extractable: true })
    const { privateKey: logKey } = await generateKeyPair('EdDSA', { extractable: true })
    const { publicKey: old } = await generateKeyPair('ES256', { extractable: true })
    const config: Required<ConsentServerConfig> = {
      ...base(),
      dataSource,
      issuer: 'http://127.0.0.1:9/holder',
      accountHolders: {
        authenticate: async () => null,
        loginUrl: '/signin',
        verifyPassword: async () => null,
        displayName: () => 'Alice',
      },
      initialAccessToken: ['a-long-registration-token-1', 'a-long-registration-token-2'],
      signingKey: { ...(await exportJWK(privateKey)), kid: 'tok-1', alg: 'EdDSA' },
      previousSigningKeys: [{ ...(await exportJWK(old)), kid: 'tok-0', alg: 'ES256' }],
      purposes: { credit_assessment: { label: 'Credit', description: 'To lend.' } },
      detailTypes: [],
      dataTypes: [],
      insights: { categorize: (tx) => (tx.category === 'salary' ? 'income' : 'ignore') },
      theme: {
        name: 'Harbor Pay',
        logoUrl: '/logo.png',
        colors: { primary: '#0b5cad', background: '#fff', text: '#123', accent: '#abcdef' },
      },
      resourcePath: '/api/v1',
      lifetimes: {
        accessToken: 300,
        code: 60,
        requestUri: 60,
        interaction: 600,
        maxGrant: 86400,
        session: 1800,
      },
      readWindowMs: 86_400_000,
      onError: () => {},
      now: Date.now,
      webhookRetryDelaysMs: [1000, 5000],
      dangerouslyAllowInsecureIssuer: false,
      attendedReadsPerDay: 10,
      expiryReminderMs: 3 * 86_400_000,
      lifetimeCapFrom: 'grant',
      dangerouslyAllowLoopbackEgress: true,
      egress: { resolve: async () => [{ address: '127.0.0.1', family: 4 }], timeoutMs: 2000 },
      signIn: {
        freeFailures: 3,
        baseDelayMs: 1000,
        maxDelayMs: 60_000,
        pairWindowMs: 3_600_000,
        maxFailuresPerAddress: 50,
        windowMs: 60_000,
      },
      trustedProxy: { header: 'X-Forwarded-For', hops: 1 },
      registration: { isConfusableName: () => false },
      logger: quiet,
      keyEncryptionKey: Buffer.alloc(32, 1).toString('base64url'),
      keyProvider: undefined as never,
      dangerouslyStoreKeysInPlaintext: false,
      auditSigningKey: { ...(await exportJWK(logKey)), kid: 'log-1' },
      sandbox: true, // a loopback issuer: no loud option needed
      dangerouslyAllowSandboxOnPublicIssuer: false,
    }
    delete (config as Partial<ConsentServerConfig>).keyProvider // not both with keyEncryptionKey
    const server = await createConsentServer(config)
    expect(server.urls.resource).toBe('http://127.0.0.1:9/holder/api/v1')
    expect(server.jwks().keys.map((k) => k.kid)).toEqual(expect.arrayContaining(['tok-1', 'tok-0']))
    expect(server.urls.sandboxLink).toBe('http://127.0.0.1:9/holder/sandbox/link')
  })

  it('accepts explicit undefined for optional options', async () => {
    await expect(
      createConsentServer(with_({ theme: undefined, logger: undefined, signIn: undefined })),
    ).resolves.toBeDefined()
  })
})
