import { z } from 'zod'

const detail = z.looseObject({ type: z.string() })

/** RFC 6749 §5.1 token response as Consentry answers it (DPoP-bound, RFC 9449; RAR details, RFC 9396). */
export const tokenResponseSchema = z.looseObject({
  access_token: z.string(),
  token_type: z.literal('DPoP'),
  expires_in: z.number().int(),
  refresh_token: z.string().optional(),
  scope: z.string().optional(),
  /** The grant the tokens belong to (Grant Management for OAuth 2.0). */
  grant_id: z.string().optional(),
  authorization_details: z.array(detail).optional(),
  /** (consentry) The signed consent receipt (`typ: consent-receipt+jwt`). */
  consent_receipt: z.string().optional(),
})
export type TokenResponse = z.infer<typeof tokenResponseSchema>

/** RFC 9126 pushed authorization response. */
export const parResponseSchema = z.object({ request_uri: z.string(), expires_in: z.number().int() })

/** RFC 7662 introspection response: `{ active: false }` or the token's claims. */
export const introspectionResponseSchema = z.looseObject({
  active: z.boolean(),
  token_type: z.string().optional(),
  client_id: z.string().optional(),
  sub: z.string().optional(),
  exp: z.number().int().optional(),
  grant_id: z.string().optional(),
  cnf: z.object({ jkt: z.string() }).optional(),
  authorization_details: z.array(detail).optional(),
})
export type IntrospectionResponse = z.infer<typeof introspectionResponseSchema>

/** An OAuth 2 error response (RFC 6749 §5.2). */
export const oauthErrorSchema = z.looseObject({
  error: z.string(),
  error_description: z.string().optional(),
})

/** An RFC 9457 problem document, with Consentry's stable `code`. */
export const problemSchema = z.looseObject({
  type: z.string().optional(),
  title: z.string().optional(),
  status: z.number().int().optional(),
  detail: z.string().optional(),
  code: z.string(),
})
