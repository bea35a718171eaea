import { z } from 'zod'

/** RFC 8414 authorization server metadata, as a Consentry server publishes it. */
export const serverMetadataSchema = z.looseObject({
  issuer: z.string(),
  authorization_endpoint: z.string(),
  token_endpoint: z.string(),
  pushed_authorization_request_endpoint: z.string(),
  require_pushed_authorization_requests: z.literal(true),
  registration_endpoint: z.string().optional(),
  revocation_endpoint: z.string(),
  introspection_endpoint: z.string(),
  jwks_uri: z.string(),
  grant_management_endpoint: z.string().optional(),
  /**
   * (consentry) Only on a holder running its sandbox (`sandbox: true`, never in production): a
   * registered client gets a consented grant for a test person without any page.
   */
  sandbox_link_endpoint: z.string().optional(),
  /** (consentry) Sandbox only: end one of the client's grants as a test and fire its grant-ended event. */
  sandbox_revoke_endpoint: z.string().optional(),
  /** The holder's audit log (a transparency log): its origin, note verifier key and endpoints. */
  audit_log: z
    .object({
      origin: z.string(),
      verifier_key: z.string(),
      checkpoint_endpoint: z.string(),
      consistency_endpoint: z.string(),
      /** C2SP tlog-tiles prefix: hash tiles at `<prefix>/tile/<L>/<N>[.p/<W>]` (no entry bundles). */
      tiles_prefix: z.string().optional(),
    })
    .optional(),
  response_types_supported: z.array(z.string()),
  grant_types_supported: z.array(z.string()),
  code_challenge_methods_supported: z.array(z.string()),
  token_endpoint_auth_methods_supported: z.array(z.string()),
  token_endpoint_auth_signing_alg_values_supported: z.array(z.string()),
  dpop_signing_alg_values_supported: z.array(z.string()),
  authorization_details_types_supported: z.array(z.string()),
  authorization_response_iss_parameter_supported: z.literal(true),
})
/** A Consentry server's RFC 8414 metadata (see {@link serverMetadataSchema}). */
export type ServerMetadata = z.infer<typeof serverMetadataSchema>

/** RFC 9728 protected resource metadata. */
export const resourceMetadataSchema = z.looseObject({
  resource: z.string(),
  authorization_servers: z.array(z.string()),
  dpop_bound_access_tokens_required: z.literal(true),
  dpop_signing_alg_values_supported: z.array(z.string()),
  authorization_details_types_supported: z.array(z.string()),
  /**
   * Every data type's routes, paths relative to `resource`:
   * `{ "type": "marketplace_sales", "datatype": "orders", "method": "GET", "path": "/stores/{store_id}/orders" }`.
   */
  consentry_routes: z
    .array(
      z.object({
        type: z.string(),
        datatype: z.string().optional(),
        method: z.string(),
        path: z.string(),
      }),
    )
    .optional(),
})
/** RFC 9728 protected resource metadata (see {@link resourceMetadataSchema}). */
export type ResourceMetadata = z.infer<typeof resourceMetadataSchema>
