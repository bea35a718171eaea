import type { Context } from '../context.ts'
import { renderMessagePage } from '../pages/index.ts'
import { html } from './respond.ts'

/** A plain page with a title and one message, in the holder's theme (errors shown to people). */
export function messageResponse(ctx: Context, title: string, message: string, status = 400): Response {
  return html(
    renderMessagePage({ theme: ctx.config.theme, assetsUrl: ctx.urls.assets, title, message, status }),
    status,
  )
}

/** A form whose CSRF token did not check out (expired, another session's, or forged): 403. */
export const formExpired = (ctx: Context) =>
  messageResponse(ctx, 'Please try again', 'This form expired or was not sent from this page.', 403)
