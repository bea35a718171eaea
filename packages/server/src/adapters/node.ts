import { type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import { MountError, ProblemError } from '../errors.ts'
import type { ConnectionInfo } from '../http/client-address.ts'
import { problemResponse, responseText } from '../http/respond.ts'
import { describeError, type Logger } from '../logger.ts'
import { randomToken } from '../tokens/random.ts'
import { type Report, reporterFor } from './report.ts'

/**
 * Unread request body a connection may still swallow (discarding it) after the response, so the
 * client's next request on the same keep-alive connection is read cleanly. Beyond this, or after
 * {@link DRAIN_TIMEOUT_MS}, the connection is closed instead.
 */
const DRAIN_LIMIT_BYTES = 4 * 1024 * 1024
const DRAIN_TIMEOUT_MS = 5_000

/**
 * Methods WHATWG `fetch` refuses to build a `Request` for (CONNECT, TRACE, TRACK): no route takes
 * them, so they are answered here (405) instead of failing inside the handler. (RFC 9110 §9.3.8:
 * TRACE would echo the request, cookies and credentials included.)
 */
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK'])

/**
 * A Web `ReadableStream` over the request body that tracks how much of it was read. Unlike
 * `Readable.toWeb`, cancelling it (a reader giving up on a body over the size limit) does not destroy
 * the socket: the rest is discarded later by {@link finishBody}, so the connection survives.
 */
function requestBody(req: IncomingMessage) {
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined
  let attached = false
  let closed = false
  const onData = (chunk: Buffer) => {
    if (closed) return
    controller!.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
    if ((controller!.desiredSize ?? 0) <= 0) req.pause()
  }
  const onEnd = () => {
    if (closed) return
    closed = true
    controller!.close()
  }
  const onError = (error: Error) => {
    if (closed) return
    closed = true
    controller!.error(error)
  }
  const detach = () => {
    req.off('data', onData)
    req.off('end', onEnd)
    req.off('error', onError)
  }
  const stream = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c
      },
      pull() {
        // Listeners go on only when someone reads: an untouched body is left to finishBody.
        if (!attached) {
          attached = true
          req.on('data', onData).on('end', onEnd).on('error', onError)
        }
        req.resume()
      },
      cancel() {
        closed = true
        detach()
        req.pause()
      },
    },
    { highWaterMark: 1 },
  )
  return stream
}

/**
 * Read and discard whatever body the handler did not read (bounded). Resolves `true` when the body
 * was read to its end (the connection can be kept alive), `false` when it had to give up.
 */
function finishBody(req: IncomingMessage): Promise<boolean> {
  if (req.readableEnded) return Promise.resolve(true)
  return new Promise((resolve) => {
    let discarded = 0
    const done = (ok: boolean) => {
      clearTimeout(timer)
      req.off('data', onData).off('end', onEnd).off('error', onFail).off('close', onFail)
      if (!ok) req.pause()
      resolve(ok)
    }
    const onData = (chunk: Buffer) => {
      discarded += chunk.byteLength
      if (discarded > DRAIN_LIMIT_BYTES) done(false)
    }
    const onEnd = () => done(true)
    const onFail = () => done(false)
    const timer = setTimeout(onFail, DRAIN_TIMEOUT_MS)
    timer.unref?.()
    req.removeAllListeners('data')
    req.on('data', onData).on('end', onEnd).on('error', onFail).on('close', onFail)
    req.resume()
  })
}

async function send(req: IncomingMessage, res: ServerResponse, response: Response, hasBody: boolean) {
  // Whatever body the handler left unread is read off and discarded first (bounded), so the parser
  // reaches the client's next request on this connection. A body too large for that gets the
  // response with `Connection: close` instead: the client reconnects for its next request
  // (RFC 9112 §9.6) rather than finding the connection reset under it.
  let keepAlive = true
  if (hasBody && !req.readableEnded) {
    const declared = Number(req.headers['content-length'])
    keepAlive = declared > DRAIN_LIMIT_BYTES ? false : await finishBody(req)
  }
  const out: Record<string, string | string[]> = {}
  response.headers.forEach((value, key) => {
    if (key === 'set-cookie') return
    out[key] = value
  })
  const cookies = response.headers.getSetCookie()
  if (cookies.length) out['set-cookie'] = cookies
  if (!keepAlive) out.connection = 'close'
  // A body the server made from a string (JSON, problems) goes out in one write, with its length —
  // for requests without a body (the API's GETs); after a request body the streamed path below keeps
  // pipelined requests on a half-closed connection working.
  const text = hasBody ? undefined : responseText(response)
  if (text !== undefined) {
    out['content-length'] = String(Buffer.byteLength(text))
    res.writeHead(response.status, out)
    res.end(req.method === 'HEAD' ? undefined : text)
    return
  }
  res.writeHead(response.status, out)
  if (response.body && req.method !== 'HEAD')
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) res.write(chunk)
  res.end()
}

/** A Node request as frameworks leave it: Express keeps the mount prefix in `originalUrl`, body parsers the parsed body in `body`. */
type FrameworkRequest = IncomingMessage & { originalUrl?: string; body?: unknown }

/** Options of {@link nodeListener}. */
export interface NodeListenerOptions {
  /** Origin of the request URLs handed to the handler. Default: `http://{Host header}`. */
  origin?: string
  /**
   * Where the adapter's own failures go (a request it could not hand over, a response it could not
   * write), with a request id. Default: the logger of the server whose `fetch` this is, else JSON
   * lines on stderr.
   */
  logger?: Logger
}

/** What {@link serveNode} needs beyond the Node request and response. */
export interface ServeNodeOptions {
  origin?: string
  report: Report
  /**
   * The body a framework already parsed, for a stream its parser consumed (default: `req.body`, as
   * Express's and Connect's body parsers leave it).
   */
  parsedBody?: () => unknown
}

const FORM = 'application/x-www-form-urlencoded'
const mediaTypeOf = (value: string | undefined) => (value ?? '').split(';')[0]!.trim().toLowerCase()

/**
 * Rebuild a request body a framework's body parser already read off the socket (`express.json()`,
 * `express.urlencoded()`, `express.raw()`, `express.text()`, Fastify's parsers) from what the parser
 * left: JSON is serialised again, a form encoded again (a repeated field stays repeated, so the
 * server still refuses it), bytes and text pass unchanged. This is safe because nothing Consentry
 * verifies signs the body bytes: a DPoP proof signs the method and URL (RFC 9449 §4.2), a client
 * assertion (RFC 7523) is one form parameter whose value survives re-encoding unchanged. What
 * cannot be rebuilt faithfully (no parsed body, a nested `qs` form, JSON under another media type)
 * throws {@link MountError}: never a guess.
 */
export function rebuildBody(parsed: unknown, contentType: string | undefined): string | Uint8Array {
  if (parsed instanceof Uint8Array) return parsed // express.raw(): the bytes themselves
  if (typeof parsed === 'string') return parsed // express.text()
  const type = mediaTypeOf(contentType)
  if (parsed !== undefined && parsed !== null && typeof parsed === 'object') {
    if (type === 'application/json' || type.endsWith('+json')) return JSON.stringify(parsed)
    if (type === FORM) {
      const form = new URLSearchParams()
      for (const [key, value] of Object.entries(parsed)) {
        for (const item of Array.isArray(value) ? value : [value]) {
          if (typeof item !== 'string')
            throw new MountError(
              'body_not_rebuildable',
              'a body parser in front of Consentry turned a form field into something other than text (nested objects from qs "extended" syntax, or a file), which cannot be encoded back faithfully: mount Consentry before it, or use express.urlencoded({ extended: false })',
            )
          form.append(key, item)
        }
      }
      return form.toString()
    }
  }
  throw new MountError(
    'body_already_read',
    `the request body was read by middleware in front of Consentry and it left no parsed body to rebuild it from (content type ${type || 'none'}): mount Consentry before that middleware`,
  )
}

/** A body stream that fails as soon as it is read: the endpoint's read turns it into a logged 500. */
const failingBody = (error: Error) =>
  new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.error(error)
    },
  })

/**
 * The Web `Request` for a Node request: URL from `origin` and the full path (`originalUrl` when a
 * framework stripped a mount prefix from `url`), the headers, and the body — streamed from the
 * socket, or rebuilt from the parsed body when a body parser already consumed the stream.
 */
function toRequest(
  req: FrameworkRequest,
  method: string,
  hasBody: boolean,
  options: ServeNodeOptions,
): Request {
  const origin = options.origin ?? `http://${req.headers.host ?? 'localhost'}`
  // Name/value pairs, which `Request` copies into its own `Headers` once (a `Headers` built here
  // would be built, then iterated, sorted and copied again).
  let headers: [string, string][] | Headers = []
  for (const k in req.headers) {
    const v = req.headers[k]
    if (v === undefined) continue
    if (typeof v === 'string') headers.push([k, v])
    else for (const item of v) headers.push([k, item])
  }
  const url = new URL(req.originalUrl ?? req.url ?? '/', origin)
  let body: BodyInit | undefined
  if (hasBody) {
    headers = new Headers(headers)
    // Someone read (or is reading) the stream before us: a body parser mounted in front.
    if (req.readableDidRead || req.readableEnded) {
      try {
        const rebuilt = rebuildBody(
          options.parsedBody ? options.parsedBody() : req.body,
          req.headers['content-type'],
        )
        headers.delete('transfer-encoding')
        headers.set(
          'content-length',
          String(typeof rebuilt === 'string' ? Buffer.byteLength(rebuilt) : rebuilt.byteLength),
        )
        body = rebuilt as BodyInit
      } catch (error) {
        body = failingBody(error as Error)
      }
    } else body = requestBody(req)
  }
  return new Request(url, {
    method,
    headers,
    ...(body !== undefined ? { body, duplex: 'half' } : {}),
  } as RequestInit)
}

/**
 * Serve one Node request with a Web `fetch` handler — what {@link nodeListener} and the framework
 * adapters share. Never rejects: its own failures are reported (with a request id) and answered 500.
 */
export async function serveNode(
  handler: (request: Request, info?: ConnectionInfo) => Promise<Response>,
  req: FrameworkRequest,
  res: ServerResponse,
  options: ServeNodeOptions,
): Promise<void> {
  const method = req.method ?? 'GET'
  const hasBody = method !== 'GET' && method !== 'HEAD'
  try {
    if (FORBIDDEN_METHODS.has(method.toUpperCase())) {
      await send(
        req,
        res,
        problemResponse(
          new ProblemError('method_not_allowed', `${method} is not supported`, {
            allow: 'GET, HEAD, POST, DELETE',
          }),
        ),
        hasBody,
      )
      return
    }
    let request: Request
    try {
      request = toRequest(req, method, hasBody, options)
    } catch {
      // A URL or method the Fetch API cannot represent.
      await send(req, res, problemResponse(new ProblemError('bad_request', 'malformed request')), hasBody)
      return
    }
    // The socket's peer: what the sign-in throttle counts (see the `trustedProxy` option).
    const info = req.socket.remoteAddress ? { clientAddress: req.socket.remoteAddress } : {}
    await send(req, res, await handler(request, info), hasBody)
  } catch (error) {
    // The handler failed (a wrapped one may throw) or the response could not be written (the client
    // went away mid-body). Never silent: logged under a request id the client also gets, if a
    // response can still be sent.
    const requestId = randomToken(12)
    options.report(error, {
      request_id: requestId,
      method,
      path: safePath(req.originalUrl ?? req.url),
      error: describeError(error),
    })
    if (!res.headersSent) {
      const body = JSON.stringify(
        new ProblemError('internal_error', undefined, {}, { request_id: requestId }).toJSON(),
      )
      res.writeHead(500, {
        'content-type': 'application/problem+json',
        'content-length': String(Buffer.byteLength(body)),
        'x-request-id': requestId,
        connection: 'close',
      })
      res.end(body)
    } else res.destroy()
  }
}

/** The path of a request target, for the log (never the query: it may carry codes or request_uris). */
const safePath = (target: string | undefined) => (target ?? '/').split('?')[0]!.slice(0, 200)

/**
 * Adapt a Web `fetch` handler to `node:http` (and Express or Connect, which use the same signature).
 * The request URL is built from `origin` (default: the request's Host header) and the path — the
 * full path, `originalUrl` included, so it works mounted under a prefix (`app.use('/oauth', …)`).
 * Consentry itself never trusts the Host header — every URL it checks comes from its configured
 * issuer. The handler gets the socket's peer address as `info.clientAddress`.
 *
 * Body parsers in front (`express.json()`, `express.urlencoded()`) just work: a body they already
 * read is rebuilt from `req.body` (JSON serialised again, a form encoded again); one that cannot be
 * rebuilt faithfully is a 500 whose cause (a {@link MountError}) is logged with the request id. Connections stay usable after an error: a body the
 * handler did not read to the end is discarded (up to 4 MiB, within 5 s) before the response, so
 * the client's next request on the same keep-alive connection works; a larger one gets
 * `Connection: close`, so the client reconnects rather than running into a reset. CONNECT, TRACE and
 * TRACK are answered 405. The adapter's own failures are logged (with a request id), never a silent 500.
 *
 * @example
 * ```ts
 * createServer(nodeListener(server.fetch)).listen(4000)        // issuer http://localhost:4000
 * // Express, issuer https://pay.example/oauth (see @consentry/server/express):
 * app.use('/oauth', nodeListener(server.fetch))
 * app.get(wellKnownPaths(server), nodeListener(server.fetch))
 * ```
 */
export function nodeListener(
  handler: (request: Request, info?: ConnectionInfo) => Promise<Response>,
  options: NodeListenerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const report = reporterFor(handler, options.logger)
  const serve: ServeNodeOptions = {
    report,
    ...(options.origin !== undefined ? { origin: options.origin } : {}),
  }
  return (req, res) => void serveNode(handler, req, res, serve)
}

/** A whole raw HTTP/1.1 response with a problem document, for sockets node:http has not parsed. */
function rawProblem(problem: ProblemError, extra = '', head = false): string {
  const body = JSON.stringify(problem.toJSON())
  return (
    `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\ncontent-type: application/problem+json\r\n` +
    // RFC 9110 §9.3.2: the answer to a HEAD carries the headers of a GET's, never its body.
    `content-length: ${Buffer.byteLength(body)}\r\n${extra}connection: close\r\n\r\n${head ? '' : body}`
  )
}

/**
 * Answer what never reaches a request handler with problem+json instead of node's bare responses:
 * requests node:http cannot parse (lowercase or unknown methods, malformed request lines, oversized
 * headers: 400 / 431 / 408) and CONNECT (405; node hands it to the `connect` event, and with no
 * listener just drops the connection). Call it once on the server you mount `nodeListener` on.
 *
 * @example
 * ```ts
 * const http = createServer(nodeListener(server.fetch))
 * guardNodeServer(http)
 * http.listen(4000)
 * ```
 */
export function guardNodeServer(server: Server): Server {
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.end(
      rawProblem(
        new ProblemError('method_not_allowed', 'CONNECT is not supported'),
        'allow: GET, HEAD, POST, DELETE\r\n',
      ),
    )
  })
  server.on('clientError', (error: Error & { code?: string; rawPacket?: Buffer }, socket: Duplex) => {
    // As node's own handler: only answer when no response is already on the wire.
    const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy()
      return
    }
    const problem =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? new ProblemError('headers_too_large', 'request headers are too large')
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? new ProblemError('request_timeout', 'the request took too long')
          : new ProblemError('bad_request', 'malformed HTTP request')
    // A HEAD whose request line could not be parsed (say, a target without a leading `/`) still
    // gets a bodiless answer: the client reads none.
    const head = error.rawPacket?.subarray(0, 5).toString('latin1') === 'HEAD '
    socket.end(rawProblem(problem, '', head))
  })
  return server
}
