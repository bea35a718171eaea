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

/** The pages' stylesheet and the holder's theme colours (no inline styles anywhere). */
export function assets(ctx: Context, name: string): Response {
  if (name === '/consentry.css') return css(STYLESHEET)
  if (name === '/theme.css') return css(themeStylesheet(ctx.config.theme))
  throw new ProblemError('not_found', 'no such asset')
}
