import { type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import { ProblemError } from '../errors.ts'
import type { ConnectionInfo } from '../http/client-address.ts'
import { problemResponse, responseText } from '../http/respond.ts'

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

/**
 * Adapt a Web `fetch` handler to `node:http` (and Express, which uses the same signature).
 * The request URL is built from `origin` (default: the request's Host header) and the path; Consentry
 * itself never trusts the Host header — every URL it checks comes from its configured issuer. The
 * handler gets the socket's peer address as `info.clientAddress`.
 *
 * Connections stay usable after an error: a body the handler did not read to the end is discarded
 * (up to 4 MiB, within 5 s) before the response, so the client's next request on the same
 * keep-alive connection works; a larger one gets `Connection: close`, so the client reconnects
 * rather than running into a reset. CONNECT, TRACE and TRACK are answered 405.
 *
 * @example
 * ```ts
 * createServer(nodeListener(server.fetch)).listen(4000)
 * app.use('/oauth', nodeListener(server.fetch, { origin: 'https://pay.example' })) // Express
 * ```
 */
export function nodeListener(
  handler: (request: Request, info?: ConnectionInfo) => Promise<Response>,
  options: { origin?: string } = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void (async () => {
      const method = req.method ?? 'GET'
      const hasBody = method !== 'GET' && method !== 'HEAD'
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
      const origin = options.origin ?? `http://${req.headers.host ?? 'localhost'}`
      const headers = new Headers()
      for (const [k, v] of Object.entries(req.headers)) {
        if (v === undefined) continue
        for (const item of Array.isArray(v) ? v : [v]) headers.append(k, item)
      }
      let request: Request
      try {
        const url = new URL((req as { originalUrl?: string }).originalUrl ?? req.url ?? '/', origin)
        request = new Request(url, {
          method,
          headers,
          ...(hasBody ? { body: requestBody(req), duplex: 'half' } : {}),
        } as RequestInit)
      } catch {
        // A URL or method the Fetch API cannot represent.
        await send(req, res, problemResponse(new ProblemError('bad_request', 'malformed request')), hasBody)
        return
      }
      // The socket's peer: what the sign-in throttle counts (see the `trustedProxy` option).
      const info = req.socket.remoteAddress ? { clientAddress: req.socket.remoteAddress } : {}
      await send(req, res, await handler(request, info), hasBody)
    })().catch(() => {
      // Only a failure while writing (the client went away): nothing sensible is left to send.
      if (!res.headersSent)
        res.writeHead(500, { 'content-type': 'application/problem+json', connection: 'close' })
      res.end()
    })
  }
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
