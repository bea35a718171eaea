import { type Context, publishedKeys } from '../context.ts'
import { json } from '../http/respond.ts'

/** The public keys that verify access tokens, events, receipts and audit checkpoints. */
export const jwks = (ctx: Context) =>
  json({ keys: publishedKeys(ctx) }, 200, {
    'cache-control': 'public, max-age=300',
    'access-control-allow-origin': '*',
  })
