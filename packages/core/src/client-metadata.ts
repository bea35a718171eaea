import { z } from 'zod'
import { secureUrl } from './details/common.ts'

/** Client-assertion and DPoP algorithms accepted (FAPI 2.0: no RS256, no HMAC, never `none`). */
export const ALLOWED_ALGS = ['PS256', 'ES256', 'EdDSA'] as const
export type AllowedAlg = (typeof ALLOWED_ALGS)[number]

const publicJwk = z
  .looseObject({
    kty: z.enum(['RSA', 'EC', 'OKP']),
    kid: z.string().max(256).optional(),
    alg: z.enum(ALLOWED_ALGS).optional(),
    use: z.literal('sig').optional(),
  })
  .refine((k) => !('d' in k) && !('p' in k) && !('k' in k), 'jwks must hold public keys only')

export const jwksSchema = z.object({ keys: z.array(publicJwk).min(1).max(10) })

/**
 * RFC 7591 registration request, as Consentry accepts it.
 *
 * @example
 * ```ts
 * clientRegistrationRequest.parse({
 *   client_name: 'Beacon Lending',
 *   redirect_uris: ['https://lender.example/callback'],
 *   jwks: { keys: [publicJwk] },
 *   webhook_uri: 'https://lender.example/consentry/events',
 * })
 * ```
 */
export const clientRegistrationRequest = z
  .looseObject({
    client_name: z.string().trim().min(1).max(100),
    redirect_uris: z.array(secureUrl).min(1).max(10),
    jwks: jwksSchema.optional(),
    jwks_uri: secureUrl.optional(),
    token_endpoint_auth_method: z.literal('private_key_jwt').default('private_key_jwt'),
    token_endpoint_auth_signing_alg: z.enum(ALLOWED_ALGS).optional(),
    grant_types: z
      .array(z.enum(['authorization_code', 'refresh_token']))
      .default(['authorization_code', 'refresh_token']),
    response_types: z.array(z.literal('code')).default(['code']),
    dpop_bound_access_tokens: z.literal(true).default(true),
    /** Where signed Security Event Tokens (RFC 8417) about this client's grants are pushed. */
    webhook_uri: secureUrl.optional(),
    client_uri: secureUrl.optional(),
    logo_uri: secureUrl.optional(),
  })
  .refine((m) => Boolean(m.jwks) !== Boolean(m.jwks_uri), {
    message: 'exactly one of jwks or jwks_uri is required',
    path: ['jwks'],
  })
export type ClientRegistrationRequest = z.input<typeof clientRegistrationRequest>

/** A registered client as stored by the holder. Times are epoch milliseconds. */
export interface ClientRecord {
  clientId: string
  clientName: string
  redirectUris: string[]
  jwks?: { keys: Record<string, unknown>[] }
  jwksUri?: string
  webhookUri?: string
  clientUri?: string
  logoUri?: string
  createdAt: number
}

/** RFC 7591 registration response. */
export const clientRegistrationResponse = z.looseObject({
  client_id: z.string(),
  client_id_issued_at: z.number(),
  client_name: z.string(),
  redirect_uris: z.array(z.string()),
  token_endpoint_auth_method: z.literal('private_key_jwt'),
  grant_types: z.array(z.string()),
  response_types: z.array(z.string()),
  dpop_bound_access_tokens: z.literal(true),
  jwks: jwksSchema.optional(),
  jwks_uri: z.string().optional(),
  webhook_uri: z.string().optional(),
})
export type ClientRegistrationResponse = z.infer<typeof clientRegistrationResponse>
