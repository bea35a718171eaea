import type { Grant } from '@consentry/core'
import { checkAccessToken } from '../checks/access-token.ts'
import { consentedFields } from '../checks/consented-fields.ts'
import { checkQueryDates, consentedPeriod } from '../checks/consented-period.ts'
import { checkConsentedScope } from '../checks/consented-scope.ts'
import { checkConsentedDatatype, checkConsentedType } from '../checks/consented-type.ts'
import { checkCustomerPresent } from '../checks/customer-present.ts'
import { attendedClaim, type CountedRead, checkReadQuota } from '../checks/read-quota.ts'
import type { Context } from '../context.ts'
import type { EnforcedRead } from '../data-types/define.ts'
import { holderTools } from '../data-types/holder-tools.ts'
import { matchRoute } from '../data-types/routes.ts'
import { ProblemError, ResourceAuthError } from '../errors.ts'
import { usableGrant } from '../grants/lifecycle.ts'
import { json, textResponse } from '../http/respond.ts'
import { openApiDocument } from '../openapi/document.ts'
import { serveListing } from '../resource/listing.ts'

/**
 * The resource API: the routes of every configured data type under one resource. Each request is a
 * short list of named checks — a DPoP-bound access token (check_access_token), the grant's live
 * status (one indexed lookup: a revoked grant fails on the very next request), then the consent as
 * it stands now, generically for every type: its type (check_consented_type), datatype, scope,
 * period, fields and reads per day — enforced here, never left to the recipient or to the data type.
 * Every read is audited with counts and ranges, never the data. (`DPoP-Nonce` is added to every
 * response by the router.)
 */
export async function resource(ctx: Context, request: Request, url: URL, subpath: string): Promise<Response> {
  if (request.method !== 'GET')
    throw new ProblemError('method_not_allowed', 'this API is read-only', { allow: 'GET' })
  // The API's own description is public: anyone integrating needs it before they hold a token.
  if (subpath === '/openapi.json') return openApi(ctx)
  const { grant, counted } = await checkGrant(ctx, request, url, subpath)
  try {
    return await serve(ctx, request, url, subpath, grant, counted)
  } finally {
    // A read counted with the grant and refused before check_read_quota took it is given back.
    await counted?.releaseUntaken(ctx)
  }
}

async function serve(
  ctx: Context,
  request: Request,
  url: URL,
  subpath: string,
  grant: Grant,
  counted: CountedRead | undefined,
): Promise<Response> {
  const matched = matchRoute(ctx.config.routes, subpath)
  if (matched === 'malformed') throw new ProblemError('invalid_parameter', 'malformed path parameter')
  if (!matched) throw new ProblemError('not_found', 'no such resource')
  const { route, params } = matched
  const detail = checkConsentedType(grant, route)
  checkConsentedDatatype(detail, route)
  const attended = checkCustomerPresent(request)
  checkQueryDates(url.searchParams)
  const param = route.dataType.detail.scope?.param
  const scopeId = param !== undefined ? params[param] : undefined
  const read: EnforcedRead = {
    grantId: grant.id,
    clientId: grant.clientId,
    subject: grant.subject,
    detail,
    ...(scopeId !== undefined ? { scopeId } : {}),
    scope: await checkConsentedScope(route.dataType, detail, grant.subject, scopeId),
    period: consentedPeriod(detail, ctx.now()),
    fields: consentedFields(route.dataType, detail),
    attended,
    query: url.searchParams,
    now: ctx.now(),
  }
  let served: {
    body: unknown
    audit: Record<string, unknown>
    contentType?: string
    headers?: Record<string, string>
  }
  if ('list' in route.handler) {
    served = await serveListing(ctx, route, route.handler, read, counted)
  } else {
    // Every answer of an object route counts, like a listing: balances and summaries are live data.
    const resource = { type: route.dataType.detail.type, resource: route.contract.datatype ?? route.name }
    await checkReadQuota(ctx, read, resource, counted)
    const answer = await route.handler.get(read, request, holderTools(ctx, read))
    served = {
      body: answer.body,
      audit: { ...resource, ...answer.audit },
      ...(answer.contentType ? { contentType: answer.contentType } : {}),
      ...(answer.headers ? { headers: answer.headers } : {}),
    }
  }
  await ctx.audit.record({
    type: 'data.read',
    actor: { type: 'client', id: grant.clientId },
    grantId: grant.id,
    clientId: grant.clientId,
    subject: grant.subject,
    data: { ...served.audit, attended },
  })
  if (served.contentType)
    return textResponse(String(served.body), served.contentType, 200, {
      'cache-control': 'no-store',
      pragma: 'no-cache',
      ...served.headers,
    })
  return json(served.body, 200, served.headers)
}

let cached: { ctx: Context; text: string } | undefined

function openApi(ctx: Context): Response {
  if (cached?.ctx !== ctx) cached = { ctx, text: JSON.stringify(openApiDocument(ctx)) }
  return textResponse(cached.text, 'application/json', 200, {
    'cache-control': 'public, max-age=300',
    'access-control-allow-origin': '*',
  })
}

/**
 * check_access_token, then the live grant behind it: the proof's jti is recorded and the token's
 * grant read in one store round trip — with an attended read counted in it too (see
 * {@link attendedClaim}). A revoked or expired grant, or one of another client, is 401.
 */
async function checkGrant(
  ctx: Context,
  request: Request,
  url: URL,
  subpath: string,
): Promise<{ grant: Grant; counted: CountedRead | undefined }> {
  let loaded: Grant | null | undefined
  let counted: CountedRead | undefined
  try {
    const claims = await checkAccessToken(ctx, request, {
      audience: ctx.urls.resource,
      htu: ctx.urls.resource + subpath,
      recordJti: async (c, key, expiresAt) => {
        if (!c.grant_id) return ctx.store.recordJti(key, expiresAt)
        counted = attendedClaim(ctx, request, url, c.grant_id, c.client_id)
        const r = await ctx.store.recordJtiAndGetGrant(key, expiresAt, c.grant_id, counted?.claim)
        loaded = r.grant
        if (counted) counted.quota = r.quota
        return r.firstUse
      },
    })
    const grant = claims.grant_id ? await usableGrant(ctx, claims.grant_id, loaded) : null
    if (!grant || grant.clientId !== claims.client_id)
      throw new ResourceAuthError('invalid_token', 'the grant behind this token was revoked or has expired')
    return { grant, counted }
  } catch (e) {
    await counted?.releaseUntaken(ctx)
    throw e
  }
}
