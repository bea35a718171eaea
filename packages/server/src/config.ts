import { type ClientRecord, type DetailType, isLoopbackHost } from '@consentry/core'
import { validateConfig } from './config-schema.ts'
import type { InsightsOptions } from './data-types/affordability-summary.ts'
import { builtInDataTypes } from './data-types/built-in.ts'
import type { DataType } from './data-types/define.ts'
import { type CompiledRoute, compileRoutes } from './data-types/routes.ts'
import { ConfigError } from './errors.ts'
import {
  KEY_ENCRYPTION_KEY_ENV,
  type KeyProvider,
  type SecretProtection,
  secretProtection,
} from './key-encryption.ts'
import {
  type AreaLog,
  areaLogs,
  describeError,
  jsonLinesLogger,
  type LogArea,
  type LogFields,
  type Logger,
} from './logger.ts'
import { DEFAULT_EGRESS_TIMEOUT_MS, type EgressOptions, type EgressResolver } from './net/guarded-fetch.ts'
import type { DataSource } from './resource/data-source.ts'
import type { Store } from './store/store.ts'

/** A signed-in account holder, as your `authenticate` or `verifyPassword` returns them. */
export interface AccountHolder {
  /**
   * Your stable user id for the person (never shown to recipients: they get a pairwise id). The same
   * value your data source is asked about (`listAccounts(subject)`).
   */
  subject: string
  /** Display name for the pages ("Signed in as …"). */
  name?: string
}

/**
 * How the account holder signs in. Plug in your own session, the built-in form, or both; the contract
 * (including `loginUrl` and the absolute `return_to`) is docs/holder-contracts.md.
 */
export interface AccountHolders {
  /**
   * Your own login: return the signed-in person for this request (e.g. from your session cookie), or
   * `null`. When it returns `null` and `loginUrl` is set, the person is sent there with `return_to`.
   */
  authenticate?(request: Request): Promise<AccountHolder | null>
  /**
   * Your login page (absolute, or a path on the issuer). A person who must sign in is sent there (303) with
   * `return_to`: the absolute URL to send them back to once signed in (see docs/holder-contracts.md).
   * Required with `authenticate` alone (without `verifyPassword` there is no built-in form to fall
   * back to).
   */
  loginUrl?: string
  /** The built-in "Username / Password / Sign in" form (demos, small holders): check the password. */
  verifyPassword?(username: string, password: string): Promise<AccountHolder | null>
  /** A display name for a subject (dashboard greeting). */
  displayName?(subject: string): Promise<string | undefined> | string | undefined
}

/** A purpose a recipient may give, and the words the person reads for it. */
export interface Purpose {
  /** Short name shown on the consent page, e.g. `Credit assessment`. */
  label: string
  /** One sentence the person reads: why the recipient wants the data. */
  description: string
}

/** The purposes offered when `purposes` is not configured. */
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

/** The holder's brand on the consent, sign-in and dashboard pages. */
export interface Theme {
  /** The holder's name, as the person knows it (page titles, "… wants to read"). */
  name: string
  /** A path or URL on the issuer origin, or a `data:image/…;base64` URL. */
  logoUrl?: string
  /** CSS colours (checked for contrast by the pages' own stylesheet). */
  colors?: {
    /** Buttons and links. */
    primary?: string
    /** Page background. */
    background?: string
    /** Body text. */
    text?: string
    /** Highlights (the recipient's name, focus rings). */
    accent?: string
  }
}

/** A private signing key as a JWK (`ES256`, `PS256` or `EdDSA`), with its `kid`. */
export type PrivateJwk = {
  /** Key type: `EC`, `RSA` or `OKP`. */
  kty?: string
  /** Key id, published in the JWKS and put in every JWS header. */
  kid?: string
  /** `ES256`, `PS256` or `EdDSA` (inferred from the key when absent). */
  alg?: string
  /** The private part: required. */
  d?: string
  [k: string]: unknown
}

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
  /**
   * Where everything is kept: `memoryStore()` for tests, `sqliteStore()` for one process,
   * `postgresStore()` for several (see docs/stores.md).
   */
  store: Store
  /**
   * The person's accounts and transactions: enables the built-in `transaction_history` data type.
   * Optional when `dataTypes` serves other data (a marketplace's sales, say).
   */
  dataSource?: DataSource
  /**
   * The built-in `affordability_summary` (monthly totals computed from `dataSource`): override how
   * transactions are categorised (docs/affordability.md).
   *
   * @example
   * ```ts
   * insights: { categorize: (tx) => (tx.category === 'savings_sweep' ? 'transfer' : defaultCategorize(tx)) }
   * ```
   */
  insights?: InsightsOptions
  /**
   * Data types beside the built-in ones (see `defineDataType`): each brings its detail schema, its
   * plain words, its routes under the resource and how it reads the holder's data.
   */
  dataTypes?: DataType[]
  /** How the account holder signs in (see docs/holder-contracts.md). */
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
  /** Purposes a recipient may give, by id. Default {@link DEFAULT_PURPOSES}. */
  purposes?: Record<string, Purpose>
  /** Extra authorization detail types beside `transaction_history`. */
  detailTypes?: DetailType[]
  /** Your brand on the pages. Default `{ name: 'Consentry' }`. */
  theme?: Theme
  /** Path of the transaction-history API under the issuer. Default `/api`. */
  resourcePath?: string
  /** Token, code and session lifetimes (seconds); see {@link DEFAULT_LIFETIMES}. */
  lifetimes?: Partial<Lifetimes>
  /** Unattended-read window. Default 24 h. */
  readWindowMs?: number
  /**
   * How long before a grant ends its recipient is sent a `grant-expiring` event (once per expiry;
   * the recipient renews with a Grant Management `replace` the person approves). Default 7 days;
   * `0` sends none.
   */
  expiryReminderMs?: number
  /**
   * Where the cap on a grant's lifetime (`lifetimes.maxGrant`) counts from when a change the person
   * approves sets a new end (a renewal): `'renewal'` (default) — each renewal is a fresh, informed
   * decision on the holder's own page, so it may last up to the cap from that day; `'grant'` — from
   * the day the grant was first given, so no grant outlives the cap and the person must connect
   * again after it (for regimes that require a full re-consent periodically).
   */
  lifetimeCapFrom?: 'renewal' | 'grant'
  /**
   * @deprecated Use `logger`. Called with every unexpected error (after it is logged), e.g. to
   * forward it to an error tracker.
   */
  onError?: (error: unknown) => void
  /** Injectable clock for tests. */
  now?: () => number
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
  /**
   * Let the server's outbound requests (`jwks_uri`, `webhook_uri`, `logo_uri`) reach loopback
   * addresses (127.0.0.0/8, ::1, `localhost`), over `http:` too, and let recipients register such
   * URLs. For local demos and tests only: in production it lets anyone who can register a client
   * make the server call services listening on its own host. Private, link-local and metadata
   * addresses stay unreachable even with it.
   */
  dangerouslyAllowLoopbackEgress?: boolean
  /**
   * Outbound requests. Every one goes through the guarded fetch (https only, public addresses only,
   * checked after DNS resolution, no redirects, size caps, a time budget); these only tune it.
   */
  egress?: EgressConfig
  /**
   * Limits of the built-in sign-in form (see {@link SignInLimits}; every member optional). Only
   * failures count: per (username, client address) pair with growing delays, and per address.
   *
   * @example
   * ```ts
   * signIn: { freeFailures: 5, maxFailuresPerAddress: 100, windowMs: 15 * 60_000 }
   * ```
   */
  signIn?: Partial<SignInLimits>
  /**
   * Behind a reverse proxy, where to read the client's address (sign-in throttling). Absent: the
   * socket's peer address (`nodeListener` passes it; other hosts pass `{ clientAddress }` as the
   * second argument of `fetch`). `header` names the proxy's forwarding header (`x-forwarded-for`,
   * `forwarded` (RFC 7239) or a one-address header such as `x-real-ip`); `hops` (default 1) is how
   * many proxies you run in front: the client is the entry that many places from the right — the
   * right-most one no proxy of yours wrote. Only set this if the server cannot be reached except
   * through those proxies: otherwise anyone can send the header and pick their own address.
   *
   * @example
   * ```ts
   * trustedProxy: { header: 'x-forwarded-for', hops: 1 } // one load balancer in front
   * ```
   */
  trustedProxy?: TrustedProxy
  /** Registration policy beyond the built-in checks. */
  registration?: RegistrationPolicy
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
   * The audit log's key: a private **Ed25519** JWK (`kty: "OKP"`, `crv: "Ed25519"`) that signs the
   * log's checkpoints (C2SP signed notes); any other key type is refused at start. Its note verifier
   * key is published as `audit_log.verifier_key` in the server metadata, and its public JWK in the
   * JWKS under its own `kid` (it never verifies tokens). Absent: an Ed25519 key is generated once and
   * kept in the store (encrypted at rest like every server key), shared by every instance.
   */
  auditSigningKey?: PrivateJwk
  /**
   * Run the **sandbox** (never on by default): recipients testing against this holder get a consented
   * grant for a test person without any page — `POST {issuer}/sandbox/link` with client
   * authentication, a DPoP proof, `subject` and `authorization_details`, answered exactly like the
   * token endpoint's code exchange — and fire a test revocation event with
   * `POST {issuer}/sandbox/revoke`. Both are announced in the metadata (`sandbox_link_endpoint`,
   * `sandbox_revoke_endpoint`) only while this is on. The test people and their accounts are this
   * holder's own: whoever `accountHolders.displayName` names or a data type's `listScope` lists items
   * for. Every sandbox grant is audited and shown on the person's dashboard like any other.
   *
   * Anyone who can register a client can then read any person's data without their consent: an issuer
   * on any host but localhost / 127.0.0.0/8 / ::1 is refused at start (a `ConfigError`) unless
   * {@link dangerouslyAllowSandboxOnPublicIssuer} is also set. A warning is logged at start.
   *
   * @example
   * ```ts
   * createConsentServer({ issuer: 'http://localhost:4000', ..., sandbox: true })
   * ```
   */
  sandbox?: boolean
  /**
   * Let {@link sandbox} run on an issuer that is not loopback (a shared staging holder on
   * `https://sandbox.pay.example`, say). Never on a holder with real people's data: any registered
   * client could give itself a grant to any of them.
   */
  dangerouslyAllowSandboxOnPublicIssuer?: boolean
}

/** Tuning of the guarded outbound fetch. Nothing here can turn the address checks off. */
export interface EgressConfig {
  /**
   * Resolve host names (default: the OS resolver, `dns.lookup`). Every address it returns is
   * checked, and the connection goes to exactly those addresses.
   */
  resolve?: EgressResolver
  /** Budget of one outbound request, DNS to last byte. Default 5000 ms. */
  timeoutMs?: number
}

/** Registration decisions the holder can make. */
export interface RegistrationPolicy {
  /**
   * Called when a new `client_name` has the same confusable skeleton (Unicode TR39) as clients
   * already registered — e.g. "Beacon Lending" and "Beac0n Lendíng". Return `true` to refuse the
   * registration with `invalid_client_metadata`. Default: allowed (one recipient may register more
   * than once under its name). A name confusable with the holder's own `theme.name` is always refused.
   *
   * @example
   * ```ts
   * registration: {
   *   isConfusableName: (name, _skeleton, existing) => existing.some((c) => c.clientName !== name),
   * }
   * ```
   */
  isConfusableName?(
    name: string,
    skeleton: string,
    existingClients: ClientRecord[],
  ): boolean | Promise<boolean>
}

/** Where a reverse proxy puts the client's address: see {@link ConsentServerConfig.trustedProxy}. */
export interface TrustedProxy {
  /** The forwarding header: `x-forwarded-for`, `forwarded` or a one-address header such as `x-real-ip`. */
  header: string
  /** How many proxies of yours are in front (default 1). */
  hops?: number
}

/**
 * Sign-in throttling (built-in form). Only failures count. Per (username, client address) pair the
 * first `freeFailures` are free; after that, each next attempt from that pair must wait
 * `baseDelayMs`, doubling per failure, at most `maxDelayMs` (attempts during the wait get 429 +
 * `Retry-After` without the password being checked). A success resets the pair. Per client address,
 * at most `maxFailuresPerAddress` failures (any usernames) per `windowMs` (password spraying).
 */
export interface SignInLimits {
  /** Failures per (username, address) before delays start. Default 5. */
  freeFailures: number
  /** The first delay; it doubles with each further failure. Default 1 s. */
  baseDelayMs: number
  /** The longest delay. Default 15 minutes. */
  maxDelayMs: number
  /** A pair's failures are counted in a window this long from its first failure. Default 24 h. */
  pairWindowMs: number
  /** Failures per client address, whatever the username, per `windowMs`. Default 100. */
  maxFailuresPerAddress: number
  /** Window of `maxFailuresPerAddress`, from the address's first failure. Default 15 minutes. */
  windowMs: number
}

/** The built-in form's sign-in limits when `signIn` is not configured. */
export const DEFAULT_SIGN_IN_LIMITS: SignInLimits = {
  freeFailures: 5,
  baseDelayMs: 1000,
  maxDelayMs: 15 * 60_000,
  pairWindowMs: 24 * 3_600_000,
  maxFailuresPerAddress: 100,
  windowMs: 15 * 60_000,
}

/** Lifetimes in seconds. */
export interface Lifetimes {
  /** Access token lifetime. Default 300. */
  accessToken: number
  /** Authorization code lifetime (at most 60). Default 60. */
  code: number
  /** Pushed request (`request_uri`) lifetime. Default 60. */
  requestUri: number
  /** Time the person has to sign in and decide. Default 600. */
  interaction: number
  /** Cap on a grant's `expires_in`. */
  maxGrant: number
  /** Longest a person stays signed in to the dashboard. */
  session: number
}

/** The lifetimes used for every member `lifetimes` leaves out. */
export const DEFAULT_LIFETIMES: Lifetimes = {
  accessToken: 300,
  code: 60,
  requestUri: 60,
  interaction: 600,
  maxGrant: 365 * 86400,
  session: 1800,
}

export interface ResolvedConfig
  extends Omit<
    ConsentServerConfig,
    'lifetimes' | 'purposes' | 'detailTypes' | 'dataTypes' | 'theme' | 'signIn' | 'trustedProxy'
  > {
  issuer: string
  lifetimes: Lifetimes
  purposes: Record<string, Purpose>
  /** Every detail type accepted: the data types' and any schema-only extras. */
  detailTypes: DetailType[]
  /** The data types served: built-in ones (from `dataSource`) first, then the holder's. */
  dataTypes: DataType[]
  /** Every data type's routes, compiled. */
  routes: CompiledRoute[]
  theme: Theme
  resourcePath: string
  readWindowMs: number
  expiryReminderMs: number
  lifetimeCapFrom: 'renewal' | 'grant'
  initialAccessTokens: string[]
  now: () => number
  /** Resolved guarded-fetch options (`allowLoopback` from `dangerouslyAllowLoopbackEgress`). */
  egressOptions: EgressOptions
  logger: Logger
  /** The logger of one area (`resource`, `token`, `audit`…): never throws; `debug` only when traced. */
  log: (area: LogArea) => AreaLog
  /**
   * Report an unexpected error: logged at `error` under `fields.area` (default `server`) with the
   * error described (redacted), then the deprecated `onError` hook.
   */
  onError: (error: unknown, fields?: LogFields & { area?: LogArea }) => void
  /** Configured secrets, removed verbatim from anything logged. */
  secrets: string[]
  secretProtection: SecretProtection
  webhookRetryDelaysMs: number[]
  secureCookies: boolean
  attendedReadsPerDay: number
  signIn: SignInLimits
  trustedProxy?: { header: string; hops: number }
  /** The sandbox endpoints are served (see {@link ConsentServerConfig.sandbox}). */
  sandbox: boolean
}

/** Validate the configuration once, at start-up, and fill in defaults. Throws {@link ConfigError}. */
export function resolveConfig(config: ConsentServerConfig): ResolvedConfig {
  if (!config || typeof config !== 'object' || Array.isArray(config))
    throw new ConfigError('createConsentServer needs a configuration object')
  // Types, ranges, unknown options and the shape of function-valued options (config-schema.ts).
  const parsed = validateConfig(config)
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
  if (!config.dataSource && !config.dataTypes?.length)
    throw new ConfigError('dataSource (or at least one of dataTypes) is required')
  if (!config.accountHolders.authenticate && !config.accountHolders.verifyPassword)
    throw new ConfigError('accountHolders needs authenticate() or verifyPassword()')
  // Without the built-in form, a person who is not signed in must be sent to the holder's own login:
  // with no loginUrl, /login would redirect to itself forever.
  if (!config.accountHolders.verifyPassword && !config.accountHolders.loginUrl)
    throw new ConfigError(
      'accountHolders.loginUrl is required with authenticate() alone (where to send a person who is not signed in)',
    )
  const tokens = config.initialAccessToken === undefined ? [] : [config.initialAccessToken].flat()
  const resourcePath = config.resourcePath ?? '/api'
  if (!/^\/[a-z0-9/_-]*[a-z0-9_-]$/i.test(resourcePath))
    throw new ConfigError('resourcePath must look like /api')
  const theme = config.theme ?? { name: 'Consentry' }
  const attendedReadsPerDay = config.attendedReadsPerDay ?? 50
  // (validated by the config schema)
  const expiryReminderMs = config.expiryReminderMs ?? 7 * 86_400_000
  const lifetimeCapFrom = config.lifetimeCapFrom ?? 'renewal'
  if (theme.logoUrl !== undefined && !isSelfOrDataImage(theme.logoUrl, issuerUrl))
    throw new ConfigError(
      'theme.logoUrl must be a path or URL on the issuer origin, or a data:image URL (pages allow no other images)',
    )
  const timeoutMs = config.egress?.timeoutMs ?? DEFAULT_EGRESS_TIMEOUT_MS
  const limits = { ...DEFAULT_SIGN_IN_LIMITS, ...parsed.signIn }
  if (limits.maxDelayMs < limits.baseDelayMs)
    throw new ConfigError('signIn.maxDelayMs must be at least signIn.baseDelayMs')
  if (limits.pairWindowMs < limits.maxDelayMs)
    throw new ConfigError('signIn.pairWindowMs must be at least signIn.maxDelayMs')
  const sandbox = checkSandbox(config, issuerUrl)
  const dataTypes = [
    ...(config.dataSource ? builtInDataTypes(config.dataSource, config.insights) : []),
    ...(config.dataTypes ?? []),
  ]
  const logger = config.logger ?? jsonLinesLogger()
  const log = areaLogs(logger)
  const secrets = [
    ...tokens,
    ...[config.keyEncryptionKey ?? []].flat(),
    ...(envValue(KEY_ENCRYPTION_KEY_ENV)
      ?.split(',')
      .map((s) => s.trim()) ?? []),
  ].filter((s) => typeof s === 'string' && s.trim().length >= 8)
  const onError = (error: unknown, { area = 'server', ...fields }: LogFields & { area?: LogArea } = {}) => {
    const err = describeError(error, secrets)
    const summary = `${err.name}${typeof err.message === 'string' ? `: ${err.message.slice(0, 200)}` : ''}`
    log(area).error({ event: 'unexpected_error', ...fields, err }, `unexpected error: ${summary}`)
    try {
      config.onError?.(error)
    } catch {} // a failing hook must not turn an error response into a crash
  }
  return {
    ...config,
    issuer: issuerUrl.href.replace(/\/$/, ''),
    lifetimes: { ...DEFAULT_LIFETIMES, ...parsed.lifetimes },
    purposes: config.purposes ?? DEFAULT_PURPOSES,
    dataTypes,
    routes: compileRoutes(dataTypes),
    detailTypes: [
      ...dataTypes.map((t) => t.detail),
      ...(config.detailTypes ?? []).filter((t) => !dataTypes.some((d) => d.detail.type === t.type)),
    ],
    theme,
    resourcePath,
    readWindowMs: config.readWindowMs ?? 86_400_000,
    expiryReminderMs,
    lifetimeCapFrom,
    initialAccessTokens: tokens,
    now: config.now ?? Date.now,
    egressOptions: {
      allowLoopback: config.dangerouslyAllowLoopbackEgress === true,
      timeoutMs,
      ...(config.egress?.resolve ? { resolve: config.egress.resolve } : {}),
    },
    logger,
    log,
    onError,
    secrets,
    secretProtection: secretProtection(config),
    webhookRetryDelaysMs: config.webhookRetryDelaysMs ?? [1000, 5000, 30_000, 120_000, 600_000],
    secureCookies: !insecure,
    attendedReadsPerDay,
    signIn: limits,
    trustedProxy: parsed.trustedProxy,
    sandbox,
  }
}

/**
 * The sandbox hands out grants nobody consented to: only where no real person can be (a loopback
 * issuer), unless the loud option says the holder knows what it is doing.
 */
function checkSandbox(config: ConsentServerConfig, issuer: URL): boolean {
  if (config.sandbox !== true) return false
  if (!isLoopbackHost(issuer.hostname) && config.dangerouslyAllowSandboxOnPublicIssuer !== true)
    throw new ConfigError(
      `sandbox is refused on the public issuer ${issuer.origin}: any registered client could obtain a grant to any person's data without their consent. Run the sandbox on localhost, or set dangerouslyAllowSandboxOnPublicIssuer: true on a holder that has only test people.`,
    )
  return true
}

const envValue = (name: string): string | undefined =>
  (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name]

/** The pages' CSP is `img-src 'self' data:`: the theme logo must be on the issuer origin or inline. */
function isSelfOrDataImage(value: string, issuer: URL): boolean {
  if (/^data:image\/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/=]+$/.test(value)) return true
  try {
    return new URL(value, issuer).origin === issuer.origin && !value.startsWith('//')
  } catch {
    return false
  }
}
