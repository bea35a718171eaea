import { type ClientRecord, type Grant, sha256Hex } from '@consentry/core'
import { SignJWT } from 'jose'
import type { Context } from '../context.ts'
import { pairwiseSubject } from '../tokens/pairwise.ts'
import { dataDetails, periodText, purposeOf } from './describe.ts'

/**
 * Issue a signed consent receipt and record that it was issued (with its digest, so the person's copy
 * and the recipient's can later be matched against the trail).
 *
 * A signed consent receipt (compact JWS, `typ: consent-receipt+jwt`, verifiable with the holder's
 * JWKS): who shared what with whom, why, until when, its status, and how to withdraw.
 * Issued when a grant is made, changed or ended; the person downloads it from the dashboard and the
 * recipient receives it with its tokens and events.
 */
export async function issueReceipt(
  ctx: Context,
  grant: Grant,
  client: Pick<ClientRecord, 'clientId' | 'clientName'>,
): Promise<string> {
  const receipt = await consentReceipt(ctx, grant, client, await amendmentOf(ctx, grant))
  await recordReceipt(ctx, grant, receipt)
  return receipt
}

/**
 * The change that made this version of the grant, from its `grant.amended` event (absent for a
 * version no amendment made): every receipt of one version says the same about it, wherever issued.
 */
export async function amendmentOf(ctx: Context, grant: Grant): Promise<ReceiptAmendment | undefined> {
  const events = await ctx.store.listAuditEvents({ grantId: grant.id, types: ['grant.amended'] })
  const made = events.findLast((e) => e.data.receipt === receiptId(grant))
  if (!made) return undefined
  const { action, by, previous_receipt } = made.data
  if (
    (action !== 'merge' && action !== 'replace' && action !== 'narrow') ||
    (by !== 'client' && by !== 'subject') ||
    typeof previous_receipt !== 'string'
  )
    return undefined
  return { action, by, previous: previous_receipt }
}

/** Record in the audit trail that `receipt` was issued for `grant` (its digest, never the receipt). */
export async function recordReceipt(ctx: Context, grant: Grant, receipt: string): Promise<void> {
  await ctx.audit.record({
    type: 'receipt.issued',
    actor: { type: 'system' },
    grantId: grant.id,
    clientId: grant.clientId,
    subject: grant.subject,
    data: { status: grant.status, digest: await sha256Hex(receipt) },
  })
}

/** The `jti` of the receipt of a grant as it stands: one per version (`updatedAt`) of the grant. */
export const receiptId = (grant: Pick<Grant, 'id' | 'updatedAt'>) => `rcpt_${grant.id}_${grant.updatedAt}`

/** What a receipt issued for a change says about it: the change, and the receipt it supersedes. */
export interface ReceiptAmendment {
  action: 'merge' | 'replace' | 'narrow'
  by: 'client' | 'subject'
  /** The `jti` of the receipt of the grant as it was before. */
  previous: string
}

/**
 * Sign a receipt for the grant as it stands (no audit event: see {@link issueReceipt}). A receipt
 * issued for an amendment names it and the receipt it supersedes (`amendment.previous_receipt`), so
 * a grant's receipts form a chain from its first approval to its end.
 */
export async function consentReceipt(
  ctx: Context,
  grant: Grant,
  client: Pick<ClientRecord, 'clientId' | 'clientName'>,
  amendment?: ReceiptAmendment,
): Promise<string> {
  const purposeId = purposeOf(ctx, grant.authorizationDetails)
  const purpose = purposeId ? ctx.config.purposes[purposeId] : undefined
  const iso = (ms: number) => new Date(ms).toISOString()
  return (
    new SignJWT({
      receipt_version: 1,
      grant_id: grant.id,
      status: grant.status,
      data_holder: { name: ctx.config.theme.name, issuer: ctx.urls.issuer },
      recipient: { client_id: client.clientId, name: client.clientName },
      purpose: purposeId
        ? { id: purposeId, label: purpose?.label ?? purposeId, description: purpose?.description ?? '' }
        : null,
      authorization_details: grant.authorizationDetails,
      // The same plain words the person read on the consent page.
      in_plain_words: dataDetails(ctx, grant.authorizationDetails).map(({ detail, dataType }) => {
        const words = { period: periodText(detail), client: client.clientName }
        const summary = dataType.words.summary?.(detail, words)
        return {
          type: detail.type,
          title: dataType.words.title,
          shares: dataType.words.sees?.(detail, words) ?? [],
          ...(summary ? { summary } : {}),
          cannot: dataType.words.notAllowed ?? [],
        }
      }),
      granted_at: iso(grant.createdAt),
      ...(grant.updatedAt !== grant.createdAt ? { updated_at: iso(grant.updatedAt) } : {}),
      ...(amendment
        ? {
            amendment: {
              action: amendment.action,
              by: amendment.by,
              previous_receipt: amendment.previous,
            },
          }
        : {}),
      expires_at: iso(grant.expiresAt),
      ...(grant.endedAt ? { ended_at: iso(grant.endedAt), ended_reason: grant.endedReason ?? null } : {}),
      withdraw: {
        account_holder: `${ctx.urls.consents}/${grant.id}`,
        recipient: `${ctx.urls.grants}/${grant.id}`,
      },
    })
      .setProtectedHeader({ alg: ctx.signingKey.alg, kid: ctx.signingKey.kid, typ: 'consent-receipt+jwt' })
      .setIssuer(ctx.urls.issuer)
      // The recipient's pairwise identifier: the person's copy and the recipient's are the same document.
      .setSubject(await pairwiseSubject(ctx, grant.clientId, grant.subject))
      .setIssuedAt(Math.floor(ctx.now() / 1000))
      .setJti(receiptId(grant))
      .sign(ctx.signingKey.privateKey)
  )
}
