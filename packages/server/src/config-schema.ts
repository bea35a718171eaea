/**
 * The strict, zod-validated shape of {@link ConsentServerConfig}, checked once at start-up: an unknown
 * option or a bad value is a {@link ConfigError} naming its path and how to fix it —
 *
 * ```text
 * config.theem: unknown option; did you mean "theme"?
 * theme.colors.primary: "blue" is not a colour; use #rrggbb
 * ```
 *
 * Data options are parsed (ranges, formats); function-valued options (`store`, `dataSource`,
 * `accountHolders`, `logger`, `keyProvider`, `egress.resolve`…) are checked for shape — the methods
 * Consentry calls are there — and passed through untouched. Cross-field rules (an https issuer, key
 * types, `signIn.maxDelayMs ≥ baseDelayMs`) stay in `resolveConfig`. Values are echoed in messages
 * only where they cannot be secret (colours, header names); never a token or a key.
 */
import { z } from 'zod'
import type { ConsentServerConfig } from './config.ts'
import { ConfigError, type ConfigIssue } from './errors.ts'

const DAY_MS = 24 * 3_600_000

export const lifetimesSchema = z
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

export const signInSchema = z
  .object({
    freeFailures: z.number().int().min(0).max(1000),
    baseDelayMs: z.number().int().min(1).max(DAY_MS),
    maxDelayMs: z.number().int().min(1).max(DAY_MS),
    pairWindowMs: z.number().int().min(1000).max(DAY_MS),
    maxFailuresPerAddress: z.number().int().min(1).max(1_000_000),
    windowMs: z.number().int().min(1000).max(DAY_MS),
  })
  .partial()
  .strict()

export const trustedProxySchema = z
  .object({
    header: z
      .string()
      .regex(/^[a-z0-9-]{1,64}$/i, 'a header name, e.g. x-forwarded-for')
      .transform((h) => h.toLowerCase()),
    hops: z.number().int().min(1).max(16).default(1),
  })
  .strict()

const HEX_COLOUR = /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/
const colour = z.unknown().superRefine((value, ctx) => {
  if (typeof value === 'string' && HEX_COLOUR.test(value)) return
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : String(typeof value)
  ctx.addIssue({ code: 'custom', message: `${shown} is not a colour; use #rrggbb` })
})

type Kind = 'required' | 'optional'

/**
 * An object (or class instance) whose named members must be functions. Checked, never copied: the
 * holder's store, data source or logger reaches the server as it was given.
 */
const withMethods = (
  what: string,
  members: Record<string, Kind>,
  hint: string,
  other: Record<string, z.ZodType> = {},
) =>
  z.unknown().superRefine((value, ctx) => {
    if (value === null || typeof value !== 'object') {
      ctx.addIssue({
        code: 'custom',
        message: `${value === undefined ? 'required' : `must be ${what}, not ${describe(value)}`}; ${hint}`,
      })
      return
    }
    const v = value as Record<string, unknown>
    for (const [name, kind] of Object.entries(members)) {
      const member = v[name]
      if (member === undefined && kind === 'optional') continue
      if (typeof member !== 'function')
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: `${member === undefined ? 'missing' : `must be a function, not ${describe(member)}`}; ${hint}`,
        })
    }
    for (const [name, schema] of Object.entries(other)) {
      const result = schema.safeParse(v[name])
      if (!result.success)
        for (const issue of result.error.issues)
          ctx.addIssue({ ...issue, path: [name, ...issue.path] } as Parameters<typeof ctx.addIssue>[0])
    }
  })

const describe = (value: unknown) =>
  value === null
    ? 'null'
    : Array.isArray(value)
      ? 'an array'
      : `${/^[aeiou]/.test(typeof value) ? 'an' : 'a'} ${typeof value}`

const fn = (hint: string) =>
  z.unknown().superRefine((value, ctx) => {
    if (typeof value !== 'function')
      ctx.addIssue({ code: 'custom', message: `must be a function, not ${describe(value)}; ${hint}` })
  })

/** A private JWK as `JSON.parse(file)` gives it; catches the usual mix-ups (a string, a key pair, a public key). */
const privateJwk = (option: string) =>
  z.unknown().superRefine((value, ctx) => {
    const issue = (message: string) => ctx.addIssue({ code: 'custom', message })
    if (typeof value === 'string')
      return issue(`is a string; pass the parsed JWK: ${option}: JSON.parse(readFileSync(file, 'utf8'))`)
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      return issue(`must be a private JWK object, not ${describe(value)}`)
    const v = value as Record<string, unknown>
    if ('private' in v && 'public' in v)
      return issue(
        'is a {private, public} pair; pass the private JWK alone (consentry keys generate --out writes it as <name>.private.jwk.json)',
      )
    if (Array.isArray(v.keys)) return issue('is a JWKS; pass one private JWK (consentry keys generate --out)')
    if (typeof v.kty !== 'string') return issue('is not a JWK (no "kty")')
    if (typeof v.d !== 'string')
      return issue('is a public key (no "d"); pass the private JWK (<name>.private.jwk.json)')
  })

const stringOrStrings = (minLength: number, message: string) =>
  z.union([z.string().min(minLength), z.array(z.string().min(minLength))], { error: message })

const STORE_METHODS = [
  'createClient',
  'getClient',
  'getOrCreateSecret',
  'createGrant',
  'getGrant',
  'transitionGrant',
  'appendAuditEvent',
  'integrateAuditEvents',
  'deleteExpired',
] as const

/** The whole configuration; see {@link ConsentServerConfig} for each option's meaning. */
export const configSchema = z.strictObject({
  issuer: z.string({ error: 'the issuer URL, e.g. https://pay.example.com' }),
  store: withMethods(
    'a Store',
    Object.fromEntries(STORE_METHODS.map((m) => [m, 'required'])),
    'use memoryStore() for tests, sqliteStore(), postgresStore() or pgliteStore() otherwise',
  ),
  dataSource: withMethods(
    'a DataSource',
    { listAccounts: 'required', listTransactions: 'required', getBalance: 'optional' },
    'the data source has async listAccounts(subject) and listTransactions(query)',
  ).optional(),
  dataTypes: z
    .array(
      z.unknown().superRefine((value, ctx) => {
        const v = value as { detail?: { type?: unknown }; handlers?: unknown } | null
        if (!v || typeof v !== 'object' || typeof v.detail?.type !== 'string' || !v.handlers)
          ctx.addIssue({
            code: 'custom',
            message: 'must be a data type made with defineDataType({ detail, words, handlers })',
          })
      }),
      { error: 'an array of data types (defineDataType)' },
    )
    .optional(),
  insights: z
    .strictObject(
      { categorize: fn('(tx) => "income" | "spending" | "refund" | "transfer" | "ignore"').optional() },
      { error: '{ categorize(tx) } (see docs/affordability.md)' },
    )
    .optional(),
  accountHolders: z.strictObject(
    {
      authenticate: fn('async (request) => ({ subject }) | null').optional(),
      loginUrl: z.string().min(1).optional(),
      verifyPassword: fn('async (username, password) => ({ subject }) | null').optional(),
      displayName: fn('(subject) => string').optional(),
    },
    { error: '{ authenticate } (your login) or { verifyPassword } (the built-in form)' },
  ),
  initialAccessToken: stringOrStrings(
    16,
    'must be at least 16 characters (one string, or an array of them)',
  ).optional(),
  signingKey: privateJwk('signingKey').optional(),
  previousSigningKeys: z
    .array(z.record(z.string(), z.unknown()), { error: 'an array of public JWKs' })
    .optional(),
  purposes: z
    .record(
      z
        .string()
        .regex(/^[a-z][a-z0-9_]{0,63}$/, 'a purpose id is a lowercase identifier such as credit_assessment'),
      z.strictObject({ label: z.string().min(1), description: z.string().min(1) }),
    )
    .optional(),
  detailTypes: z
    .array(z.looseObject({ type: z.string().min(1, 'a detail type needs its type name') }))
    .optional(),
  theme: z
    .strictObject({
      name: z.string({ error: 'the holder name shown on the pages' }).min(1, 'must not be empty'),
      logoUrl: z.string().optional(),
      colors: z
        .strictObject({
          primary: colour.optional(),
          background: colour.optional(),
          text: colour.optional(),
          accent: colour.optional(),
        })
        .optional(),
    })
    .optional(),
  resourcePath: z.string({ error: 'a path like /api' }).optional(),
  lifetimes: lifetimesSchema.optional(),
  readWindowMs: z
    .number()
    .int()
    .min(1000)
    .max(366 * DAY_MS)
    .optional(),
  onError: fn('(error) => void').optional(),
  now: fn('() => milliseconds since the epoch').optional(),
  webhookRetryDelaysMs: z
    .array(
      z
        .number()
        .int()
        .min(0)
        .max(7 * DAY_MS),
    )
    .max(50)
    .optional(),
  dangerouslyAllowInsecureIssuer: z.boolean().optional(),
  attendedReadsPerDay: z
    .number({ error: 'a positive integer' })
    .int('must be a positive integer')
    .min(1, 'must be a positive integer')
    .optional(),
  expiryReminderMs: z
    .number({ error: 'milliseconds before a grant ends (0: no reminders)' })
    .int('must be a whole number of milliseconds')
    .min(0, 'must not be negative (0 sends no reminders)')
    .max(366 * DAY_MS, 'at most 366 days')
    .optional(),
  lifetimeCapFrom: z.enum(['renewal', 'grant'], { error: "'renewal' (default) or 'grant'" }).optional(),
  dangerouslyAllowLoopbackEgress: z.boolean().optional(),
  egress: z
    .strictObject({
      resolve: fn('async (hostname) => [{ address, family }]').optional(),
      timeoutMs: z
        .number({ error: 'an integer from 1 to 60000 (milliseconds)' })
        .int('must be an integer from 1 to 60000 (milliseconds)')
        .min(1, 'must be an integer from 1 to 60000 (milliseconds)')
        .max(60_000, 'must be an integer from 1 to 60000 (milliseconds)')
        .optional(),
    })
    .optional(),
  signIn: signInSchema.optional(),
  trustedProxy: trustedProxySchema.optional(),
  registration: z
    .strictObject({ isConfusableName: fn('(name, skeleton, existingClients) => boolean').optional() })
    .optional(),
  logger: withMethods(
    'a logger',
    { error: 'required', warn: 'required', info: 'optional', debug: 'optional', child: 'optional' },
    'a pino logger, or { error(fields, msg), warn(fields, msg), info?, debug?, child? }',
  ).optional(),
  keyEncryptionKey: stringOrStrings(
    1,
    'must be a string (32 random bytes, base64url) or an array of them',
  ).optional(),
  keyProvider: withMethods(
    'a KeyProvider',
    { encrypt: 'required', decrypt: 'required', needsRewrap: 'optional' },
    'a key provider has async encrypt(name, plaintext) and decrypt(name, ciphertext)',
  ).optional(),
  dangerouslyStoreKeysInPlaintext: z.boolean().optional(),
  auditSigningKey: privateJwk('auditSigningKey').optional(),
  sandbox: z.boolean().optional(),
  dangerouslyAllowSandboxOnPublicIssuer: z.boolean().optional(),
})

// Every option of ConsentServerConfig has its entry above, and nothing else: adding an option to
// the interface without validating it (or the reverse) fails the typecheck here.
type SchemaKeys = keyof z.input<typeof configSchema>
type Missing = Exclude<keyof ConsentServerConfig, SchemaKeys>
type Extra = Exclude<SchemaKeys, keyof ConsentServerConfig>
const _everyOption: [Missing, Extra] extends [never, never] ? true : { missing: Missing; extra: Extra } = true
void _everyOption

/** Options that were removed, with what to do instead. */
const REMOVED: Record<string, string> = {
  fetch: 'fetch is no longer a setting: every outbound request goes through the guarded fetch (see egress)',
}

/**
 * Validate a configuration strictly. Returns the parsed data options (defaults filled in); throws a
 * {@link ConfigError} listing every problem as `path: message`.
 *
 * @example
 * ```ts
 * validateConfig({ ...config, theem: {} }) // ConfigError: config.theem: unknown option; did you mean "theme"?
 * ```
 */
export function validateConfig(config: ConsentServerConfig): z.output<typeof configSchema> {
  for (const key of Object.keys(config)) if (key in REMOVED) throw new ConfigError(REMOVED[key]!)
  const result = configSchema.safeParse(config)
  if (result.success) return result.data
  const issues = result.error.issues.flatMap((issue) => toIssues(issue, config))
  const lines = issues.map((i) => `${i.path}: ${i.message}`)
  throw new ConfigError(lines.length === 1 ? lines[0]! : `invalid configuration:\n  ${lines.join('\n  ')}`, {
    issues,
  })
}

function toIssues(issue: z.core.$ZodIssue, config: unknown): ConfigIssue[] {
  const path = issue.path.map(String)
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys(path)
    return issue.keys.map((key) => {
      const guess = closest(key, known)
      return {
        path: path.length === 0 ? `config.${key}` : [...path, key].join('.'),
        message: `unknown option; ${guess ? `did you mean "${guess}"?` : `expected one of ${known.join(', ')}`}`,
      }
    })
  }
  const value = path.reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], config)
  return [{ path: path.length === 0 ? 'config' : path.join('.'), message: messageOf(issue, value) }]
}

/** zod's default wording made shorter; a message written in the schema is kept as it is. */
function messageOf(issue: z.core.$ZodIssue, value: unknown): string {
  if (issue.code === 'invalid_key') return issue.issues[0]?.message ?? 'invalid key'
  const custom = !/^(Invalid input|Too small|Too big|Invalid)\b/.test(issue.message)
  // A type error's custom message is a noun phrase: "the issuer URL, e.g. https://…".
  if (custom && issue.code === 'invalid_type')
    return value === undefined
      ? `required: ${issue.message}`
      : `must be ${issue.message}, not ${describe(value)}`
  if (custom) return issue.message
  if (issue.code === 'invalid_type')
    return value === undefined
      ? `required (${issue.expected})`
      : `must be ${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}, not ${describe(value)}`
  if (issue.code === 'invalid_value') return issue.message
  if (issue.code === 'too_small' && issue.origin === 'number')
    return `must be at least ${issue.minimum}${issue.inclusive === false ? ' (exclusive)' : ''}`
  if (issue.code === 'too_big' && issue.origin === 'number') return `must be at most ${issue.maximum}`
  if (issue.code === 'too_small' && issue.origin === 'string')
    return issue.minimum === 1 ? 'must not be empty' : `must be at least ${issue.minimum} characters`
  if (issue.code === 'invalid_union' && issue.message.startsWith('Invalid input')) return 'invalid value'
  return issue.message
}

/** The option names allowed at `path` (for "did you mean"). */
function knownKeys(path: string[]): string[] {
  let schema: unknown = configSchema
  for (const segment of path) {
    schema = unwrap(schema)
    const shape = (schema as { shape?: Record<string, unknown> }).shape
    if (!shape) return []
    schema = shape[segment]
  }
  const shape = (unwrap(schema) as { shape?: Record<string, unknown> }).shape
  return shape ? Object.keys(shape) : []
}

function unwrap(schema: unknown): unknown {
  let s = schema
  while (s instanceof z.ZodOptional || s instanceof z.ZodDefault) s = s.unwrap()
  return s
}

/** The known name closest to `name` (case-insensitive edit distance ≤ a third of its length). */
export function closest(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase()
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const candidate of known) {
    const d = distance(lower, candidate.toLowerCase())
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return bestDistance <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined
}

/** Optimal string alignment distance: Levenshtein plus adjacent transpositions ("theem" → "theme"). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i])
  for (let j = 1; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1)
      d[i]![j] = v
    }
  return d[a.length]![b.length]!
}
