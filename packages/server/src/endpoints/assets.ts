import type { Context } from '../context.ts'
import { ProblemError } from '../errors.ts'
import { STYLESHEET, themeStylesheet } from '../pages/index.ts'

const css = (body: string) =>
  new Response(body, {
    headers: {
      'content-type': 'text/css; charset=utf-8',
      'cache-control': 'public, max-age=3600',
      'x-content-type-options': 'nosniff',
    },
  })

/** The path of a client's logo under the assets URL. */
export const logoPath = (clientId: string) => `/logos/${encodeURIComponent(clientId)}`

/**
 * A client's logo, as fetched once from its `logo_uri` and checked: served from the holder's origin
 * with the stored raster type, never sniffed, never a document, never scripted.
 */
async function logo(ctx: Context, clientId: string): Promise<Response> {
  const stored = clientId ? await ctx.store.getClientLogo(clientId) : null
  if (!stored) throw new ProblemError('not_found', 'no such asset')
  return new Response(stored.bytes as Uint8Array<ArrayBuffer>, {
    headers: {
      'content-type': stored.contentType,
      'cache-control': 'public, max-age=3600',
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'; sandbox",
      'cross-origin-resource-policy': 'same-origin',
      'content-disposition': 'inline',
    },
  })
}

/** The pages' stylesheet, the holder's theme colours (no inline styles anywhere) and client logos. */
export async function assets(ctx: Context, name: string): Promise<Response> {
  if (name === '/consentry.css') return css(STYLESHEET)
  if (name === '/theme.css') return css(themeStylesheet(ctx.config.theme))
  const logoId = /^\/logos\/([A-Za-z0-9_-]{1,128})$/.exec(name)?.[1]
  if (logoId) return logo(ctx, logoId)
  throw new ProblemError('not_found', 'no such asset')
}
