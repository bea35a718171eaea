/** Parse a Cookie header. */
export function readCookie(request: Request, name: string): string | undefined {
  const header = request.headers.get('cookie')
  if (!header) return undefined
  for (const part of header.split(';')) {
    const i = part.indexOf('=')
    if (i > 0 && part.slice(0, i).trim() === name) {
      try {
        const value = decodeURIComponent(part.slice(i + 1).trim())
        return value.includes('\0') ? undefined : value
      } catch {
        return undefined // a malformed cookie is no cookie
      }
    }
  }
  return undefined
}

export interface CookieOptions {
  path: string
  secure: boolean
  maxAge?: number
}

/** An HttpOnly, SameSite=Lax cookie (Lax so the top-level return from a holder's login keeps it). */
export function setCookie(name: string, value: string, o: CookieOptions): string {
  const parts = [`${name}=${encodeURIComponent(value)}`, `Path=${o.path}`, 'HttpOnly', 'SameSite=Lax']
  if (o.secure) parts.push('Secure')
  if (o.maxAge !== undefined) parts.push(`Max-Age=${o.maxAge}`)
  return parts.join('; ')
}
