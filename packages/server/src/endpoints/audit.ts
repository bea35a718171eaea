import { parseTilePath, tileNodes, tileWithin, toBase64 } from '@consentry/core'
import { accessLogBundle } from '../audit/trail.ts'
import { checkAccessToken } from '../checks/access-token.ts'
import type { Context } from '../context.ts'
import { ProblemError, ResourceAuthError } from '../errors.ts'
import { json } from '../http/respond.ts'

const TEXT = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' }

function log(ctx: Context) {
  if (!ctx.auditLog) throw new Error('the audit log is not wired')
  return ctx.auditLog
}

/** The log's published description, for the RFC 8414 metadata (`audit_log`). */
export function auditLogMetadata(ctx: Context) {
  return {
    origin: ctx.auditLogKey.origin,
    verifier_key: ctx.auditLogKey.verifierKey,
    checkpoint_endpoint: `${ctx.urls.issuer}/audit/checkpoint`,
    consistency_endpoint: `${ctx.urls.issuer}/audit/consistency`,
    tiles_prefix: `${ctx.urls.issuer}/audit`,
  }
}

/**
 * `GET /audit/checkpoint`: the newest signed checkpoint (C2SP tlog-checkpoint, a signed note),
 * `text/plain`. Before the first integration, the sequencer is stepped once so there is one.
 */
export async function auditCheckpoint(ctx: Context): Promise<Response> {
  const latest = (await log(ctx).latest()) ?? (await log(ctx).integrate()) ?? (await log(ctx).latest())
  if (!latest) throw new ProblemError('not_found', 'the audit log has no checkpoint yet')
  return new Response(latest.note, { status: 200, headers: TEXT })
}

/**
 * `GET /audit/tile/<L>/<N>[.p/<W>]`: a hash tile of the log (C2SP tlog-tiles; the prefix is
 * `{issuer}/audit`, whose `checkpoint` is the endpoint above), `application/octet-stream`, the
 * tile's hashes concatenated, immutable. 404 for a tile the newest checkpoint does not contain yet.
 * Entry bundles (`tile/entries/…`) are not served: events name people and their grants, so only the
 * person (their access log) and the recipient (its grant's) see entries; anyone sees hashes.
 */
export async function auditTile(ctx: Context, path: string): Promise<Response> {
  if (path.startsWith('entries/') || path === 'entries')
    throw new ProblemError(
      'not_found',
      'entry bundles are not public: events name people; see the access log of a grant',
    )
  const tile = parseTilePath(`tile/${path}`)
  if (!tile) throw new ProblemError('not_found', 'not a tile path (tile/<L>/<N>[.p/<W>])')
  const size = (await log(ctx).latest())?.size ?? 0
  if (!tileWithin(tile, size)) throw new ProblemError('not_found', `no such tile in the tree of ${size}`)
  const hashes = await ctx.store.getAuditNodes(tileNodes(tile))
  const body = new Uint8Array(hashes.length * 32)
  for (const [i, h] of hashes.entries()) body.set(h, i * 32)
  return new Response(body, {
    status: 200,
    headers: {
      'content-type': 'application/octet-stream',
      'cache-control': 'public, max-age=31536000, immutable',
    },
  })
}

const badRequest = (description: string) =>
  json({ error: 'invalid_request', error_description: description }, 400)

const DECIMAL = /^(0|[1-9][0-9]{0,15})$/

/**
 * `GET /audit/consistency?first=N&second=M`: `{ "proof": [base64 hashes] }`, the RFC 9162 §2.1.4
 * consistency proof between tree sizes N and M (empty when N = M). 400 `invalid_request` when a
 * size is not a decimal integer, N = 0, N > M or M exceeds the newest checkpoint's size.
 */
export async function auditConsistency(ctx: Context, _request: Request, url: URL): Promise<Response> {
  const [first, second] = [url.searchParams.get('first'), url.searchParams.get('second')]
  if (!first || !second || !DECIMAL.test(first) || !DECIMAL.test(second))
    return badRequest('first and second must be decimal integers')
  const [m, n] = [Number(first), Number(second)]
  if (!Number.isSafeInteger(m) || !Number.isSafeInteger(n)) return badRequest('sizes out of range')
  if (m === 0) return badRequest('first must be at least 1')
  if (m > n) return badRequest('first must not exceed second')
  const size = (await log(ctx).latest())?.size ?? 0
  if (n > size) return badRequest(`second exceeds the tree size ${size}`)
  const proof = await log(ctx).consistencyProof(m, n)
  return json({ proof: proof.map(toBase64) }, 200, { 'cache-control': 'public, max-age=3600' })
}

/**
 * An access-log bundle of one grant: `{ checkpoint, entries: [{ index, leaf, proof }], next? }`
 * against the newest checkpoint, in index order, 1,000 entries a page (`?after=<index>`).
 * `?index=<n>` returns just that entry (the inclusion proof the dashboard links to).
 */
export async function accessLog(ctx: Context, url: URL, grantId: string, self: string): Promise<Response> {
  const after = url.searchParams.get('after')
  const index = url.searchParams.get('index')
  for (const [name, value] of [
    ['after', after],
    ['index', index],
  ] as const)
    if (value !== null && !DECIMAL.test(value)) return badRequest(`${name} must be a decimal integer`)
  const from = index !== null ? Number(index) - 1 : after !== null ? Number(after) : undefined
  const page = await log(ctx).accessLog({ grantId }, from)
  if (!page) throw new ProblemError('not_found', 'the audit log has no checkpoint yet')
  if (index !== null) {
    const entries = page.entries.filter((e) => e.index === Number(index))
    if (entries.length === 0)
      throw new ProblemError('not_found', 'no such entry of this grant under the newest checkpoint')
    return json(accessLogBundle({ checkpoint: page.checkpoint, entries }), 200, DISPOSITION(grantId))
  }
  const last = page.entries.at(-1)
  const next = page.more && last ? `${self}?after=${last.index}` : undefined
  return json(accessLogBundle(page, next), 200, DISPOSITION(grantId))
}

const DISPOSITION = (grantId: string) => ({
  'content-disposition': `attachment; filename="access-log-${grantId}.json"`,
})

/**
 * `GET /grants/{grant_id}/access-log`: the recipient's view of its own grant's log, same bundle, with
 * its DPoP-bound grant-management token (`grant_management_query`). Another client's grant is a 404.
 */
export async function grantAccessLog(
  ctx: Context,
  request: Request,
  url: URL,
  grantId: string,
): Promise<Response> {
  const self = `${ctx.urls.grants}/${encodeURIComponent(grantId)}/access-log`
  const claims = await checkAccessToken(ctx, request, { audience: ctx.urls.grants, htu: self })
  if (!claims.scope?.split(' ').includes('grant_management_query'))
    throw new ResourceAuthError('insufficient_scope', 'this call needs the grant_management_query scope')
  const grant = await ctx.store.getGrant(grantId)
  if (!grant || grant.clientId !== claims.client_id) throw new ProblemError('not_found', 'no such grant')
  return accessLog(ctx, url, grantId, self)
}
