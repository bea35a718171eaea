import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { responseText } from '../http/respond.ts'

/**
 * Adapt a Web `fetch` handler to `node:http` (and Express, which uses the same signature).
 * The request URL is built from `origin` (default: the request's Host header) and the path; Consentry
 * itself never trusts the Host header — every URL it checks comes from its configured issuer.
 *
 * @example
 * ```ts
 * createServer(nodeListener(server.fetch)).listen(4000)
 * app.use('/oauth', nodeListener(server.fetch, { origin: 'https://pay.example' })) // Express
 * ```
 */
export function nodeListener(
  handler: (request: Request) => Promise<Response>,
  options: { origin?: string } = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void (async () => {
      const origin = options.origin ?? `http://${req.headers.host ?? 'localhost'}`
      const headers = new Headers()
      for (const [k, v] of Object.entries(req.headers)) {
        if (v === undefined) continue
        for (const item of Array.isArray(v) ? v : [v]) headers.append(k, item)
      }
      const hasBody = req.method !== 'GET' && req.method !== 'HEAD'
      let url: URL
      try {
        url = new URL((req as { originalUrl?: string }).originalUrl ?? req.url ?? '/', origin)
      } catch {
        res.writeHead(400).end()
        return
      }
      const request = new Request(url, {
        method: req.method ?? 'GET',
        headers,
        ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream, duplex: 'half' } : {}),
      } as RequestInit)
      const response = await handler(request)
      const out: Record<string, string | string[]> = {}
      response.headers.forEach((value, key) => {
        if (key === 'set-cookie') return
        out[key] = value
      })
      const cookies = response.headers.getSetCookie()
      if (cookies.length) out['set-cookie'] = cookies
      // A body the server made from a string (JSON, problems) goes out in one write, with its length.
      const text = responseText(response)
      if (text !== undefined) {
        out['content-length'] = String(Buffer.byteLength(text))
        res.writeHead(response.status, out)
        res.end(req.method === 'HEAD' ? undefined : text)
        return
      }
      res.writeHead(response.status, out)
      if (!response.body || req.method === 'HEAD') {
        res.end()
        return
      }
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) res.write(chunk)
      res.end()
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/problem+json' })
      res.end()
    })
  }
}
