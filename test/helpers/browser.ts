/**
 * A minimal cookie-keeping HTTP "browser" for driving the real login and consent forms over real HTTP
 * (the Chromium tests drive the same pages with a real browser). Redirects are followed by hand so
 * tests can stop at the recipient's redirect URI.
 */
export class FormBrowser {
  private jar = new Map<string, { value: string; path: string }>()

  private cookieHeader(url: URL): string {
    return [...this.jar.entries()]
      .filter(
        ([, c]) =>
          url.pathname === c.path ||
          url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) ||
          c.path === '/',
      )
      .map(([k, c]) => `${k}=${c.value}`)
      .join('; ')
  }

  private remember(res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim())
      const i = pair!.indexOf('=')
      const name = pair!.slice(0, i)
      const value = pair!.slice(i + 1)
      const path = attrs.find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? '/'
      const maxAge = attrs.find((a) => a.toLowerCase().startsWith('max-age='))
      const key = `${name}`
      if (maxAge === 'Max-Age=0') this.jar.delete(key)
      else this.jar.set(key, { value, path })
    }
  }

  /** Set a cookie as if another site part (e.g. the holder's own login) had set it. */
  setCookie(name: string, value: string, path = '/') {
    this.jar.set(name, { value, path })
  }

  async request(
    url: string,
    init: { method?: string; form?: Record<string, string | string[]> } = {},
  ): Promise<Response> {
    const u = new URL(url)
    const headers: Record<string, string> = { cookie: this.cookieHeader(u) }
    let body: string | undefined
    if (init.form) {
      const p = new URLSearchParams()
      for (const [k, v] of Object.entries(init.form)) for (const item of [v].flat()) p.append(k, item)
      body = p.toString()
      headers['content-type'] = 'application/x-www-form-urlencoded'
    }
    const res = await fetch(u, {
      method: init.method ?? (body ? 'POST' : 'GET'),
      headers,
      body,
      redirect: 'manual',
    })
    this.remember(res)
    return res
  }

  /** GET `url` and follow redirects while they stay under `origin`; returns the last response and its URL. */
  async follow(
    url: string,
    origin: string,
    init: { method?: string; form?: Record<string, string | string[]> } = {},
  ) {
    let res = await this.request(url, init)
    let current = url
    for (let hops = 0; hops < 10 && res.status >= 300 && res.status < 400; hops++) {
      const next = new URL(res.headers.get('location')!, current).href
      if (!next.startsWith(origin)) return { res, url: next }
      current = next
      res = await this.request(next)
    }
    return { res, url: current }
  }
}

/** The value of a hidden input in a page. */
export function hiddenInput(html: string, name: string): string {
  const m =
    new RegExp(`<input[^>]*name="${name}"[^>]*value="([^"]*)"`).exec(html) ??
    new RegExp(`<input[^>]*value="([^"]*)"[^>]*name="${name}"`).exec(html)
  if (!m) throw new Error(`no hidden input ${name} in page`)
  return m[1]!
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
}

/** The action of the first form in a page. */
export function formAction(html: string, base: string): string {
  const m = /<form[^>]*action="([^"]*)"/.exec(html)
  if (!m) throw new Error('no form in page')
  return new URL(m[1]!.replace(/&amp;/g, '&'), base).href
}
