import { z } from 'zod'
import { secureUrl } from './details/common.ts'

/** Client-assertion and DPoP algorithms accepted (FAPI 2.0: no RS256, no HMAC, never `none`). */
export const ALLOWED_ALGS = ['PS256', 'ES256', 'EdDSA'] as const
/** One of the {@link ALLOWED_ALGS}. */
export type AllowedAlg = (typeof ALLOWED_ALGS)[number]

/** RSA moduli accepted (NIST SP 800-131A and FAPI 2.0 §5.4.1: at least 2048 bits). */
export const MIN_RSA_BITS = 2048
const MAX_RSA_BITS = 16_384

/** Bit length of a base64url big-endian unsigned integer (a JWK's `n`), or 0 if it is not one. */
function base64urlBits(value: unknown): number {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]+$/.test(value) || value.length > 4096) return 0
  const bin = atob(
    value
      .replace(/-/g, '+')
      .replace(/_/g, '/')
      .padEnd(Math.ceil(value.length / 4) * 4, '='),
  )
  let i = 0
  while (i < bin.length && bin.charCodeAt(i) === 0) i++
  if (i === bin.length) return 0
  return (bin.length - i - 1) * 8 + (32 - Math.clz32(bin.charCodeAt(i)))
}

const publicJwk = z
  .looseObject({
    kty: z.enum(['RSA', 'EC', 'OKP']),
    kid: z.string().max(256).optional(),
    alg: z.enum(ALLOWED_ALGS).optional(),
    use: z.literal('sig').optional(),
  })
  .refine((k) => !('d' in k) && !('p' in k) && !('k' in k), 'jwks must hold public keys only')
  .refine(
    (k) => k.kty !== 'RSA' || (base64urlBits(k.n) >= MIN_RSA_BITS && base64urlBits(k.n) <= MAX_RSA_BITS),
    `RSA keys must have a modulus of at least ${MIN_RSA_BITS} bits`,
  )

/**
 * Characters a `client_name` may not contain: controls (C0, C1, DEL), line and paragraph separators,
 * the bidirectional embeddings, overrides, isolates and marks (U+202A–202E, U+2066–2069, U+200E,
 * U+200F, U+061C) that make a name read differently from how it is stored ("Trojan Source",
 * CVE-2021-42574), and the invisible U+200B, U+2060 and U+FEFF.
 */
export const UNSAFE_NAME_CHARS =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to reject them
  /[\u0000-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]/

/** A public JWK Set: 1 to 10 public keys of the allowed types (no private members). */
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
    client_name: z
      .string()
      .refine((n) => !UNSAFE_NAME_CHARS.test(n), 'client_name must not contain control or bidi characters')
      .transform((n) => n.trim())
      .pipe(z.string().min(1).max(100)),
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
/** An RFC 7591 registration request (see {@link clientRegistrationRequest}). */
export type ClientRegistrationRequest = z.input<typeof clientRegistrationRequest>

/** A registered client as stored by the holder. Times are epoch milliseconds. */
export interface ClientRecord {
  /** The client id the server issued. */
  clientId: string
  /** The name the person sees on the consent page and dashboard. */
  clientName: string
  /** Registered redirect URIs, matched exactly. */
  redirectUris: string[]
  /** The client's public keys, when registered by value. */
  jwks?: {
    /** Public JWKs. */
    keys: Record<string, unknown>[]
  }
  /** Where the client's public keys are fetched, when registered by reference. */
  jwksUri?: string
  /** Where "grant ended" Security Event Tokens are pushed (see docs/events.md). */
  webhookUri?: string
  /** The recipient's home page. */
  clientUri?: string
  /** The logo URL given at registration (the holder serves its own copy). */
  logoUri?: string
  /**
   * The confusable skeleton of `clientName` (Unicode TR39 §4, computed by the server at
   * registration), so names that look alike can be found. Absent on clients registered before it.
   */
  nameSkeleton?: string
  /** Registration time, epoch milliseconds. */
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
/** An RFC 7591 registration response (see {@link clientRegistrationResponse}). */
export type ClientRegistrationResponse = z.infer<typeof clientRegistrationResponse>
