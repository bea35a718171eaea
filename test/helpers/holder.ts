/**
 * Harbor Pay (demo data, memory store) for any issuer, with a logger that records what it logs. No
 * test framework here: the Bun and Deno child processes import it too.
 */
import {
  type ConsentServer,
  type ConsentServerConfig,
  createConsentServer,
  type LogFields,
  memoryStore,
} from '@consentry/server'
import { createDemoData } from '../../examples/payment-provider/src/data.ts'
import { INITIAL_ACCESS_TOKEN } from './recipient.ts'

/** What a holder logged: every `error` call with its fields. */
export interface LogCapture {
  errors: Array<{ message: string; fields: LogFields }>
}

/** Harbor Pay's configuration for `issuer`, with a logger that records errors in `log`. */
export function holderConfig(
  issuer: string,
  log: LogCapture = { errors: [] },
  warn: (message: string) => void = () => {},
): ConsentServerConfig {
  const demo = createDemoData()
  return {
    issuer,
    store: memoryStore(),
    dataSource: demo.dataSource,
    accountHolders: { verifyPassword: demo.users.verifyPassword, displayName: demo.users.displayName },
    initialAccessToken: INITIAL_ACCESS_TOKEN,
    theme: { name: 'Harbor Pay' },
    // pino's shape: (fields, message).
    logger: {
      error: (fields, message = '') => log.errors.push({ message, fields }),
      warn: (_fields, message = '') => warn(message),
    },
  }
}

/** A Harbor Pay server for `issuer`, logging errors into `log` and warnings to `warn`. */
export function createHolder(
  issuer: string,
  log: LogCapture = { errors: [] },
  warn?: (message: string) => void,
): Promise<ConsentServer> {
  return createConsentServer(holderConfig(issuer, log, warn))
}
