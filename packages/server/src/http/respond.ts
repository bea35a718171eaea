import { OAuthError, ProblemError, ResourceAuthError } from '../errors.ts'

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' }

/**
 * The text a response was built from, for adapters that can write it straight to the socket (the
 * node adapter) instead of reading the `Response` body stream back. Only responses made here are
 * registered; anything else is streamed as usual.
 */
const texts = new WeakMap<Response, string>()

/** The body text of a JSON or problem response made by this module, if it was not read yet. */
export function responseText(res: Response): string | undefined {
  return res.bodyUsed ? undefined : texts.get(res)
}

function withText(text: string, init: ResponseInit): Response {
  const res = new Response(text, init)
  texts.set(res, text)
  return res
}

/** A JSON response that is never cached (every OAuth response carries credentials or state). */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return withText(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...NO_STORE, ...headers },
  })
}

/** A non-JSON answer (e.g. `application/jwt`), never cached like every other. */
export function textResponse(
  text: string,
  contentType: string,
  status = 200,
  headers: Record<string, string> = NO_STORE,
): Response {
  return withText(text, { status, headers: { 'content-type': contentType, ...headers } })
}

export function oauthErrorResponse(err: OAuthError): Response {
  return json({ error: err.code, error_description: err.description }, err.status, err.headers)
}

export function resourceErrorResponse(err: ResourceAuthError): Response {
  const challenge = `DPoP error="${err.code}", error_description="${err.description.replace(/["\\]/g, '')}", algs="ES256 PS256 EdDSA"`
  return json({ error: err.code, error_description: err.description }, err.status, {
    'www-authenticate': challenge,
    ...err.headers,
  })
}

export function problemResponse(err: ProblemError): Response {
  return withText(JSON.stringify(err.toJSON()), {
    status: err.status,
    headers: { 'content-type': 'application/problem+json', ...NO_STORE, ...err.headers },
  })
}

/**
 * Security headers for every HTML page. `formAction` lists extra origins a form may lead to. Images
 * only from the holder (`'self'`, where client logos are served from their stored copies) or inline
 * `data:`: no page makes the browser contact a recipient before the person decides.
 */
export function html(
  body: string,
  status = 200,
  opts: { formAction?: string[]; headers?: Record<string, string> } = {},
) {
  const formAction = ["'self'", ...(opts.formAction ?? [])].join(' ')
  return new Response(body, {
    status,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': `default-src 'none'; style-src 'self'; img-src 'self' data:; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`,
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
      'cross-origin-opener-policy': 'same-origin',
      ...NO_STORE,
      ...opts.headers,
    },
  })
}

/** 303 See Other: the only redirect a POSTed form gets (RFC 9700 §4.12). */
export function seeOther(location: string, headers: Record<string, string> = {}): Response {
  return new Response(null, {
    status: 303,
    headers: { location, 'referrer-policy': 'no-referrer', ...NO_STORE, ...headers },
  })
}

/**
 * Map any thrown value to a response. Known errors become their standard response — at an OAuth
 * endpoint (`oauth`) every one is an OAuth JSON error (RFC 6749 §5.2), a 405, 413 or 415 included,
 * so OAuth clients can parse it. Unknown errors go to `onUnexpected` and become a bare 500 carrying
 * only `request_id` (also in `X-Request-Id`): their message is never sent.
 */
export function errorResponse(
  err: unknown,
  onUnexpected: (err: unknown) => void,
  opts: { requestId?: string; oauth?: boolean } = {},
): Response {
  if (err instanceof OAuthError) return oauthErrorResponse(err)
  if (err instanceof ResourceAuthError) return resourceErrorResponse(err)
  if (err instanceof ProblemError)
    return opts.oauth
      ? oauthErrorResponse(
          new OAuthError('invalid_request', err.detail ?? err.message, err.status, err.headers),
        )
      : problemResponse(err)
  onUnexpected(err)
  const id = opts.requestId ? { request_id: opts.requestId } : {}
  const headers: Record<string, string> = opts.requestId ? { 'x-request-id': opts.requestId } : {}
  if (opts.oauth)
    return json({ error: 'server_error', error_description: 'unexpected error', ...id }, 500, headers)
  return problemResponse(new ProblemError('internal_error', undefined, headers, id))
}
