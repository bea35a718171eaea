import { type OAuthErrorCode, PROBLEM_CODES, type ProblemCode, problemType } from '@consentry/core'

/**
 * The server's error catalogue. Endpoints throw these; the handler turns them into standard responses:
 * OAuth JSON errors (RFC 6749 §5.2), `WWW-Authenticate` challenges (RFC 6750 / 9449) and RFC 9457
 * problem documents. Descriptions are fixed wording — they never echo tokens, codes or secrets.
 */
export class OAuthError extends Error {
  override readonly name = 'OAuthError'
  constructor(
    readonly code: OAuthErrorCode,
    readonly description: string,
    readonly status = code === 'invalid_client' ? 401 : 400,
    readonly headers: Record<string, string> = {},
  ) {
    super(`${code}: ${description}`)
  }
}

/** An error at a protected resource, answered with a `WWW-Authenticate: DPoP` challenge. */
export class ResourceAuthError extends Error {
  override readonly name = 'ResourceAuthError'
  constructor(
    readonly code:
      | 'invalid_token'
      | 'invalid_dpop_proof'
      | 'use_dpop_nonce'
      | 'invalid_request'
      | 'insufficient_scope',
    readonly description: string,
    readonly status = code === 'invalid_request' ? 400 : code === 'insufficient_scope' ? 403 : 401,
    readonly headers: Record<string, string> = {},
  ) {
    super(`${code}: ${description}`)
  }
}

/** An RFC 9457 problem. */
export class ProblemError extends Error {
  override readonly name = 'ProblemError'
  readonly status: number
  constructor(
    readonly code: ProblemCode,
    readonly detail?: string,
    readonly headers: Record<string, string> = {},
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(`${code}${detail ? `: ${detail}` : ''}`)
    this.status = PROBLEM_CODES[code].status
  }

  toJSON() {
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

/** The configuration passed to `createConsentServer` is invalid. Thrown at start-up, never per request. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
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
  path: string
  message: string
}

/**
 * A host or framework adapter could not hand a request to the server as it arrived — e.g. a body
 * parser in front of Consentry read the body and left nothing to rebuild it from. Logged with the
 * request id and answered 500 (the operator's setup, not the client, is at fault).
 */
export class MountError extends Error {
  override readonly name = 'MountError'
  constructor(
    readonly code: 'body_already_read' | 'body_not_rebuildable',
    message: string,
  ) {
    super(message)
  }
}
