import { checkSignInRate, signInFailed, signInSucceeded } from '../checks/sign-in-rate.ts'
import type { Context } from '../context.ts'
import { readForm } from '../http/body.ts'
import { getCookie, setCookie } from '../http/cookies.ts'
import { html, seeOther } from '../http/respond.ts'
import { renderLoginPage, renderMessagePage } from '../pages/index.ts'
import {
  basePath,
  checkCsrfToken,
  currentSubject,
  endSession,
  safeReturnTo,
  startSession,
} from '../session.ts'
import { hmac, randomToken, timingSafeEqual } from '../tokens/random.ts'

const CSRF_COOKIE = 'consentry-login-csrf'

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
 * CSRF: a double-submit token (random cookie + its HMAC in the form), after the router's
 * same-origin check. Password guessing: check_sign_in_rate (only failures count; per username and
 * client address, and per address). Success starts a server-side session.
 */
export async function login(ctx: Context, request: Request, url: URL): Promise<Response> {
  const verify = ctx.config.accountHolders.verifyPassword
  if (!verify) return loginRedirect(ctx, safeReturnTo(ctx, url.searchParams.get('return_to')))
  if (request.method === 'GET') {
    return page(ctx, { returnTo: safeReturnTo(ctx, url.searchParams.get('return_to')), status: 200 })
  }
  const form = await readForm(request)
  const returnTo = safeReturnTo(ctx, url.searchParams.get('return_to'))
  const cookie = getCookie(ctx, request, CSRF_COOKIE)
  const csrf = form.get('csrf') ?? ''
  if (!cookie || !timingSafeEqual(csrf, await hmac(ctx.secrets.cookie, `login:${cookie}`)))
    return page(ctx, { returnTo, status: 403, error: 'Your sign-in form expired. Please try again.' })
  const username = (form.get('username') ?? '').trim().slice(0, 200)
  if (!username)
    return page(ctx, { returnTo, status: 401, error: 'That username and password do not match.' })
  const gate = await checkSignInRate(ctx, request, username)
  if (!gate.allowed) {
    const seconds = Math.max(1, Math.ceil(gate.retryAfterMs / 1000))
    return page(ctx, {
      returnTo,
      status: 429,
      error: `Too many sign-in attempts. Try again in ${waitText(seconds)}.`,
      username,
      headers: { 'retry-after': String(seconds) },
    })
  }
  const who = await verify(username, form.get('password') ?? '')
  if (!who) {
    await signInFailed(ctx, gate.attempt)
    return page(ctx, { returnTo, status: 401, error: 'That username and password do not match.', username })
  }
  await signInSucceeded(ctx, gate.attempt)
  await ctx.audit.record({
    type: 'subject.signed_in',
    actor: { type: 'subject', id: who.subject },
    subject: who.subject,
    data: { method: 'password' },
  })
  return seeOther(returnTo, { 'set-cookie': await startSession(ctx, request, who) })
}

const waitText = (seconds: number) =>
  seconds < 60
    ? `${seconds} second${seconds === 1 ? '' : 's'}`
    : `${Math.ceil(seconds / 60)} minute${Math.ceil(seconds / 60) === 1 ? '' : 's'}`

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
      'set-cookie': setCookie(ctx, CSRF_COOKIE, token, { maxAge: 1800 }),
      ...o.headers,
    },
  })
}

/**
 * Sign out of the holder's Consentry pages: the built-in session is deleted on the server, so the
 * cookie is worthless from now on even if someone kept a copy.
 */
export async function logout(ctx: Context, request: Request): Promise<Response> {
  const form = await readForm(request)
  const who = await currentSubject(ctx, request)
  if (!who) return seeOther(`${basePath(ctx)}/login`, { 'set-cookie': await endSession(ctx, request) })
  if (!(await checkCsrfToken(ctx, request, who, form.get('csrf'))))
    return html(
      renderMessagePage({
        theme: ctx.config.theme,
        assetsUrl: ctx.urls.assets,
        title: 'Please try again',
        message: 'This form expired or was not sent from this page.',
        status: 403,
      }),
      403,
    )
  const cleared = await endSession(ctx, request)
  await ctx.audit.record({
    type: 'subject.signed_out',
    actor: { type: 'subject', id: who.subject },
    subject: who.subject,
    data: {},
  })
  return seeOther(`${basePath(ctx)}/login`, { 'set-cookie': cleared })
}
