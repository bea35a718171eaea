import type { Context } from '../context.ts'
import { html } from '../http/respond.ts'
import { renderMessagePage } from '../pages/index.ts'

/**
 * check_same_origin: a state-changing request to the pages (sign-in, sign-out, consent decision,
 * revocation) must come from the issuer's own pages. Browsers say where a request comes from:
 *
 * - `Sec-Fetch-Site` (Fetch Metadata): anything but `same-origin` (or `none`, a request the person
 *   started) — i.e. `same-site` or `cross-site` — is refused;
 * - `Origin` (RFC 6454 §7, Fetch §3.1): present and not the issuer's origin is refused. `Origin: null`
 *   proves nothing either way (browsers send it for same-origin form posts from pages with
 *   `Referrer-Policy: no-referrer`, which Consentry's pages use), so it falls back on the other header
 *   and the token.
 *
 * Refused requests get a 403 page before any handler reads them. A request with neither header (a
 * non-browser client) passes here and must still carry the form's CSRF token, which each form's
 * handler checks. The router runs this for every non-GET request of every page route.
 */
export function checkSameOrigin(ctx: Context, request: Request): Response | null {
  const site = request.headers.get('sec-fetch-site')?.trim().toLowerCase()
  const origin = request.headers.get('origin')?.trim()
  const crossSite = site !== undefined && site !== 'same-origin' && site !== 'none'
  const foreignOrigin =
    origin !== undefined && origin !== 'null' && origin !== new URL(ctx.urls.issuer).origin
  if (!crossSite && !foreignOrigin) return null
  return html(
    renderMessagePage({
      theme: ctx.config.theme,
      assetsUrl: ctx.urls.assets,
      title: 'Please try again',
      message: 'This form was sent from another site, so it was not accepted.',
      status: 403,
    }),
    403,
  )
}
