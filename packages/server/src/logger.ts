/** Structured fields of a log line. Never put request bodies, credentials or tokens in them. */
export type LogFields = Record<string, unknown>

/**
 * Where the server writes what operators need to know: unexpected errors (`error`, with the message,
 * stack and request id), loud warnings about unsafe settings (`warn`), and start-up notes (`info`).
 * Consentry never passes request bodies, `Authorization`/`DPoP`/`Cookie` headers or tokens to it.
 *
 * @example
 * ```ts
 * import pino from 'pino'
 * const log = pino()
 * createConsentServer({ ...config, logger: {
 *   error: (msg, fields) => log.error(fields, msg),
 *   warn: (msg, fields) => log.warn(fields, msg),
 *   info: (msg, fields) => log.info(fields, msg),
 * } })
 * ```
 */
export interface Logger {
  /** An unexpected error (message, stack, request id): someone should look. */
  error(message: string, fields?: LogFields): void
  /** A loud warning: an unsafe setting, a recipient misbehaving. */
  warn(message: string, fields?: LogFields): void
  /** Start-up notes. Optional. */
  info?(message: string, fields?: LogFields): void
}

/**
 * The default logger: one JSON object per line on stderr (`{"level","time","msg",...fields}`), the
 * format log collectors ingest without configuration.
 *
 * @example
 * ```ts
 * const logger = jsonLinesLogger((line) => process.stdout.write(`${line}\n`))
 * ```
 */
export function jsonLinesLogger(write: (line: string) => void = (line) => console.error(line)): Logger {
  const emit =
    (level: string) =>
    (message: string, fields: LogFields = {}) => {
      let line: string
      try {
        line = JSON.stringify({ level, time: new Date().toISOString(), msg: message, ...fields })
      } catch {
        line = JSON.stringify({ level, time: new Date().toISOString(), msg: message })
      }
      write(line)
    }
  return { error: emit('error'), warn: emit('warn'), info: emit('info') }
}

/** Anything shaped like a compact JWS/JWT (an access token, a proof, an assertion). */
const JWT_LIKE = /eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*/g

const scrub = (text: string) => text.replace(JWT_LIKE, '[redacted]')

/**
 * What is logged of an unexpected error: its name, message, stack and (database errors) code —
 * never its other members, which may hold query parameters or request data. Token-shaped strings are
 * redacted from the message and stack.
 *
 * @example
 * ```ts
 * myLogger.error('job failed', describeError(err)) // { name, message, stack, code? }
 * ```
 */
export function describeError(error: unknown): LogFields {
  if (!(error instanceof Error)) return { name: typeof error }
  const code = (error as { code?: unknown }).code
  return {
    name: error.name,
    message: scrub(error.message),
    ...(error.stack ? { stack: scrub(error.stack) } : {}),
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
  }
}
