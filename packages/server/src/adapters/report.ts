import { areaLogs, describeError, jsonLinesLogger, type LogFields, type Logger } from '../logger.ts'

/** Reports an unexpected error with its fields (request id, method, path, the error described). */
export type Report = (error: unknown, fields: LogFields) => void

/** How an adapter speaks to the operator: unexpected errors and set-up warnings. */
export interface AdapterLog {
  error: Report
  warn: (message: string, fields?: LogFields) => void
}

/**
 * The server's own log, keyed by its handler (`server.fetch`, `server.resource`): an adapter given
 * only the handler still logs through the logger the server was configured with.
 */
const logs = new WeakMap<object, AdapterLog>()

/** Remember how `handler`'s server logs (called once by `createConsentServer`). */
export function setAdapterLog(handler: object, log: AdapterLog): void {
  logs.set(handler, log)
}

/**
 * A logger's calls (pino's shape, area `http`), never throwing: a failing logger must not take the
 * response down with it. The error is described (name, message, stack, redacted) under `err`.
 */
function fromLogger(logger: Logger): AdapterLog {
  const log = areaLogs(logger)('http')
  return {
    error: (error, { error: _described, ...fields }) => {
      const err = describeError(error)
      log.error(
        { event: 'adapter.failed', ...fields, err },
        `unexpected error: ${err.name}${typeof err.message === 'string' ? `: ${err.message.slice(0, 200)}` : ''}`,
      )
    },
    warn: (message, fields) => log.warn({ event: 'adapter.warning', ...fields }, message),
  }
}

/**
 * How an adapter logs its own failures (outside the router, which logs its own) and set-up
 * mistakes: through `logger` when given, else the logger of the server `handler` belongs to, else
 * the default JSON-lines logger on stderr. Never silent.
 */
export function adapterLog(handler: object, logger?: Logger): AdapterLog {
  if (logger) return fromLogger(logger)
  return logs.get(handler) ?? fromLogger(jsonLinesLogger())
}

/** {@link adapterLog}'s error report. */
export const reporterFor = (handler: object, logger?: Logger): Report => adapterLog(handler, logger).error
