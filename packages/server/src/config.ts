import { builtInDetailTypes, type DetailType, isLoopbackHost } from '@consentry/core'
import { z } from 'zod'
import { ConfigError } from './errors.ts'
import { type KeyProvider, type SecretProtection, secretProtection } from './key-encryption.ts'
import { describeError, jsonLinesLogger, type LogFields, type Logger } from './logger.ts'
import type { DataSource } from './resource/data-source.ts'
import type { Store } from './store/store.ts'

/** How the account holder signs in. Plug in your own session, the built-in form, or both. */
export interface AccountHolders {
  /**
   * Your own login: return the signed-in person for this request (e.g. from your session cookie), or
   * `null`. When it returns `null` and `loginUrl` is set, the person is sent there with `return_to`.
   */
  authenticate?(request: Request): Promise<{ subject: string; name?: string } | null>
  loginUrl?: string
  /** The built-in "Username / Password / Sign in" form (demos, small holders): check the password. */
  verifyPassword?(username: string, password: string): Promise<{ subject: string; name?: string } | null>
  /** A display name for a subject (dashboard greeting). */
  displayName?(subject: string): Promise<string | undefined> | string | undefined
}

/** A purpose a recipient may give, and the words the person reads for it. */
export interface Purpose {
  label: string
  description: string
}

export const DEFAULT_PURPOSES: Record<string, Purpose> = {
  credit_assessment: {
    label: 'Credit assessment',
    description: 'To decide whether to lend to you and how much, from your income and spending.',
  },
  payment_processing: {
    label: 'Payment processing',
    description: 'To process payments for you and reconcile your sales and payouts.',
  },
  account_verification: {
    label: 'Account verification',
    description: 'To confirm that you own the account and that it is in good standing.',
  },
}

export interface Theme {
  name: string
  logoUrl?: string
  colors?: { primary?: string; background?: string; text?: string; accent?: string }
}

/** A private signing key as a JWK (`ES256`, `PS256` or `EdDSA`), with its `kid`. */
export type PrivateJwk = { kty?: string; kid?: string; alg?: string; d?: string; [k: string]: unknown }

/**
 * The one configuration object of a Consentry server.
 *
 * @example
 * ```ts
 * const server = createConsentServer({
 *   issuer: 'https://pay.example.com',
 *   store: await postgresStore({ connectionString: process.env.DATABASE_URL }),
 *   dataSource,                                   // your accounts and transactions
 *   accountHolders: { authenticate: (req) => mySession(req) },
 *   initialAccessToken: process.env.CONSENTRY_INITIAL_ACCESS_TOKEN,
 *   signingKey: JSON.parse(process.env.CONSENTRY_SIGNING_JWK!),
 *   // Generated secrets are encrypted at rest under CONSENTRY_KEY_ENCRYPTION_KEY (read by default).
 *   logger: myLogger,                             // default: JSON lines on stderr
 * })
 * ```
 */
export interface ConsentServerConfig {
  /** The issuer identifier and base URL the handler is mounted at. https, or http on loopback. */
  issuer: string
  store: Store
  dataSource: DataSource
  accountHolders: AccountHolders
  /** Bearer token(s) that allow RFC 7591 registration. Absent: registration is closed. */
  initialAccessToken?: string | string[]
  /**
   * Key that signs access tokens, receipts, events and audit checkpoints. Absent: one is generated on
   * first start and kept in the store, shared by every instance (fine for demos and small holders;
   * pass your own from a KMS/secret manager in production).
   */
  signingKey?: PrivateJwk
  /**
   * After a rotation: the public JWKs (with their `kid`) of earlier signing keys. They stay in the
   * JWKS and keep verifying what they signed — access tokens until they expire, receipts and audit
   * checkpoints for as long as anyone may check them (keep them published).
   */
  previousSigningKeys?: Array<Record<string, unknown>>
  purposes?: Record<string, Purpose>
  /** Extra authorization detail types beside `transaction_history`. */
  detailTypes?: DetailType[]
  theme?: Theme
  /** Path of the transaction-history API under the issuer. Default `/api`. */
  resourcePath?: string
  lifetimes?: Partial<Lifetimes>
  /** Unattended-read window. Default 24 h. */
  readWindowMs?: number
  /**
   * @deprecated Use `logger`. Called with every unexpected error (after it is logged), e.g. to
   * forward it to an error tracker.
   */
  onError?: (error: unknown) => void
  /** Injectable clock for tests. */
  now?: () => number
  /** `fetch` used for `jwks_uri` and webhooks. */
  fetch?: typeof fetch
  /** Webhook retry schedule in ms. Default 1 s, 5 s, 30 s, 2 min, 10 min. */
  webhookRetryDelaysMs?: number[]
  /**
   * Allow an `http:` issuer on a non-loopback host. Never in production: cookies and tokens would
   * travel in clear text.
   */
  dangerouslyAllowInsecureIssuer?: boolean
  /**
   * Where unexpected errors (message, stack, request id — never bodies, credentials or tokens) and
   * warnings go. Default: JSON lines on stderr.
   */
  logger?: Logger
  /**
   * Key-encryption key(s) for the keys and secrets the server generates and keeps in the store:
   * 32 random bytes, base64url (AES-256-GCM). Several: the first encrypts, all decrypt (rotation).
   * Default: the `CONSENTRY_KEY_ENCRYPTION_KEY` environment variable (comma-separated for several).
   */
  keyEncryptionKey?: string | string[]
  /** Encrypt stored keys and secrets with your KMS instead of a key-encryption key. */
  keyProvider?: KeyProvider
  /**
   * Keep generated keys and secrets in the store in plaintext when no key-encryption key or
   * provider is configured: anyone who can read the database can then forge tokens. Demos only;
   * logged as a warning at start. Not needed with `memoryStore()`, which keeps nothing.
   */
  dangerouslyStoreKeysInPlaintext?: boolean
  /**
   * A separate key for audit-trail checkpoints (default: the token signing key), so the key that
   * attests the trail is not the one online for every token. Its public half is published in the
   * JWKS under its own `kid`.
   */
  auditSigningKey?: PrivateJwk
}

/** Lifetimes in seconds. */
export interface Lifetimes {
  accessToken: number
  code: number
  requestUri: number
  interaction: number
  /** Cap on a grant's `expires_in`. */
  maxGrant: number
  /** Longest a person stays signed in to the dashboard. */
  session: number
}

export const DEFAULT_LIFETIMES: Lifetimes = {
  accessToken: 300,
  code: 60,
  requestUri: 60,
  interaction: 600,
  maxGrant: 365 * 86400,
  session: 1800,
}

const lifetimesSchema = z
  .object({
    accessToken: z.number().int().min(10).max(3600),
    code: z.number().int().min(5).max(60),
    requestUri: z.number().int().min(5).max(599),
    interaction: z.number().int().min(60).max(3600),
    maxGrant: z
      .number()
      .int()
      .min(60)
      .max(10 * 366 * 86400),
    session: z.number().int().min(60).max(86400),
  })
  .partial()
  .strict()

export interface ResolvedConfig
  extends Omit<ConsentServerConfig, 'lifetimes' | 'purposes' | 'detailTypes' | 'theme'> {
  issuer: string
  lifetimes: Lifetimes
  purposes: Record<string, Purpose>
  detailTypes: DetailType[]
  theme: Theme
  resourcePath: string
  readWindowMs: number
  initialAccessTokens: string[]
  now: () => number
  fetch: typeof fetch
  logger: Logger
  /** Report an unexpected error: logged (with `fields`), then the deprecated `onError` hook. */
  onError: (error: unknown, fields?: LogFields) => void
  secretProtection: SecretProtection
  webhookRetryDelaysMs: number[]
  secureCookies: boolean
}

/** Validate the configuration once, at start-up, and fill in defaults. Throws {@link ConfigError}. */
export function resolveConfig(config: ConsentServerConfig): ResolvedConfig {
  if (!config || typeof config !== 'object')
    throw new ConfigError('createConsentServer needs a configuration object')
  let issuerUrl: URL
  try {
    issuerUrl = new URL(config.issuer)
  } catch {
    throw new ConfigError('issuer must be an absolute URL')
  }
  if (issuerUrl.search || issuerUrl.hash) throw new ConfigError('issuer must not have a query or fragment')
  const insecure = issuerUrl.protocol === 'http:'
  if (issuerUrl.protocol !== 'https:' && !insecure) throw new ConfigError('issuer must be an https URL')
  if (insecure && !isLoopbackHost(issuerUrl.hostname) && !config.dangerouslyAllowInsecureIssuer)
    throw new ConfigError('issuer must be https (http is allowed on loopback hosts only)')
  if (!config.store)
    throw new ConfigError(
      'store is required (memoryStore() for tests, postgresStore() or pgliteStore() otherwise)',
    )
  if (!config.dataSource) throw new ConfigError('dataSource is required')
  if (!config.accountHolders?.authenticate && !config.accountHolders?.verifyPassword)
    throw new ConfigError('accountHolders needs authenticate() or verifyPassword()')
  const lifetimes = lifetimesSchema.safeParse(config.lifetimes ?? {})
  if (!lifetimes.success) throw new ConfigError(`lifetimes: ${lifetimes.error.issues[0]?.message}`)
  const tokens = config.initialAccessToken === undefined ? [] : [config.initialAccessToken].flat()
  if (tokens.some((t) => typeof t !== 'string' || t.length < 16))
    throw new ConfigError('initialAccessToken must be at least 16 characters')
  const resourcePath = config.resourcePath ?? '/api'
  if (!/^\/[a-z0-9/_-]*[a-z0-9_-]$/i.test(resourcePath))
    throw new ConfigError('resourcePath must look like /api')
  const theme = config.theme ?? { name: 'Consentry' }
  const logger = config.logger ?? jsonLinesLogger()
  if (typeof logger.error !== 'function' || typeof logger.warn !== 'function')
    throw new ConfigError('logger needs error() and warn()')
  const onError = (error: unknown, fields: LogFields = { error: describeError(error) }) => {
    try {
      logger.error('unexpected error', fields)
      config.onError?.(error)
    } catch {} // a failing logger must not turn an error response into a crash
  }
  return {
    ...config,
    issuer: issuerUrl.href.replace(/\/$/, ''),
    lifetimes: { ...DEFAULT_LIFETIMES, ...lifetimes.data },
    purposes: config.purposes ?? DEFAULT_PURPOSES,
    detailTypes: [...builtInDetailTypes, ...(config.detailTypes ?? [])],
    theme,
    resourcePath,
    readWindowMs: config.readWindowMs ?? 86_400_000,
    initialAccessTokens: tokens,
    now: config.now ?? Date.now,
    fetch: config.fetch ?? globalThis.fetch,
    logger,
    onError,
    secretProtection: secretProtection(config),
    webhookRetryDelaysMs: config.webhookRetryDelaysMs ?? [1000, 5000, 30_000, 120_000, 600_000],
    secureCookies: !insecure,
  }
}
