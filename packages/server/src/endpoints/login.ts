import type { Context } from '../context.ts'
import { readForm } from '../http/body.ts'
import { readCookie, setCookie } from '../http/cookies.ts'
import { html, seeOther } from '../http/respond.ts'
import { renderLoginPage } from '../pages/index.ts'
import { basePath, clearSessionCookie, safeReturnTo, sessionCookie, sessionCsrf } from '../session.ts'
import { hmac, randomToken, timingSafeEqual } from '../tokens/random.ts'

const CSRF_COOKIE = 'consentry-login-csrf'
/** Sign-in attempts allowed per username in {@link LOGIN_WINDOW_MS}. */
const LOGIN_ATTEMPTS = 10
const LOGIN_WINDOW_MS = 15 * 60_000

/** Where to send a person who must sign in first: the holder's own login, or the built-in one. */
export function loginRedirect(ctx: Context, returnTo: string): Response {
  const own = ctx.config.accountHolders.loginUrl
  if (own) {
    const u = new URL(own, ctx.urls.issuer)
    u.searchParams.set('return_to', new URL(returnTo, ctx.urls.issuer).href)
    return seeOther(u.href)
  }
  return seeOther(`${basePath(ctx)}/login?return_to=${encodeURIComponent(returnTo)}`)
}

/**
 * The built-in sign-in form ("Username", "Password", "Sign in"), for holders without their own login.
 * CSRF: a double-submit token (random cookie + its HMAC in the form).
 */
export async function login(ctx: Context, request: Request, url: URL): Promise<Response> {
  const verify = ctx.config.accountHolders.verifyPassword
  if (!verify) return loginRedirect(ctx, safeReturnTo(ctx, url.searchParams.get('return_to')))
  if (request.method === 'GET') {
    return page(ctx, { returnTo: safeReturnTo(ctx, url.searchParams.get('return_to')), status: 200 })
  }
  const form = await readForm(request)
  const returnTo = safeReturnTo(ctx, url.searchParams.get('return_to'))
  const cookie = readCookie(request, CSRF_COOKIE)
  const csrf = form.get('csrf') ?? ''
  if (!cookie || !timingSafeEqual(csrf, await hmac(ctx.secrets.cookie, `login:${cookie}`)))
    return page(ctx, { returnTo, status: 403, error: 'Your sign-in form expired. Please try again.' })
  const username = (form.get('username') ?? '').trim().slice(0, 200)
  // check_login_rate: password guessing gets LOGIN_ATTEMPTS tries per username per window.
  const gate = username
    ? await ctx.store.consumeReadQuota(
        `login:${username.toLowerCase()}`,
        ctx.now(),
        LOGIN_ATTEMPTS,
        LOGIN_WINDOW_MS,
      )
    : { allowed: true as const }
  if (!gate.allowed) {
    const minutes = Math.ceil(gate.retryAfterMs / 60_000)
    return page(ctx, {
      returnTo,
      status: 429,
      error: `Too many sign-in attempts. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
      username,
      headers: { 'retry-after': String(Math.ceil(gate.retryAfterMs / 1000)) },
    })
  }
  const who = username ? await verify(username, form.get('password') ?? '') : null
  if (!who)
    return page(ctx, { returnTo, status: 401, error: 'That username and password do not match.', username })
  await ctx.audit.record({
    type: 'subject.signed_in',
    actor: { type: 'subject', id: who.subject },
    subject: who.subject,
    data: { method: 'password' },
  })
  return seeOther(returnTo, { 'set-cookie': await sessionCookie(ctx, who) })
}

async function page(
  ctx: Context,
  o: {
    returnTo: string
    status: number
    error?: string
    username?: string
    headers?: Record<string, string>
  },
) {
  const token = randomToken(16)
  const action = `${basePath(ctx)}/login?return_to=${encodeURIComponent(o.returnTo)}`
  const body = renderLoginPage({
    theme: ctx.config.theme,
    assetsUrl: ctx.urls.assets,
    action,
    csrf: await hmac(ctx.secrets.cookie, `login:${token}`),
    ...(o.error ? { error: o.error } : {}),
    ...(o.username ? { username: o.username } : {}),
  })
  return html(body, o.status, {
    headers: {
      'set-cookie': setCookie(CSRF_COOKIE, token, {
        path: basePath(ctx) || '/',
        secure: ctx.config.secureCookies,
        maxAge: 1800,
      }),
      ...o.headers,
    },
  })
}

/** Sign out of the holder's Consentry pages. */
export async function logout(ctx: Context, request: Request): Promise<Response> {
  const form = await readForm(request)
  const expected = await sessionCsrf(ctx, request)
  if (!timingSafeEqual(form.get('csrf') ?? '', expected)) return seeOther(`${basePath(ctx)}/consents`)
  return seeOther(`${basePath(ctx)}/login`, { 'set-cookie': clearSessionCookie(ctx) })
}
