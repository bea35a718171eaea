import {
  type AuditEvent,
  type AuthorizationDetail,
  effectiveStatus,
  type Grant,
  MAX_DETAILS,
} from '@consentry/core'
import { scopeOf } from '../checks/consented-scope.ts'
import type { Context } from '../context.ts'
import type { DataType } from '../data-types/define.ts'
import { isNarrowing, shapeOf } from '../grants/amend.ts'
import {
  applyDetailChoices,
  applyExpiryChoice,
  expiryControl,
  periodControl,
  readsControl,
} from '../grants/choices.ts'
import { dataDetails, dataTypeOf, dateText, periodText, purposeOf } from '../grants/describe.ts'
import { amendGrant, endGrant } from '../grants/lifecycle.ts'
import { narrowDetails } from '../grants/narrow.ts'
import { changeLines, invalidDetail } from '../grants/proposal.ts'
import { amendmentOf, consentReceipt } from '../grants/receipt.ts'
import { sectionPrefix, sectionsFor } from '../grants/sections.ts'
import { readForm } from '../http/body.ts'
import { formExpired, messageResponse } from '../http/message.ts'
import { html, seeOther } from '../http/respond.ts'
import {
  detailFacts,
  type GrantSummary,
  renderChangeForm,
  renderDashboard,
  renderGrantDetail,
  renderRevokeConfirm,
} from '../pages/index.ts'
import { basePath, checkCsrfToken, csrfToken, currentSubject, type SignedIn } from '../session.ts'
import { accessLog } from './audit.ts'
import { loginRedirect } from './login.ts'
import { SANDBOX_REVOKED } from './sandbox.ts'

const DAY = 86_400_000
const HISTORY_TEXT: Record<string, string> = {
  'grant.created': 'Asked for access',
  'grant.approved': 'You allowed access',
  'grant.denied': 'You declined',
  'grant.narrowed': 'Access was narrowed',
  'grant.amended': 'Access changed',
  'grant.amendment_denied': 'You declined a change the app asked for',
  'token.issued': 'The app connected',
  'token.refreshed': 'The app renewed its access',
  'grant.revoked': 'Access was revoked',
  'grant.expired': 'Access expired',
}
/** The sandbox's events, worded so the person sees no consent page was involved. */
const SANDBOX_TEXT: Record<string, string> = {
  'grant.created': 'The app asked the sandbox for access (a test)',
  'grant.approved': 'The sandbox allowed access, without asking you (a test)',
  'grant.revoked': 'The app revoked access through the sandbox (a test)',
}
const historyText = (e: AuditEvent) => {
  const d = e.data as Record<string, unknown>
  const sandbox = d.sandbox === true || (e.type === 'grant.revoked' && d.reason === SANDBOX_REVOKED)
  return (sandbox ? SANDBOX_TEXT[e.type] : undefined) ?? HISTORY_TEXT[e.type]!
}
const ORDER: Record<string, number> = { active: 0, pending: 1, revoked: 2, expired: 3, denied: 4 }

/**
 * The account holder's "Connected apps": every grant with what it may read and every time it read,
 * a detail view with the access log and history, one-click revocation (with a confirmation), and a
 * signed receipt to download.
 */
export async function consents(ctx: Context, request: Request, url: URL, rest: string): Promise<Response> {
  const who = await currentSubject(ctx, request)
  if (!who) return loginRedirect(ctx, url.pathname + url.search)
  if (rest === '' || rest === '/') return dashboard(ctx, request, who, url)
  const m = /^\/([A-Za-z0-9_-]{1,64})(\/revoke|\/receipt|\/access-log|\/change)?$/.exec(rest)
  const grant = m ? await ctx.store.getGrant(m[1]!) : null
  // Another person's grant is indistinguishable from none.
  if (!grant || grant.subject !== who.subject)
    return messageResponse(ctx, 'Not found', 'There is no such connected app.', 404)
  const action = m![2]
  if (action === '/receipt') return receipt(ctx, grant)
  if (action === '/access-log')
    return accessLog(ctx, url, grant.id, `${ctx.urls.issuer}/consents/${grant.id}/access-log`)
  if (action === '/revoke')
    return request.method === 'POST' ? revoke(ctx, request, who, grant) : confirm(ctx, request, who, grant)
  if (action === '/change')
    return request.method === 'POST'
      ? saveChange(ctx, request, who, grant)
      : changeForm(ctx, request, who, grant)
  return detail(ctx, request, who, grant, url)
}

async function summarize(ctx: Context, grant: Grant, events: AuditEvent[]): Promise<GrantSummary> {
  const client = await ctx.store.getClient(grant.clientId)
  const clientName = client?.clientName ?? grant.clientId
  const purposeId = purposeOf(ctx, grant.authorizationDetails)
  const typed = dataDetails(ctx, grant.authorizationDetails)
  const facts = []
  const scopeNames: string[] = []
  for (const { detail, dataType } of typed) {
    const names = await scopeNamesOf(dataType, grant.subject)
    const ids = scopeOf(dataType, detail)
    const named = ids.map((id) => names.get(id) ?? id)
    scopeNames.push(...named)
    facts.push(
      ...detailFacts(dataType.words, detail, {
        ...(dataType.detail.scope ? { scopeNames: named } : {}),
        fieldsMember: dataType.detail.fieldsMember ?? 'fields',
        period: periodText(detail),
        client: clientName,
      }),
    )
  }
  const reads = events.filter((e) => e.type === 'data.read')
  const last = reads.at(-1)
  const since = ctx.now() - 30 * DAY
  return {
    id: grant.id,
    clientName,
    purposeLabel: (purposeId && ctx.config.purposes[purposeId]?.label) ?? purposeId ?? '',
    status: effectiveStatus(grant, ctx.now()),
    accountNames: scopeNames,
    facts,
    grantedOn: dateText(grant.createdAt),
    expiresOn: dateText(grant.expiresAt),
    ...(effectiveStatus(grant, ctx.now()) === 'active' ? { expiresIn: expiresInText(ctx, grant) } : {}),
    ...(last ? { lastRead: dateText(Date.parse(last.at)) } : {}),
    readsLast30Days: reads.filter((e) => Date.parse(e.at) >= since).length,
    detailUrl: `${basePath(ctx)}/consents/${grant.id}`,
  }
}

/** The person's scope items of a type by id → name (accounts, stores). */
async function scopeNamesOf(dataType: DataType, subject: string): Promise<Map<string, string>> {
  return new Map(((await dataType.listScope?.(subject)) ?? []).map((s) => [s.id, s.name]))
}

async function eventsOf(ctx: Context, grantId: string) {
  return ctx.store.listAuditEvents({ grantId, limit: 5000 })
}

async function dashboard(ctx: Context, request: Request, who: SignedIn, url: URL) {
  const csrf = await csrfToken(ctx, request, who)
  const grants = (await ctx.store.listGrants({ subject: who.subject })).filter((g) => g.status !== 'pending')
  const summaries = await Promise.all(grants.map(async (g) => summarize(ctx, g, await eventsOf(ctx, g.id))))
  summaries.sort((a, b) => (ORDER[a.status] ?? 9) - (ORDER[b.status] ?? 9))
  return html(
    renderDashboard({
      theme: ctx.config.theme,
      assetsUrl: ctx.urls.assets,
      csrf: csrf.token,
      subjectName: await nameOf(ctx, who),
      signOutAction: `${basePath(ctx)}/logout`,
      ...(url.searchParams.get('revoked')
        ? { flash: 'Access revoked. The app can no longer read your data.' }
        : {}),
      grants: summaries,
    }),
    200,
    { headers: csrf.headers },
  )
}

async function detail(ctx: Context, request: Request, who: SignedIn, grant: Grant, url: URL) {
  const csrf = await csrfToken(ctx, request, who)
  const events = await eventsOf(ctx, grant.id)
  const summary = await summarize(ctx, grant, events)
  const names = new Map<string, Map<string, string>>()
  for (const { dataType } of dataDetails(ctx, grant.authorizationDetails))
    names.set(dataType.detail.type, await scopeNamesOf(dataType, grant.subject))
  const base = `${basePath(ctx)}/consents/${grant.id}`
  const readLog = events
    .filter((e) => e.type === 'data.read')
    .reverse()
    .map((e) => {
      const d = e.data as Record<string, unknown>
      const type = typeof d.type === 'string' ? d.type : 'transaction_history'
      const dataType = ctx.config.dataTypes.find((t) => t.detail.type === type)
      const noun = dataType?.words.scope?.noun ?? 'account'
      const id = d[noun]
      const what =
        dataType?.words.readText?.(d) ??
        (typeof id === 'string'
          ? (names.get(type)?.get(id) ?? id)
          : `${dataType?.words.scope?.legend ?? 'Account'} list`.replace(/s list$/, ' list'))
      return {
        at: new Date(e.at).toISOString().replace('T', ' ').slice(0, 16) + ' UTC',
        accountName: what,
        // The recipient *says* the person was present (x-fapi-customer-ip-address); the holder cannot
        // know, so the log words it as the app's claim, not as a fact.
        period: `${typeof d.from === 'string' ? `${d.from} to ${d.to}` : '—'}${d.attended === true ? ' (the app said you were using it)' : ''}`,
        records: typeof d.records === 'number' ? d.records : 0,
        ...(e.index !== undefined ? { proofUrl: `${base}/access-log?index=${e.index}` } : {}),
      }
    })
  const history = await Promise.all(
    events
      .filter((e) => HISTORY_TEXT[e.type])
      .map(async (e) => ({ at: dateText(Date.parse(e.at)), text: await changeText(ctx, grant, e) })),
  )
  const { detailUrl: _omit, ...rest } = summary
  const flash = url.searchParams.get('revoked')
    ? `Access revoked. ${summary.clientName} can no longer read your data.`
    : url.searchParams.get('changed')
      ? `Changes saved. From its next request, ${summary.clientName} only gets what is listed here.`
      : url.searchParams.get('unchanged')
        ? 'Nothing was changed.'
        : undefined
  return html(
    renderGrantDetail({
      theme: ctx.config.theme,
      assetsUrl: ctx.urls.assets,
      subjectName: await nameOf(ctx, who),
      csrf: csrf.token,
      ...(flash ? { flash } : {}),
      grant: rest,
      accessLog: readLog,
      history,
      receiptUrl: `${base}/receipt`,
      accessLogUrl: `${base}/access-log`,
      ...(summary.status === 'active' ? { revokeUrl: `${base}/revoke`, changeUrl: `${base}/change` } : {}),
      backUrl: `${basePath(ctx)}/consents`,
    }),
    200,
    { headers: csrf.headers },
  )
}

async function confirm(ctx: Context, request: Request, who: SignedIn, grant: Grant) {
  const summary = await summarize(ctx, grant, [])
  if (summary.status !== 'active') return seeOther(`${basePath(ctx)}/consents/${grant.id}`)
  const csrf = await csrfToken(ctx, request, who)
  return html(
    renderRevokeConfirm({
      theme: ctx.config.theme,
      assetsUrl: ctx.urls.assets,
      csrf: csrf.token,
      subjectName: await nameOf(ctx, who),
      clientName: summary.clientName,
      action: `${basePath(ctx)}/consents/${grant.id}/revoke`,
      cancelUrl: `${basePath(ctx)}/consents/${grant.id}`,
      accountNames: summary.accountNames,
    }),
    200,
    { headers: csrf.headers },
  )
}

async function revoke(ctx: Context, request: Request, who: SignedIn, grant: Grant) {
  const form = await readForm(request)
  if (!(await checkCsrfToken(ctx, request, who, form.get('csrf')))) return formExpired(ctx)
  await endGrant(ctx, grant.id, 'revoked', 'revoked_by_subject', { type: 'subject', id: who.subject })
  return seeOther(`${basePath(ctx)}/consents/${grant.id}?revoked=1`)
}

async function receipt(ctx: Context, grant: Grant) {
  const client = await ctx.store.getClient(grant.clientId)
  const jws = await consentReceipt(
    ctx,
    grant,
    { clientId: grant.clientId, clientName: client?.clientName ?? grant.clientId },
    await amendmentOf(ctx, grant),
  )
  return new Response(jws, {
    headers: {
      'content-type': 'application/jose',
      'content-disposition': `attachment; filename="consent-receipt-${grant.id}.jws"`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    },
  })
}

async function nameOf(ctx: Context, who: SignedIn) {
  return who.name ?? (await ctx.config.accountHolders.displayName?.(who.subject)) ?? who.subject
}

/** "expires in 5 days" (counting a started day as one); `soon` within the reminder window. */
function expiresInText(ctx: Context, grant: Grant): { text: string; soon: boolean } {
  const left = grant.expiresAt - ctx.now()
  const days = Math.max(1, Math.ceil(left / DAY))
  return {
    text: `expires in ${days} ${days === 1 ? 'day' : 'days'}`,
    soon: left <= Math.max(ctx.config.expiryReminderMs, DAY),
  }
}

/** A history line; a change says who changed what ("You narrowed access. Removes: Description"). */
async function changeText(ctx: Context, grant: Grant, e: AuditEvent): Promise<string> {
  if (e.type !== 'grant.amended') return historyText(e)
  const d = e.data as Record<string, unknown>
  const who =
    d.by === 'subject'
      ? 'You narrowed access'
      : d.action === 'replace'
        ? 'You approved a new version of the access the app asked for'
        : 'You approved more access the app asked for'
  const list = (v: unknown) => (Array.isArray(v) ? (v as AuthorizationDetail[]) : [])
  const at = (v: unknown) => (typeof v === 'string' ? Date.parse(v) : grant.expiresAt)
  const lines = await changeLines(
    ctx,
    grant.subject,
    { details: list(d.before), expiresAt: at(d.expires_before) },
    { details: list(d.after), expiresAt: at(d.expires_after) },
  )
  return lines.length ? `${who}. ${lines.join('. ')}` : who
}

/** "Change what <app> can see": the consent controls over what is granted now (narrowing only). */
async function changeForm(
  ctx: Context,
  request: Request,
  who: SignedIn,
  grant: Grant,
  error?: string,
): Promise<Response> {
  const base = `${basePath(ctx)}/consents/${grant.id}`
  if (effectiveStatus(grant, ctx.now()) !== 'active') return seeOther(base)
  const csrf = await csrfToken(ctx, request, who)
  const client = await ctx.store.getClient(grant.clientId)
  const clientName = client?.clientName ?? grant.clientId
  const typed = dataDetails(ctx, grant.authorizationDetails)
  const sections = (await sectionsFor(ctx, grant.authorizationDetails, grant.subject, clientName)).map(
    (section, k) => {
      const detail = typed[k]!.detail
      const period = periodControl(detail, section.prefix, 'now')
      const reads = readsControl(detail, section.prefix, clientName)
      return {
        ...section,
        ...(section.scope
          ? {
              scope: {
                ...section.scope,
                hint: `${clientName} can see these ${section.scope.plural} now. Untick any you want to stop sharing.`,
              },
            }
          : {}),
        ...(period ? { period } : {}),
        ...(reads ? { reads } : {}),
      }
    },
  )
  return html(
    renderChangeForm({
      theme: ctx.config.theme,
      assetsUrl: ctx.urls.assets,
      subjectName: await nameOf(ctx, who),
      csrf: csrf.token,
      clientName,
      action: `${base}/change`,
      cancelUrl: base,
      version: String(grant.updatedAt),
      sections,
      expiry: expiryControl(grant.expiresAt, ctx.now(), 'now'),
      ...(error ? { error } : {}),
    }),
    error ? 400 : 200,
    { headers: csrf.headers },
  )
}

/** Every name the change form may repeat (like the consent form's). */
const REPEATED = ['account', 'field', 'datatype'].flatMap((n) =>
  Array.from({ length: MAX_DETAILS }, (_, k) => `${sectionPrefix(k)}${n}`),
)

/**
 * Apply the person's narrowing to the same grant at once: only narrower (scope, datatypes, fields,
 * period, reads a day, end), only to the version the form showed; receipt, `grant-amended` event
 * and `grant.amended` audit as for any change (see `amendGrant`).
 */
async function saveChange(ctx: Context, request: Request, who: SignedIn, grant: Grant): Promise<Response> {
  const form = await readForm(request, { allowRepeated: REPEATED })
  if (!(await checkCsrfToken(ctx, request, who, form.get('csrf')))) return formExpired(ctx)
  const base = `${basePath(ctx)}/consents/${grant.id}`
  if (effectiveStatus(grant, ctx.now()) !== 'active') return seeOther(base)
  const again = (message: string) => changeForm(ctx, request, who, grant, message)
  if (form.get('grant_version') !== String(grant.updatedAt))
    return again('This access changed while you were editing it. Check it again before saving.')
  const narrowed = await narrowDetails(ctx, grant.subject, grant.authorizationDetails, form)
  if (typeof narrowed === 'string')
    return again(narrowed.replace('or choose Deny.', 'or revoke access instead.'))
  const prefixes = new Map<number, string>()
  let k = 0
  for (const [i, d] of narrowed.entries()) if (dataTypeOf(ctx, d)) prefixes.set(i, sectionPrefix(k++))
  const chosen = applyDetailChoices(narrowed, form, (i) => prefixes.get(i), { reads: true })
  if (typeof chosen === 'string') return again(chosen)
  const after = applyExpiryChoice(chosen, form, grant.expiresAt, ctx.now())
  if (typeof after === 'string') return again(after)
  const shape = (type: string) => shapeOf(ctx.config.detailTypes, type)
  const invalid = invalidDetail(ctx, after.details)
  if (invalid) return again(invalid)
  // Never wider, whatever the form said (the options only offer narrower choices; this is the backstop).
  if (!isNarrowing(grant.authorizationDetails, after.details, grant.expiresAt, after.expiresAt, shape))
    return again('Only less can be shared from here. To share more, the app has to ask you.')
  if (
    JSON.stringify(after.details) === JSON.stringify(grant.authorizationDetails) &&
    after.expiresAt === grant.expiresAt
  )
    return seeOther(`${base}?unchanged=1`)
  const amended = await amendGrant(ctx, grant, {
    action: 'narrow',
    by: 'subject',
    actor: { type: 'subject', id: who.subject },
    authorizationDetails: after.details,
    expiresAt: after.expiresAt,
  })
  if (!amended) return again('This access changed while you were editing it. Check it again before saving.')
  return seeOther(`${base}?changed=1`)
}
