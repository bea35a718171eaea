import {
  type OAuthErrorCode,
  PROBLEM_CODES,
  type ProblemCode,
  type ProblemDocument,
  problemType,
} from '@consentry/core'

/**
 * The server's error catalogue. Endpoints throw these; the handler turns them into standard responses:
 * OAuth JSON errors (RFC 6749 §5.2), `WWW-Authenticate` challenges (RFC 6750 / 9449) and RFC 9457
 * problem documents. Descriptions are fixed wording — they never echo tokens, codes or secrets.
 */
export class OAuthError extends Error {
  /** Always `OAuthError`. */
  override readonly name = 'OAuthError'
  constructor(
    /** The `error` member (see docs/errors.md). */
    readonly code: OAuthErrorCode,
    /** The `error_description`: fixed wording, never secrets or echoed input. */
    readonly description: string,
    /** HTTP status: 401 for `invalid_client`, else 400 unless given. */
    readonly status = code === 'invalid_client' ? 401 : 400,
    /** Extra response headers (e.g. `WWW-Authenticate`, `DPoP-Nonce`). */
    readonly headers: Record<string, string> = {},
  ) {
    super(`${code}: ${description}`)
  }
}

/** An error at a protected resource, answered with a `WWW-Authenticate: DPoP` challenge. */
export class ResourceAuthError extends Error {
  /** Always `ResourceAuthError`. */
  override readonly name = 'ResourceAuthError'
  constructor(
    /** The `error` of the `WWW-Authenticate: DPoP` challenge (RFC 6750 §3.1, RFC 9449 §7.1). */
    readonly code:
      | 'invalid_token'
      | 'invalid_dpop_proof'
      | 'use_dpop_nonce'
      | 'invalid_request'
      | 'insufficient_scope',
    /** The challenge's `error_description`: fixed wording. */
    readonly description: string,
    /** HTTP status: 400 for `invalid_request`, 403 for `insufficient_scope`, else 401. */
    readonly status = code === 'invalid_request' ? 400 : code === 'insufficient_scope' ? 403 : 401,
    /** Extra response headers. */
    readonly headers: Record<string, string> = {},
  ) {
    super(`${code}: ${description}`)
  }
}

/** An RFC 9457 problem. */
export class ProblemError extends Error {
  /** Always `ProblemError`. */
  override readonly name = 'ProblemError'
  /** HTTP status, from the code's entry in `PROBLEM_CODES`. */
  readonly status: number
  constructor(
    /** Stable code, also the last part of the `type` URN (see docs/errors.md). */
    readonly code: ProblemCode,
    /** The problem's `detail`: one sentence, fixed wording plus safe values. */
    readonly detail?: string,
    /** Extra response headers (e.g. `Retry-After`, `Allow`). */
    readonly headers: Record<string, string> = {},
    /** Extension members of the problem document (e.g. `retry_after`). */
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(`${code}${detail ? `: ${detail}` : ''}`)
    this.status = PROBLEM_CODES[code].status
  }

  /** The RFC 9457 problem document (`application/problem+json`). */
  toJSON(): ProblemDocument {
    return {
      type: problemType(this.code),
      title: PROBLEM_CODES[this.code].title,
      status: this.status,
      code: this.code,
      ...(this.detail ? { detail: this.detail } : {}),
      ...this.extensions,
    }
  }
}

/**
 * The configuration passed to `createConsentServer` is invalid. Thrown at start-up, never per request;
 * the message names the setting and what it must be.
 *
 * @example
 * ```ts
 * try {
 *   server = await createConsentServer(config)
 * } catch (err) {
 *   if (err instanceof ConfigError) console.error(`bad Consentry configuration: ${err.message}`)
 *   process.exit(1)
 * }
 * ```
 */
export class ConfigError extends Error {
  /** Always `ConfigError`. */
  override readonly name = 'ConfigError'
  /** Always `invalid_config` (see docs/errors.md). */
  readonly code = 'invalid_config'
  /** Every problem found, each with its option path (`theme.colors.primary`) and what to do. */
  readonly issues: readonly ConfigIssue[]

  constructor(message: string, options: { issues?: readonly ConfigIssue[]; cause?: unknown } = {}) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined)
    this.issues = options.issues ?? [{ path: 'config', message }]
  }
}

/** One problem of a configuration: `path` (`config.theem`, `theme.colors.primary`) and the message. */
export interface ConfigIssue {
  /** The option's path from the config root, e.g. `theme.colors.primary`. */
  path: string
  /** What is wrong and what it must be. */
  message: string
}

/**
 * A host or framework adapter could not hand a request to the server as it arrived — e.g. a body
 * parser in front of Consentry read the body and left nothing to rebuild it from. Logged with the
 * request id and answered 500 (the operator's setup, not the client, is at fault).
 */
export class MountError extends Error {
  /** Always `MountError`. */
  override readonly name = 'MountError'
  constructor(
    /**
     * `body_already_read`: a parser consumed the body and left nothing to rebuild it from;
     * `body_not_rebuildable`: what it left cannot be encoded back faithfully.
     */
    readonly code: 'body_already_read' | 'body_not_rebuildable',
    message: string,
  ) {
    super(message)
  }
}

/**
 * The codes of {@link StoreError}: `sqlite_unavailable` (the runtime has no `node:sqlite`),
 * `store_locked` (the database file is already open in another process or store instance) and
 * `store_schema_newer` (the file was written by a newer Consentry).
 */
export type StoreErrorCode = 'sqlite_unavailable' | 'store_locked' | 'store_schema_newer'

/**
 * A store could not be opened. Thrown by `sqliteStore` at start-up, never per request; the message
 * says what to do (see docs/errors.md and docs/stores.md).
 *
 * @example
 * ```ts
 * try {
 *   store = await sqliteStore({ path: '.consentry/consentry.db' })
 * } catch (err) {
 *   if (err instanceof StoreError && err.code === 'store_locked') console.error('already running?')
 *   throw err
 * }
 * ```
 */
export class StoreError extends Error {
  /** Always `StoreError`. */
  override readonly name = 'StoreError'
  constructor(
    /** Why the store could not be opened (see docs/errors.md). */
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}
