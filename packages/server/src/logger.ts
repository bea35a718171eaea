/** Structured fields of a log line. Never put request bodies, credentials or tokens in them. */
export type LogFields = Record<string, unknown>

/**
 * Where the server writes what operators need to know, in pino's shape — `logger.error(fields, msg)`:
 * a pino logger (or anything with the same methods) plugs in as it is. Consentry calls
 *
 * - `error` for unexpected errors (`event: "request.failed"`, with `request_id`, method, path and
 *   `err`: the error's name, message, stack, code and causes),
 * - `warn` for loud warnings about unsafe settings and recipients' webhooks given up on,
 * - `info` for start-up notes (`event: "server.started"`),
 * - `debug` for trace lines (`event: "request"`, `"audit.checkpoint"`, `"webhook.attempt"`…),
 * - `child({ area })` once per area (`resource`, `token`, `audit`…), when the logger has it.
 *
 * Only `error` and `warn` are required. Consentry never passes request bodies, `Authorization`,
 * `DPoP` or `Cookie` headers, tokens or keys to it, and redacts token-shaped strings from error
 * messages and stacks.
 *
 * @example
 * ```ts
 * import pino from 'pino'
 * createConsentServer({ ...config, logger: pino({ level: 'info' }) })
 * ```
 */
export interface Logger {
  error(fields: LogFields, message?: string): void
  warn(fields: LogFields, message?: string): void
  info?(fields: LogFields, message?: string): void
  debug?(fields: LogFields, message?: string): void
  /** A logger that adds `bindings` to every line (pino's `child`). */
  child?(bindings: LogFields): Logger
  /** pino's level check; when present, debug fields are only built if `debug` is enabled. */
  isLevelEnabled?(level: string): boolean
}

/**
 * The areas Consentry traces. A request's area is its endpoint's (`/api/…` is `resource`, `/token`
 * is `token`…); `audit`, `webhook` and `maintenance` are background work. With the default logger,
 * `DEBUG=consentry:<area>` (or `consentry:*`) turns an area's trace lines on.
 */
export const LOG_AREAS = [
  'http',
  'discovery',
  'register',
  'par',
  'authorize',
  'token',
  'grants',
  'consents',
  'signin',
  'resource',
  'audit',
  'webhook',
  'maintenance',
  'server',
] as const
export type LogArea = (typeof LOG_AREAS)[number]

/** Options of {@link jsonLinesLogger}. */
export interface JsonLinesLoggerOptions {
  /** Where each line goes. Default: stderr (`console.error`). */
  write?: (line: string) => void
  /**
   * Which areas' `debug` lines to write, in the `DEBUG` variable's syntax: namespaces separated by
   * commas or spaces, `*` as a wildcard, `-` to exclude — `consentry:*`, `consentry:resource,consentry:token`,
   * `consentry:*,-consentry:http`. Default: the `DEBUG` environment variable (none when unset).
   */
  debug?: string
}

/**
 * The default logger: one JSON object per line on stderr (`{"level","time","msg",...fields}`), the
 * format log collectors ingest without configuration. `error`, `warn` and `info` lines are always
 * written; `debug` lines only for the areas `DEBUG` names (`DEBUG=consentry:*` for all).
 *
 * @example
 * ```ts
 * const logger = jsonLinesLogger({ write: (line) => process.stdout.write(`${line}\n`), debug: 'consentry:resource' })
 * ```
 */
export function jsonLinesLogger(options: JsonLinesLoggerOptions | ((line: string) => void) = {}): Logger {
  const opts = typeof options === 'function' ? { write: options } : options
  const write = opts.write ?? ((line: string) => console.error(line))
  const enabled = debugMatcher(opts.debug ?? envDebug())
  const make = (bindings: LogFields): Logger => {
    const emit = (level: string) => (fields?: LogFields | string, message?: string) => {
      // pino also takes `(message)` alone; so does this.
      const [f, msg] = typeof fields === 'string' ? [{}, fields] : [fields ?? {}, message]
      const head = { level, time: new Date().toISOString(), ...(msg === undefined ? {} : { msg }) }
      let line: string
      try {
        line = JSON.stringify({ ...head, ...bindings, ...f })
      } catch {
        line = JSON.stringify({ ...head, ...bindings }) // a cyclic or BigInt field: keep the line
      }
      write(line)
    }
    const debug = emit('debug')
    const areaOf = (fields?: LogFields | string) =>
      (typeof fields === 'object' && typeof fields?.area === 'string' ? fields.area : bindings.area) as
        | string
        | undefined
    return {
      error: emit('error'),
      warn: emit('warn'),
      info: emit('info'),
      debug: (fields, message) => {
        if (enabled(`consentry:${areaOf(fields) ?? 'server'}`)) debug(fields, message)
      },
      child: (more) => make({ ...bindings, ...more }),
      isLevelEnabled: (level) =>
        level === 'debug'
          ? enabled(`consentry:${typeof bindings.area === 'string' ? bindings.area : 'server'}`)
          : level !== 'trace',
    }
  }
  return make({})
}

const envDebug = (): string | undefined =>
  (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.DEBUG

/**
 * A matcher for `DEBUG`-style namespace lists (the `debug` package's syntax): `a:*,-a:b`.
 *
 * @example
 * ```ts
 * debugMatcher('consentry:*,-consentry:http')('consentry:resource') // true
 * ```
 */
export function debugMatcher(spec: string | undefined): (namespace: string) => boolean {
  const include: RegExp[] = []
  const exclude: RegExp[] = []
  for (const part of (spec ?? '').split(/[\s,]+/)) {
    if (!part) continue
    const negated = part.startsWith('-')
    const body = (negated ? part.slice(1) : part).replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*?')
    ;(negated ? exclude : include).push(new RegExp(`^${body}$`))
  }
  if (include.length === 0) return () => false
  return (ns) => !exclude.some((r) => r.test(ns)) && include.some((r) => r.test(ns))
}

/**
 * What the server itself logs through: one per area, never throwing (a failing logger must not turn
 * an answer into a crash), `debug` a no-op unless the area is traced.
 */
export interface AreaLog {
  error(fields: LogFields, message: string): void
  warn(fields: LogFields, message: string): void
  info(fields: LogFields, message: string): void
  debug(fields: LogFields, message: string): void
  /** Whether `debug` lines go anywhere (build costly fields only when so). */
  readonly tracing: boolean
}

/**
 * The per-area logs of a logger: `child({ area })` when it has children, else the area is added to
 * each line's fields. Created once per area.
 */
export function areaLogs(logger: Logger): (area: LogArea) => AreaLog {
  const cache = new Map<LogArea, AreaLog>()
  return (area) => {
    let log = cache.get(area)
    if (!log) {
      log = areaLog(logger, area)
      cache.set(area, log)
    }
    return log
  }
}

function areaLog(logger: Logger, area: LogArea): AreaLog {
  let target: Logger = logger
  let extra: LogFields = { area }
  if (typeof logger.child === 'function') {
    try {
      target = logger.child({ area })
      extra = {}
    } catch {}
  }
  const call = (level: 'error' | 'warn' | 'info' | 'debug') => (fields: LogFields, message: string) => {
    try {
      const fn = target[level]
      if (typeof fn === 'function') fn.call(target, { ...extra, ...fields }, message)
    } catch {}
  }
  const hasDebug = typeof target.debug === 'function'
  return {
    error: call('error'),
    warn: call('warn'),
    info: call('info'),
    debug: call('debug'),
    // Asked each time: a pino logger's level can change while the server runs.
    get tracing() {
      if (!hasDebug) return false
      if (typeof target.isLevelEnabled !== 'function') return true
      try {
        return target.isLevelEnabled('debug') !== false
      } catch {
        return true
      }
    },
  }
}

/** Anything shaped like a compact JWS/JWT (an access token, a proof, an assertion). */
const JWT_LIKE = /eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*/g
/** Credentials after an HTTP authentication scheme: `Bearer …`, `DPoP …`, `Basic …`. */
const AUTH_SCHEME = /\b(Bearer|DPoP|Basic)\s+[\w~+/.=-]{8,}/gi
/** A long base64url/hex run: opaque tokens (codes, refresh tokens, session ids are 43 characters). */
const LONG_OPAQUE = /(?<![\w-])[A-Za-z0-9_-]{40,}(?![\w-])/g
/** The password in a URL's user info: `postgres://user:secret@host`. */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi
/** A PEM private key. */
const PEM_PRIVATE = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g
/** A JWK's private members, should a key land in a message: `"d":"…"`. */
const JWK_PRIVATE = /("(?:d|p|q|dp|dq|qi|k)"\s*:\s*")[^"]*"/g

const MAX_TEXT = 4000

/**
 * Redact what looks like a credential from free text (an error message or stack): JWTs, credentials
 * after `Bearer`/`DPoP`/`Basic`, opaque token-length strings, URL passwords, PEM and JWK private keys,
 * and each of `secrets` (the configured registration tokens and key-encryption keys) verbatim.
 *
 * @example
 * ```ts
 * redact('refused Bearer abcdefgh12345678') // 'refused Bearer [redacted]'
 * ```
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text
  for (const s of secrets) if (s.length >= 8) out = out.split(s).join('[redacted]')
  return out
    .replace(PEM_PRIVATE, '[redacted private key]')
    .replace(JWK_PRIVATE, '$1[redacted]"')
    .replace(JWT_LIKE, '[redacted]')
    .replace(AUTH_SCHEME, '$1 [redacted]')
    .replace(URL_PASSWORD, '$1[redacted]@')
    .replace(LONG_OPAQUE, '[redacted]')
}

/**
 * What is logged of an unexpected error: its name, message, stack, (database errors) code and, up to
 * three deep, its `cause` — never its other members, which may hold query parameters or request data.
 * Credential-shaped strings are redacted from messages and stacks (see {@link redact}); `secrets` are
 * removed verbatim. A thrown non-Error is described by its type (and its text when it is a string or
 * has a `message`).
 *
 * @example
 * ```ts
 * logger.error({ err: describeError(error) }, 'unexpected error')
 * ```
 */
export function describeError(error: unknown, secrets: readonly string[] = [], depth = 0): LogFields {
  if (!(error instanceof Error)) {
    if (typeof error === 'string') return { name: 'string', message: redact(error, secrets) }
    const message = (error as { message?: unknown } | null)?.message
    return {
      name: error === null ? 'null' : typeof error,
      ...(typeof message === 'string' ? { message: redact(message, secrets) } : {}),
    }
  }
  const code = (error as { code?: unknown }).code
  const cause = (error as { cause?: unknown }).cause
  const errors = error instanceof AggregateError ? error.errors.slice(0, 5) : []
  return {
    name: error.name,
    message: redact(error.message, secrets),
    ...(error.stack ? { stack: redact(error.stack, secrets) } : {}),
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    ...(cause !== undefined && depth < 3 ? { cause: describeError(cause, secrets, depth + 1) } : {}),
    ...(errors.length && depth < 3
      ? { errors: errors.map((e) => describeError(e, secrets, depth + 1)) }
      : {}),
  }
}
