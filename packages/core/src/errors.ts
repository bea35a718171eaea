/**
 * The one catalogue of error codes that cross the wire between a Consentry server and client.
 *
 * OAuth errors (RFC 6749, 6750, 7591, 9126, 9396, 9449) keep their registered names; Consentry's own
 * problems (RFC 9457 `application/problem+json`) use a stable `type` URN built from the code.
 */
export const OAUTH_ERRORS = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'access_denied',
  'unsupported_response_type',
  'server_error',
  'temporarily_unavailable',
  'invalid_request_uri',
  'invalid_request_object',
  'invalid_authorization_details',
  'invalid_dpop_proof',
  'use_dpop_nonce',
  'invalid_token',
  'insufficient_scope',
  'invalid_redirect_uri',
  'invalid_client_metadata',
  'unsupported_token_type',
  // FAPI Grant Management §5.3: the grant_id is unknown, another client's, or no longer active.
  'invalid_grant_id',
] as const
/** One of the {@link OAUTH_ERRORS}. */
export type OAuthErrorCode = (typeof OAUTH_ERRORS)[number]

/** Problems returned by the transaction-history API and grant management as problem+json. */
export const PROBLEM_CODES = {
  not_found: { status: 404, title: 'Not found' },
  outside_consent: { status: 403, title: 'Outside the consent' },
  read_limit_exceeded: { status: 429, title: 'Read limit reached' },
  invalid_cursor: { status: 400, title: 'Invalid cursor' },
  invalid_parameter: { status: 400, title: 'Invalid parameter' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  internal_error: { status: 500, title: 'Internal error' },
  bad_request: { status: 400, title: 'Bad request' },
  request_timeout: { status: 408, title: 'Request timeout' },
  headers_too_large: { status: 431, title: 'Request header fields too large' },
} as const
/** One of the {@link PROBLEM_CODES}. */
export type ProblemCode = keyof typeof PROBLEM_CODES

/** `type` URI of a Consentry problem document. */
export const problemType = (code: ProblemCode): string => `urn:consentry:problem:${code}`

/** The JSON body of an OAuth error response. */
export interface OAuthErrorBody {
  /** The error code (RFC 6749 §5.2 and the registries of the RFCs above). */
  error: OAuthErrorCode | (string & {})
  /** A fixed, human-readable sentence (never echoes tokens or input). */
  error_description?: string
}

/** An RFC 9457 problem document as Consentry emits it (`code` mirrors the `type` URN's last part). */
export interface ProblemDocument {
  /** `urn:consentry:problem:{code}` (see {@link problemType}). */
  type: string
  /** The code's fixed title. */
  title: string
  /** The HTTP status, repeated. */
  status: number
  /** What exactly was wrong, in a sentence. */
  detail?: string
  /** Stable code: branch on this (see docs/errors.md). */
  code: ProblemCode
  [extension: string]: unknown
}
