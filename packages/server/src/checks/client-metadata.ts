import type { ClientRegistrationRequest } from '@consentry/core'
import unhomoglyph from 'unhomoglyph'
import type { Context } from '../context.ts'
import { OAuthError } from '../errors.ts'
import { refuseUrl } from '../net/address.ts'

const invalid = (why: string) => new OAuthError('invalid_client_metadata', why)

/** The registration members the server will fetch (or link to) on the recipient's behalf. */
const EGRESS_MEMBERS = ['jwks_uri', 'webhook_uri', 'logo_uri', 'client_uri'] as const

/**
 * check_egress_uris: a `jwks_uri`, `webhook_uri`, `logo_uri` or `client_uri` whose host is an IP
 * literal in a private, loopback, link-local, metadata or other special-purpose range, or
 * `localhost` / `*.localhost`, is refused before anything is fetched (loopback only with
 * `dangerouslyAllowLoopbackEgress`). Host names are checked again, after DNS resolution, whenever
 * they are fetched.
 */
export function checkEgressUris(ctx: Context, metadata: Partial<Record<string, unknown>>): void {
  for (const member of EGRESS_MEMBERS) {
    const value = metadata[member]
    if (typeof value !== 'string') continue
    const refused = refuseUrl(new URL(value), ctx.config.egressOptions)
    if (refused) throw invalid(`${member}: ${refused}`)
  }
}

/**
 * The confusable skeleton of a name: Unicode TR39 §4 `skeleton()` (NFD, then the confusables.txt
 * prototype of each character, via `unhomoglyph`) applied to the NFKC form, case-folded and mapped
 * again, with marks, spaces, punctuation, symbols and invisible characters removed. Two names with the
 * same skeleton look alike: "Harbor Pay", "Harb0r Pay", "Нarbor Pay" (Cyrillic Н), "ＨＡＲＢＯＲ  ＰＡＹ".
 *
 * @example
 * ```ts
 * nameSkeleton('Harb0r  Pay') === nameSkeleton('harbor pay') // true
 * ```
 */
export function nameSkeleton(name: string): string {
  const once = unhomoglyph(name.normalize('NFKC').normalize('NFD')).normalize('NFD')
  const folded = unhomoglyph(once.toLowerCase()).normalize('NFD').toLowerCase()
  return folded.replace(/[\p{M}\p{Z}\p{C}\p{P}\p{S}\s]/gu, '')
}

/** How many look-alike clients the holder's hook is shown. */
const LOOKALIKES_SHOWN = 20

/**
 * check_client_name: a `client_name` confusable with the holder's own name (`theme.name`) is refused:
 * the consent page reads "{client} is asking to see your {holder} information", and a recipient
 * named like the holder would be asking in the holder's voice. Names confusable with clients already
 * registered go to the holder's `registration.isConfusableName` hook, if any. Returns the skeleton.
 * (Control and bidi characters were already refused by the registration schema.)
 */
export async function checkClientName(
  ctx: Context,
  metadata: Pick<ClientRegistrationRequest, 'client_name'>,
): Promise<string> {
  const name = metadata.client_name
  const skeleton = nameSkeleton(name)
  if (!skeleton) throw invalid('client_name must contain letters or digits')
  if (skeleton === nameSkeleton(ctx.config.theme.name))
    throw invalid(`client_name must not look like the name of ${ctx.config.theme.name}`)
  const hook = ctx.config.registration?.isConfusableName
  if (hook) {
    const existing = await ctx.store.findClientsByNameSkeleton(skeleton, LOOKALIKES_SHOWN)
    if (existing.length && (await hook(name, skeleton, existing)))
      throw invalid('client_name looks like the name of a client already registered')
  }
  return skeleton
}
