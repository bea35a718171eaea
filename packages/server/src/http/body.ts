import { OAuthError, ProblemError } from '../errors.ts'

/** Largest request body any endpoint reads. */
export const MAX_BODY_BYTES = 64 * 1024

async function readText(request: Request, limit: number): Promise<string> {
  const declared = Number(request.headers.get('content-length') ?? '0')
  if (declared > limit) throw new ProblemError('payload_too_large', `bodies are limited to ${limit} bytes`)
  if (!request.body) return ''
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel().catch(() => undefined)
      throw new ProblemError('payload_too_large', `bodies are limited to ${limit} bytes`)
    }
    chunks.push(value)
  }
  const buf = new Uint8Array(size)
  let offset = 0
  for (const c of chunks) {
    buf.set(c, offset)
    offset += c.byteLength
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf)
  } catch {
    throw new OAuthError('invalid_request', 'body is not valid UTF-8')
  }
}

const mediaType = (request: Request) =>
  (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase()

/**
 * Read an `application/x-www-form-urlencoded` body (OAuth endpoints, HTML forms). Repeated
 * parameters are refused for OAuth (RFC 6749 §3.1), so the caller gets a plain map plus the raw params.
 */
export async function readForm(request: Request, opts: { allowRepeated?: string[] } = {}) {
  if (mediaType(request) !== 'application/x-www-form-urlencoded')
    throw new OAuthError('invalid_request', 'expected an application/x-www-form-urlencoded body')
  const params = new URLSearchParams(await readText(request, MAX_BODY_BYTES))
  const map = new Map<string, string>()
  for (const [k, v] of params) {
    // NUL is in no parameter Consentry accepts, and PostgreSQL text cannot hold it.
    if (k.includes('\0') || v.includes('\0'))
      throw new OAuthError('invalid_request', 'parameters must not contain NUL characters')
    if (map.has(k) && !opts.allowRepeated?.includes(k))
      throw new OAuthError('invalid_request', `parameter ${k} is repeated`)
    map.set(k, v)
  }
  return {
    get: (k: string) => map.get(k),
    all: (k: string) => params.getAll(k),
    has: (k: string) => map.has(k),
  }
}
export type Form = Awaited<ReturnType<typeof readForm>>

/** Read a JSON object body. */
export async function readJson(
  request: Request,
  onError: (msg: string) => Error,
): Promise<Record<string, unknown>> {
  if (mediaType(request) !== 'application/json') throw onError('expected an application/json body')
  const text = await readText(request, MAX_BODY_BYTES)
  let value: unknown
  let nul = false
  try {
    value = JSON.parse(text, (k, v) => {
      if (k.includes('\0') || (typeof v === 'string' && v.includes('\0'))) nul = true
      return v
    })
  } catch {
    throw onError('body is not valid JSON')
  }
  if (nul) throw onError('strings must not contain NUL characters')
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw onError('body must be a JSON object')
  return value as Record<string, unknown>
}
