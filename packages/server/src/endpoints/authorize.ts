import { type AuthorizationDetail, type ClientRecord, type Grant, MAX_DETAILS } from '@consentry/core'
import type { Context } from '../context.ts'
import { dataDetails, dataTypeOf, dateText, grantLifetimeMs, purposeOf } from '../grants/describe.ts'
import { narrowDetails } from '../grants/narrow.ts'
import { sectionPrefix, sectionsFor } from '../grants/sections.ts'
import { readForm } from '../http/body.ts'
import { getCookie, setCookie } from '../http/cookies.ts'
import { formExpired, messageResponse } from '../http/message.ts'
import { html, seeOther } from '../http/respond.ts'
import { type ConsentView, renderConsentPage } from '../pages/index.ts'
import { basePath, currentSubject } from '../session.ts'
import type { Interaction } from '../store/store.ts'
import { hashSecret, randomToken, timingSafeEqual } from '../tokens/random.ts'
import { logoPath } from './assets.ts'
import { loginRedirect } from './login.ts'

const IX_COOKIE = 'consentry-interaction'

/**
 * `GET /authorize?client_id=…&request_uri=…`: only these two parameters (FAPI 2.0: everything else
 * was pushed). Consumes the one-time request_uri, opens an interaction bound to this browser by a
 * cookie scoped to the interaction's own path, and moves on to sign-in and consent. Errors here are
 * shown as a page, never redirected: the redirect URI is not trusted until the request is.
 */
export async function authorize(ctx: Context, _request: Request, url: URL): Promise<Response> {
  const params = [...url.searchParams.keys()]
  const clientId = url.searchParams.get('client_id')
  const requestUri = url.searchParams.get('request_uri')
  if (!clientId || !requestUri || params.length !== 2)
    return messageResponse(
      ctx,
      'This link is not valid',
      'Authorization requests must be pushed first (PAR): only client_id and request_uri are accepted here.',
    )
  const pushed = await ctx.store.consumePushedRequest(requestUri, ctx.now())
  if (!pushed || pushed.request.clientId !== clientId)
    return messageResponse(
      ctx,
      'This link has expired',
      'Go back to the app that sent you here and start again.',
    )
  const cookie = randomToken(32)
  const ix: Interaction = {
    id: randomToken(16),
    request: pushed.request,
    cookieHash: await hashSecret(cookie),
    csrf: randomToken(32),
    expiresAt: ctx.now() + ctx.config.lifetimes.interaction * 1000,
  }
  await ctx.store.saveInteraction(ix)
  const path = `${basePath(ctx)}/authorize/${ix.id}`
  return seeOther(path, {
    'set-cookie': setCookie(ctx, IX_COOKIE, cookie, { path, maxAge: ctx.config.lifetimes.interaction }),
  })
}

/** `GET /authorize/{id}` shows the consent page; `POST` takes the decision. */
export async function interaction(ctx: Context, request: Request, id: string): Promise<Response> {
  const ix = await ctx.store.getInteraction(id, ctx.now())
  const cookie = getCookie(ctx, request, IX_COOKIE, `${basePath(ctx)}/authorize/${id}`)
  if (!ix || !cookie || !timingSafeEqual(await hashSecret(cookie), ix.cookieHash))
    return messageResponse(
      ctx,
      'This link has expired',
      'Go back to the app that sent you here and start again.',
    )
  const who = await currentSubject(ctx, request)
  if (!who) return loginRedirect(ctx, `${basePath(ctx)}/authorize/${ix.id}`)
  if (ix.subject && ix.subject !== who.subject)
    return messageResponse(
      ctx,
      'Signed in as someone else',
      'This request was started by another account holder. Start again from the app.',
      403,
    )
  const client = await ctx.store.getClient(ix.request.clientId)
  if (!client)
    return messageResponse(ctx, 'This app is no longer registered', 'Go back to the app and contact it.', 400)

  if (request.method === 'POST') return decide(ctx, request, ix, client)

  if (!ix.grantId) {
    const now = ctx.now()
    const grant: Grant = {
      id: `gr_${randomToken(16)}`,
      clientId: client.clientId,
      subject: who.subject,
      status: 'pending',
      authorizationDetails: ix.request.authorizationDetails,
      createdAt: now,
      updatedAt: now,
      // Until the person answers, the grant lives as long as the interaction; approval sets the real end.
      expiresAt: ix.expiresAt,
    }
    await ctx.store.createGrant(grant)
    await ctx.audit.record({
      type: 'grant.created',
      actor: { type: 'client', id: client.clientId },
      grantId: grant.id,
      clientId: client.clientId,
      subject: who.subject,
      data: { status: 'pending' },
    })
    ix.subject = who.subject
    ix.grantId = grant.id
    await ctx.store.saveInteraction(ix)
  }
  return consentPage(ctx, ix, client, who.name ?? who.subject)
}

async function consentPage(
  ctx: Context,
  ix: Interaction,
  client: ClientRecord,
  subjectName: string,
  error?: string,
) {
  const details = ix.request.authorizationDetails
  const purposeId = purposeOf(ctx, details) ?? ''
  const purpose = ctx.config.purposes[purposeId] ?? { label: purposeId, description: '' }
  const typed = dataDetails(ctx, details)
  const reads = typed.map(({ detail }) => detail.max_reads_per_day).filter((n) => typeof n === 'number')
  const view: ConsentView = {
    theme: ctx.config.theme,
    assetsUrl: ctx.urls.assets,
    action: `${basePath(ctx)}/authorize/${ix.id}`,
    csrf: ix.csrf,
    subjectName,
    client: {
      name: client.clientName,
      ...(client.clientUri ? { uri: client.clientUri } : {}),
      // The stored copy, served by the holder; never the recipient's own URL (see register.ts).
      ...(client.logoUri && (await ctx.store.getClientLogo(client.clientId))
        ? { logoUrl: `${ctx.urls.assets}${logoPath(client.clientId)}` }
        : {}),
    },
    purpose: { id: purposeId, ...purpose },
    sections: await sectionsFor(ctx, details, ix.subject!, client.clientName),
    expiresAtText: dateText(ctx.now() + grantLifetimeMs(details, ctx.config.lifetimes.maxGrant)),
    maxReadsPerDay: reads.length ? Math.min(...(reads as number[])) : 0,
    otherDetails: details
      .filter((d) => !dataTypeOf(ctx, d))
      .map((d) => ({
        type: d.type,
        lines: ctx.config.detailTypes.find((t) => t.type === d.type)?.describe?.(d) ?? [`${d.type}`],
      })),
    ...(error ? { error } : {}),
  }
  // The form's 303 leads to the client's redirect URI: CSP form-action must allow its origin.
  return html(renderConsentPage(view), error ? 400 : 200, {
    formAction: [new URL(ix.request.redirectUri).origin],
  })
}

/** Every name a consent form may repeat: the first section's, then `1.account`, … */
const REPEATED = ['account', 'field', 'datatype'].flatMap((n) =>
  Array.from({ length: MAX_DETAILS }, (_, k) => `${sectionPrefix(k)}${n}`),
)

async function decide(
  ctx: Context,
  request: Request,
  ix: Interaction,
  client: ClientRecord,
): Promise<Response> {
  const form = await readForm(request, { allowRepeated: REPEATED })
  if (!timingSafeEqual(form.get('csrf') ?? '', ix.csrf)) return formExpired(ctx)
  const decision = form.get('decision')
  if (decision !== 'allow' && decision !== 'deny')
    return messageResponse(ctx, 'Please choose', 'Choose Allow or Deny.', 400)
  if (!ix.grantId || !ix.subject)
    return messageResponse(ctx, 'This link has expired', 'Go back to the app and start again.')

  let granted: AuthorizationDetail[] = []
  if (decision === 'allow') {
    const result = await narrowDetails(ctx, ix.subject, ix.request.authorizationDetails, form)
    if (typeof result === 'string') return consentPage(ctx, ix, client, ix.subject, result)
    granted = result
  }
  // The decision is taken once: a double submit finds the interaction gone.
  if (!(await ctx.store.consumeInteraction(ix.id, ctx.now())))
    return messageResponse(ctx, 'Already answered', 'This request was already answered.')
  const now = ctx.now()
  const target = new URL(ix.request.redirectUri)
  if (ix.request.state !== undefined) target.searchParams.set('state', ix.request.state)
  target.searchParams.set('iss', ctx.urls.issuer)

  if (decision === 'deny') {
    await ctx.store.transitionGrant(ix.grantId, ['pending'], {
      status: 'denied',
      updatedAt: now,
      endedAt: now,
      endedReason: 'denied_by_subject',
    })
    await ctx.audit.record({
      type: 'grant.denied',
      actor: { type: 'subject', id: ix.subject },
      grantId: ix.grantId,
      clientId: client.clientId,
      subject: ix.subject,
      data: {},
    })
    target.searchParams.set('error', 'access_denied')
    target.searchParams.set('error_description', 'The account holder declined the request')
    return seeOther(target.href)
  }

  const grant = await ctx.store.transitionGrant(ix.grantId, ['pending'], {
    status: 'active',
    authorizationDetails: granted,
    updatedAt: now,
    expiresAt: now + grantLifetimeMs(granted, ctx.config.lifetimes.maxGrant),
  })
  if (!grant) return messageResponse(ctx, 'Already answered', 'This request was already answered.')
  const first = dataDetails(ctx, granted)[0]
  const member = (m: string | undefined) =>
    first && m && Array.isArray(first.detail[m]) ? (first.detail[m] as string[]) : []
  await ctx.audit.record({
    type: 'grant.approved',
    actor: { type: 'subject', id: ix.subject },
    grantId: grant.id,
    clientId: client.clientId,
    subject: ix.subject,
    data: {
      ...(first ? { type: first.dataType.detail.type } : {}),
      [first?.dataType.detail.scope?.member ?? 'accounts']: member(first?.dataType.detail.scope?.member),
      datatypes: member('datatypes'),
      fields: member(first?.dataType.detail.fieldsMember ?? 'fields'),
      purpose: purposeOf(ctx, granted) ?? null,
      expires_at: new Date(grant.expiresAt).toISOString(),
    },
  })
  const code = randomToken(32)
  await ctx.store.saveCode({
    codeHash: await hashSecret(code),
    clientId: client.clientId,
    grantId: grant.id,
    subject: ix.subject,
    redirectUri: ix.request.redirectUri,
    codeChallenge: ix.request.codeChallenge,
    dpopJkt: ix.request.dpopJkt,
    expiresAt: now + ctx.config.lifetimes.code * 1000,
  })
  await ctx.audit.record({
    type: 'code.issued',
    actor: { type: 'system' },
    grantId: grant.id,
    clientId: client.clientId,
    subject: ix.subject,
    data: {},
  })
  target.searchParams.set('code', code)
  return seeOther(target.href)
}
