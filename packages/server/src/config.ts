import { builtInDetailTypes, type DetailType, isLoopbackHost } from '@consentry/core'
import { z } from 'zod'
import { ConfigError } from './errors.ts'
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
   * pass your own from a KMS/secret manager in production). A generated key is EdDSA (Ed25519): it
   * verifies several times faster than ES256, on every read; a store holding an older ES256 key
   * keeps using it.
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
  /** Where the server reports unexpected errors (never with secrets). Default `console.error`. */
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
   * Cap on *attended* reads (requests carrying `x-fapi-customer-ip-address`: the recipient says the
   * person is using its app) per grant, in the same sliding window as unattended reads
   * (`readWindowMs`). The server cannot check the recipient's word, so it bounds it: a recipient that
   * claims the person is present on every request still gets at most this many reads. Default 50.
   */
  attendedReadsPerDay?: number
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
  onError: (error: unknown) => void
  webhookRetryDelaysMs: number[]
  secureCookies: boolean
  attendedReadsPerDay: number
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
  const attendedReadsPerDay = config.attendedReadsPerDay ?? 50
  if (!Number.isInteger(attendedReadsPerDay) || attendedReadsPerDay < 1)
    throw new ConfigError('attendedReadsPerDay must be a positive integer')
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
    onError:
      config.onError ??
      ((e) => console.error('[consentry] unexpected error:', e instanceof Error ? e.name : typeof e)),
    webhookRetryDelaysMs: config.webhookRetryDelaysMs ?? [1000, 5000, 30_000, 120_000, 600_000],
    secureCookies: !insecure,
    attendedReadsPerDay,
  }
}
