import { SignJWT } from 'jose'
import type { Context } from '../context.ts'
import { pairwiseSubject } from '../tokens/pairwise.ts'
import { randomToken } from '../tokens/random.ts'
import type { EnforcedRead, HolderTools } from './define.ts'

/**
 * The holder's tools for one read (see {@link HolderTools}): `sign` makes a compact JWS (RFC 7515)
 * with the holder's signing key — the key its JWKS publishes and that signs tokens and receipts —
 * with `iss`, `sub` (the recipient's pairwise identifier, OpenID Connect Core §8.1), `aud` (its client
 * id), `iat` and `jti` set here, so a handler can neither forget nor forge them.
 *
 * @example
 * ```ts
 * const jws = await holderTools(ctx, read).sign({ grant_id: read.grantId, ...summary }, 'affordability-summary+jwt')
 * ```
 */
export function holderTools(ctx: Context, read: EnforcedRead): HolderTools {
  return {
    async sign(claims, typ) {
      if (!/^[a-z0-9][a-z0-9.+-]{0,63}$/i.test(typ)) throw new TypeError('typ must be a media subtype')
      return new SignJWT({ ...claims })
        .setProtectedHeader({ alg: ctx.signingKey.alg, kid: ctx.signingKey.kid, typ })
        .setIssuer(ctx.urls.issuer)
        .setSubject(await pairwiseSubject(ctx, read.clientId, read.subject))
        .setAudience(read.clientId)
        .setIssuedAt(Math.floor(ctx.now() / 1000))
        .setJti(randomToken(16))
        .sign(ctx.signingKey.privateKey)
    },
  }
}
