import { type AuthorizationDetail, type ClientRecord, type Grant, MAX_DETAILS } from '@consentry/core'
import type { Context } from '../context.ts'
import { applyDetailChoices, applyExpiryChoice, expiryControl, periodControl } from '../grants/choices.ts'
import {
  approvalData,
  dataDetails,
  dataTypeOf,
  dateText,
  grantLifetimeMs,
  purposeOf,
} from '../grants/describe.ts'
import { amendGrant } from '../grants/lifecycle.ts'
import { narrowDetails } from '../grants/narrow.ts'
import { invalidDetail, type Proposal, proposeAmendment } from '../grants/proposal.ts'
import { sectionPrefix, sectionsFor } from '../grants/sections.ts'
import { type Form, readForm } from '../http/body.ts'
import { getCookie, setCookie } from '../http/cookies.ts'
import { formExpired, messageResponse } from '../http/message.ts'
import { html, seeOther } from '../http/respond.ts'
import { type ConsentView, renderConsentPage } from '../pages/index.ts'
import { basePath, currentSubject } from '../session.ts'
import {
  consumeInteraction,
  consumePushedRequest,
  getInteraction,
  saveCode,
  saveInteraction,
} from '../store/records.ts'
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
  const pushed = await consumePushedRequest(ctx.store, requestUri, ctx.now())
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
  await saveInteraction(ctx.store, ix)
  const path = `${basePath(ctx)}/authorize/${ix.id}`
  return seeOther(path, {
    'set-cookie': setCookie(ctx, IX_COOKIE, cookie, { path, maxAge: ctx.config.lifetimes.interaction }),
  })
}

/** `GET /authorize/{id}` shows the consent page; `POST` takes the decision. */
export async function interaction(ctx: Context, request: Request, id: string): Promise<Response> {
  const ix = await getInteraction(ctx.store, id, ctx.now())
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

  if (ix.request.grantManagement) {
    // A change to a grant (Grant Management): only its own account holder decides, while it is active.
    const grant = await ctx.store.getGrant(ix.request.grantManagement.grantId)
    if (grant && grant.subject !== who.subject)
      return messageResponse(
        ctx,
        'Signed in as someone else',
        'This request is about another account holder’s connection. Sign in as them, or start again from the app.',
        403,
      )
    if (!ix.subject) {
      ix.subject = who.subject
      ix.grantId = ix.request.grantManagement.grantId
      await saveInteraction(ctx.store, ix)
    }
    if (request.method === 'POST') return decideAmendment(ctx, request, ix, client)
    return amendmentPage(ctx, ix, client, who.name ?? who.subject)
  }

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
    await saveInteraction(ctx.store, ix)
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
  const until = ctx.now() + grantLifetimeMs(details, ctx.config.lifetimes.maxGrant)
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
    sections: withPeriodChoices(await sectionsFor(ctx, details, ix.subject!, client.clientName), typed),
    expiresAtText: dateText(until),
    // The person may choose an earlier end than asked (never a later one).
    expiry: expiryControl(until, ctx.now(), 'asked'),
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

/** The consent form's answer: its CSRF token checked, then `allow` or `deny` (else a 400 page). */
async function readDecision(
  ctx: Context,
  request: Request,
  ix: Interaction,
): Promise<{ form: Awaited<ReturnType<typeof readForm>>; decision: 'allow' | 'deny' } | Response> {
  const form = await readForm(request, { allowRepeated: REPEATED })
  if (!timingSafeEqual(form.get('csrf') ?? '', ix.csrf)) return formExpired(ctx)
  const decision = form.get('decision')
  if (decision !== 'allow' && decision !== 'deny')
    return messageResponse(ctx, 'Please choose', 'Choose Allow or Deny.', 400)
  return { form, decision }
}

async function decide(
  ctx: Context,
  request: Request,
  ix: Interaction,
  client: ClientRecord,
): Promise<Response> {
  const read = await readDecision(ctx, request, ix)
  if (read instanceof Response) return read
  const { form, decision } = read
  if (!ix.grantId || !ix.subject)
    return messageResponse(ctx, 'This link has expired', 'Go back to the app and start again.')

  let granted: AuthorizationDetail[] = []
  let expiresAt = 0
  if (decision === 'allow') {
    const until = ctx.now() + grantLifetimeMs(ix.request.authorizationDetails, ctx.config.lifetimes.maxGrant)
    const result = await narrowWithChoices(ctx, ix.subject, ix.request.authorizationDetails, form, until)
    if (typeof result === 'string') return consentPage(ctx, ix, client, ix.subject, result)
    ;({ details: granted, expiresAt } = result)
  }
  // The decision is taken once: a double submit finds the interaction gone.
  if (!(await consumeInteraction(ctx.store, ix.id, ctx.now())))
    return messageResponse(ctx, 'Already answered', 'This request was already answered.')
  const now = ctx.now()
  const target = callbackTarget(ctx, ix)

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
    expiresAt: Math.min(expiresAt, now + grantLifetimeMs(granted, ctx.config.lifetimes.maxGrant)),
  })
  if (!grant) return messageResponse(ctx, 'Already answered', 'This request was already answered.')
  await ctx.audit.record({
    type: 'grant.approved',
    actor: { type: 'subject', id: ix.subject },
    grantId: grant.id,
    clientId: client.clientId,
    subject: ix.subject,
    data: approvalData(ctx, granted, grant.expiresAt),
  })
  return issueCode(ctx, ix, grant.id, target)
}

/** Redirect back to the client with a code for `grantId` (single use, short-lived, PKCE- and DPoP-bound). */
async function issueCode(ctx: Context, ix: Interaction, grantId: string, target: URL): Promise<Response> {
  const code = randomToken(32)
  await saveCode(ctx.store, {
    codeHash: await hashSecret(code),
    clientId: ix.request.clientId,
    grantId,
    subject: ix.subject!,
    redirectUri: ix.request.redirectUri,
    codeChallenge: ix.request.codeChallenge,
    dpopJkt: ix.request.dpopJkt,
    expiresAt: ctx.now() + ctx.config.lifetimes.code * 1000,
  })
  await ctx.audit.record({
    type: 'code.issued',
    actor: { type: 'system' },
    grantId,
    clientId: ix.request.clientId,
    subject: ix.subject!,
    data: {},
  })
  target.searchParams.set('code', code)
  return seeOther(target.href)
}

/** The client's redirect URI with `state` and `iss` (RFC 9207). */
function callbackTarget(ctx: Context, ix: Interaction): URL {
  const target = new URL(ix.request.redirectUri)
  if (ix.request.state !== undefined) target.searchParams.set('state', ix.request.state)
  target.searchParams.set('iss', ctx.urls.issuer)
  return target
}

/** The sections with a period select each (shorter periods than the detail's). */
function withPeriodChoices(
  sections: Awaited<ReturnType<typeof sectionsFor>>,
  typed: Array<{ detail: AuthorizationDetail }>,
) {
  return sections.map((section, k) => {
    const period = typed[k] ? periodControl(typed[k].detail, section.prefix, 'asked') : undefined
    return period ? { ...section, period } : section
  })
}

/**
 * check_consent_selection, then the person's period and end: scope, datatypes and fields narrowed by
 * the checkboxes (see `narrowDetails`), a shorter period per section, an earlier end for the grant.
 */
async function narrowWithChoices(
  ctx: Context,
  subject: string,
  details: AuthorizationDetail[],
  form: Form,
  until: number,
): Promise<{ details: AuthorizationDetail[]; expiresAt: number } | string> {
  const narrowed = await narrowDetails(ctx, subject, details, form)
  if (typeof narrowed === 'string') return narrowed
  const prefixes = new Map<number, string>()
  let k = 0
  for (const [i, d] of narrowed.entries()) if (dataTypeOf(ctx, d)) prefixes.set(i, sectionPrefix(k++))
  const chosen = applyDetailChoices(narrowed, form, (i) => prefixes.get(i))
  if (typeof chosen === 'string') return chosen
  const ends = applyExpiryChoice(chosen, form, until, ctx.now())
  if (typeof ends === 'string') return ends
  const invalid = invalidDetail(ctx, ends.details)
  return invalid ?? ends
}

/**
 * The consent page of a change (Grant Management `merge`/`replace`): the change against what is
 * granted now ("Adds: …", "Removes: …"), then the same controls as a first consent over the
 * proposed details, with the version of the grant it was computed from.
 */
async function amendmentPage(
  ctx: Context,
  ix: Interaction,
  client: ClientRecord,
  subjectName: string,
  error?: string,
): Promise<Response> {
  const gm = ix.request.grantManagement!
  const grant = await ctx.store.getGrant(gm.grantId)
  if (!grant || grant.status !== 'active' || grant.expiresAt <= ctx.now())
    return messageResponse(
      ctx,
      'This connection has ended',
      `${client.clientName} asked to change access that has already ended. Go back to the app and connect again.`,
    )
  const proposal = await proposeAmendment(ctx, grant, ix.request.authorizationDetails, gm)
  const typed = dataDetails(ctx, proposal.details)
  const purposeId = purposeOf(ctx, proposal.details) ?? ''
  const purpose = ctx.config.purposes[purposeId] ?? { label: purposeId, description: '' }
  const reads = typed.map(({ detail }) => detail.max_reads_per_day).filter((n) => typeof n === 'number')
  const view: ConsentView = {
    theme: ctx.config.theme,
    assetsUrl: ctx.urls.assets,
    action: `${basePath(ctx)}/authorize/${ix.id}`,
    csrf: ix.csrf,
    hidden: { grant_version: String(grant.updatedAt) },
    subjectName,
    client: {
      name: client.clientName,
      ...(client.clientUri ? { uri: client.clientUri } : {}),
      ...(client.logoUri && (await ctx.store.getClientLogo(client.clientId))
        ? { logoUrl: `${ctx.urls.assets}${logoPath(client.clientId)}` }
        : {}),
    },
    purpose: { id: purposeId, ...purpose },
    changes: proposal.lines,
    sections: withPeriodChoices(
      await sectionsFor(ctx, proposal.details, ix.subject!, client.clientName),
      typed,
    ),
    expiresAtText: dateText(proposal.expiresAt),
    expiry: expiryControl(proposal.expiresAt, ctx.now(), 'asked'),
    maxReadsPerDay: reads.length ? Math.min(...(reads as number[])) : 0,
    otherDetails: proposal.details
      .filter((d) => !dataTypeOf(ctx, d))
      .map((d) => ({
        type: d.type,
        lines: ctx.config.detailTypes.find((t) => t.type === d.type)?.describe?.(d) ?? [`${d.type}`],
      })),
    ...(error ? { error } : {}),
  }
  return html(renderConsentPage(view), error ? 400 : 200, {
    formAction: [new URL(ix.request.redirectUri).origin],
  })
}

/**
 * The person's answer to a change. Deny: `access_denied` to the client, the grant exactly as it was.
 * Allow: the proposal, narrowed by the person, applied to the *same* grant — only if the grant is
 * still the version the page showed — then a code whose tokens name the same `grant_id`.
 */
async function decideAmendment(
  ctx: Context,
  request: Request,
  ix: Interaction,
  client: ClientRecord,
): Promise<Response> {
  const read = await readDecision(ctx, request, ix)
  if (read instanceof Response) return read
  const { form, decision } = read
  const gm = ix.request.grantManagement!
  const subject = ix.subject!
  const target = callbackTarget(ctx, ix)
  const grant = await ctx.store.getGrant(gm.grantId)
  const active = grant && grant.status === 'active' && grant.expiresAt > ctx.now()

  let proposal: Proposal | undefined
  let after: { details: AuthorizationDetail[]; expiresAt: number } | undefined
  if (decision === 'allow' && active) {
    // The page showed the change against this version; if the grant moved since, show it again.
    if (form.get('grant_version') !== String(grant.updatedAt))
      return amendmentPage(
        ctx,
        ix,
        client,
        subject,
        `What ${client.clientName} can see changed while you were deciding. Check the changes again.`,
      )
    proposal = await proposeAmendment(ctx, grant, ix.request.authorizationDetails, gm)
    const result = await narrowWithChoices(ctx, subject, proposal.details, form, proposal.expiresAt)
    if (typeof result === 'string') return amendmentPage(ctx, ix, client, subject, result)
    after = result
  }
  if (!(await consumeInteraction(ctx.store, ix.id, ctx.now())))
    return messageResponse(ctx, 'Already answered', 'This request was already answered.')
  if (!active) {
    target.searchParams.set('error', 'invalid_grant_id')
    target.searchParams.set('error_description', 'The grant is no longer active')
    return seeOther(target.href)
  }
  if (decision === 'deny') {
    await ctx.audit.record({
      type: 'grant.amendment_denied',
      actor: { type: 'subject', id: subject },
      grantId: grant.id,
      clientId: client.clientId,
      subject,
      data: { action: gm.action },
    })
    target.searchParams.set('error', 'access_denied')
    target.searchParams.set('error_description', 'The account holder declined the change')
    return seeOther(target.href)
  }
  const amended = await amendGrant(ctx, proposal!.grant, {
    action: gm.action,
    by: 'client',
    actor: { type: 'subject', id: subject },
    authorizationDetails: after!.details,
    expiresAt: after!.expiresAt,
  })
  if (!amended) {
    target.searchParams.set('error', 'invalid_grant_id')
    target.searchParams.set('error_description', 'The grant changed or ended before the change applied')
    return seeOther(target.href)
  }
  return issueCode(ctx, ix, amended.id, target)
}
