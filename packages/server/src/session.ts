import type { Context } from './context.ts'
import { getCookie, setCookie } from './http/cookies.ts'
import { createSession, deleteSession, getSession } from './store/records.ts'
import { hashSecret, hmac, randomToken, timingSafeEqual } from './tokens/random.ts'

/**
 * The account holder's sign-in at the holder, for the consent and dashboard pages. Either the holder's
 * own `authenticate(request)`, or Consentry's built-in login, which keeps a server-side session: the
 * cookie holds a random id, the store its SHA-256 with the subject and expiry, so signing out ends
 * it everywhere (every instance sharing the store) and a copied cookie stops working.
 */
export interface Subject {
  subject: string
  name?: string
}

/** A signed-in person, and for the built-in login the hash of their session id. */
export interface SignedIn extends Subject {
  sessionHash?: string
}

const SESSION_COOKIE = 'consentry-session'
/** Holder-authenticated people: a per-browser random value the CSRF token is bound to. */
const CSRF_COOKIE = 'consentry-csrf'

export const basePath = (ctx: Context) => new URL(ctx.urls.issuer).pathname.replace(/\/$/, '') || ''

/** A session id is 32 random bytes, base64url: anything longer is not one (and is not hashed). */
const plausibleId = (id: string | undefined): id is string => !!id && id.length <= 64

export async function currentSubject(ctx: Context, request: Request): Promise<SignedIn | null> {
  const own = await ctx.config.accountHolders.authenticate?.(request)
  if (own) return { subject: own.subject, ...(own.name !== undefined ? { name: own.name } : {}) }
  const id = getCookie(ctx, request, SESSION_COOKIE)
  if (!plausibleId(id)) return null
  const idHash = await hashSecret(id)
  const session = await getSession(ctx.store, idHash, ctx.now())
  if (!session) return null
  return {
    subject: session.subject,
    ...(session.name !== undefined ? { name: session.name } : {}),
    sessionHash: idHash,
  }
}

/**
 * Start a built-in session for `who` (after the password checked out) and return its `Set-Cookie`.
 * A session the browser already had is ended first: every sign-in gets a fresh id (no fixation).
 */
export async function startSession(ctx: Context, request: Request, who: Subject): Promise<string> {
  await endSession(ctx, request)
  const id = randomToken(32)
  const now = ctx.now()
  await createSession(ctx.store, {
    idHash: await hashSecret(id),
    subject: who.subject,
    ...(who.name !== undefined ? { name: who.name } : {}),
    createdAt: now,
    expiresAt: now + ctx.config.lifetimes.session * 1000,
  })
  return setCookie(ctx, SESSION_COOKIE, id, { maxAge: ctx.config.lifetimes.session })
}

/** End the browser's built-in session on the server; returns the `Set-Cookie` that clears it. */
export async function endSession(ctx: Context, request: Request): Promise<string> {
  const id = getCookie(ctx, request, SESSION_COOKIE)
  if (plausibleId(id)) await deleteSession(ctx.store, await hashSecret(id))
  return setCookie(ctx, SESSION_COOKIE, '', { maxAge: 0 })
}

/**
 * The CSRF token of the dashboard's forms, bound to the person and the session: for a built-in
 * session an HMAC over (subject, session id hash); for the holder's own login an HMAC over (subject,
 * a random per-browser cookie Consentry sets here if absent — returned in `setCookie`). A token shown
 * to one person, or in one session, is worthless for another.
 */
export async function csrfToken(
  ctx: Context,
  request: Request,
  who: SignedIn,
): Promise<{ token: string; headers: Record<string, string> }> {
  if (who.sessionHash)
    return { token: await bound(ctx, 'session', who.subject, who.sessionHash), headers: {} }
  const existing = getCookie(ctx, request, CSRF_COOKIE)
  const secret = plausibleId(existing) ? existing : randomToken(32)
  return {
    token: await bound(ctx, 'browser', who.subject, secret),
    headers: secret === existing ? {} : { 'set-cookie': setCookie(ctx, CSRF_COOKIE, secret) },
  }
}

/** Whether `token` is the CSRF token of this person in this session/browser (constant time). */
export async function checkCsrfToken(
  ctx: Context,
  request: Request,
  who: SignedIn,
  token: string | undefined,
): Promise<boolean> {
  if (!token) return false
  if (who.sessionHash)
    return timingSafeEqual(token, await bound(ctx, 'session', who.subject, who.sessionHash))
  const secret = getCookie(ctx, request, CSRF_COOKIE)
  if (!plausibleId(secret)) return false
  return timingSafeEqual(token, await bound(ctx, 'browser', who.subject, secret))
}

const bound = (ctx: Context, kind: string, subject: string, secret: string) =>
  hmac(ctx.secrets.cookie, `csrf:${JSON.stringify([kind, subject, secret])}`)

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
