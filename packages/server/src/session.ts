import type { Context } from './context.ts'
import { readCookie, setCookie } from './http/cookies.ts'
import { hmac, timingSafeEqual } from './tokens/random.ts'

/**
 * The account holder's sign-in at the holder, for the consent and dashboard pages. Either the holder's
 * own `authenticate(request)`, or Consentry's built-in login, which keeps a signed, expiring session
 * cookie (stateless, so every instance accepts it).
 */
export interface Subject {
  subject: string
  name?: string
}

const cookieName = (ctx: Context) =>
  ctx.config.secureCookies ? '__Secure-consentry-session' : 'consentry-session'
export const basePath = (ctx: Context) => new URL(ctx.urls.issuer).pathname.replace(/\/$/, '') || ''

export async function currentSubject(ctx: Context, request: Request): Promise<Subject | null> {
  const own = await ctx.config.accountHolders.authenticate?.(request)
  if (own) return own
  const raw = readCookie(request, cookieName(ctx))
  if (!raw) return null
  const [payload, sig] = raw.split('.')
  if (!payload || !sig || !timingSafeEqual(sig, await hmac(ctx.secrets.cookie, `session:${payload}`)))
    return null
  try {
    const { sub, name, exp } = JSON.parse(new TextDecoder().decode(b64d(payload)))
    if (typeof sub !== 'string' || typeof exp !== 'number' || exp <= ctx.now()) return null
    return { subject: sub, name: typeof name === 'string' ? name : undefined }
  } catch {
    return null
  }
}

export async function sessionCookie(ctx: Context, who: Subject): Promise<string> {
  const exp = ctx.now() + ctx.config.lifetimes.session * 1000
  const payload = b64e(new TextEncoder().encode(JSON.stringify({ sub: who.subject, name: who.name, exp })))
  const value = `${payload}.${await hmac(ctx.secrets.cookie, `session:${payload}`)}`
  return setCookie(cookieName(ctx), value, {
    path: basePath(ctx) || '/',
    secure: ctx.config.secureCookies,
    maxAge: ctx.config.lifetimes.session,
  })
}

export const clearSessionCookie = (ctx: Context) =>
  setCookie(cookieName(ctx), '', { path: basePath(ctx) || '/', secure: ctx.config.secureCookies, maxAge: 0 })

/** A CSRF token bound to the person's session (dashboard forms). */
export async function sessionCsrf(ctx: Context, request: Request): Promise<string> {
  return hmac(ctx.secrets.cookie, `csrf:${readCookie(request, cookieName(ctx)) ?? ''}`)
}

const b64e = (b: Uint8Array) =>
  btoa(String.fromCharCode(...b))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')
const b64d = (s: string) =>
  Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))

/** Only same-origin, same-base paths are valid `return_to` targets (no open redirects). */
export function safeReturnTo(ctx: Context, value: string | null | undefined): string {
  const fallback = `${basePath(ctx)}/consents`
  if (!value || !value.startsWith('/') || value.startsWith('//') || value.includes('\\')) return fallback
  try {
    const u = new URL(value, ctx.urls.issuer)
    if (u.origin !== new URL(ctx.urls.issuer).origin || !u.pathname.startsWith(`${basePath(ctx)}/`))
      return fallback
    return u.pathname + u.search
  } catch {
    return fallback
  }
}
