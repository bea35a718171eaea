import { UsageError } from './io.ts'

/**
 * Run an argument parser (`node:util` parseArgs), turning its errors (unknown option, missing value…)
 * into {@link UsageError}s.
 *
 * @example
 * ```ts
 * const { values } = usage(() => parseArgs({ args, options: { jwks: { type: 'string' } }, strict: true }))
 * ```
 */
export function usage<T>(parse: () => T): T {
  try {
    return parse()
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error))
  }
}
