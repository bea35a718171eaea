import { ALLOWED_ALGS, type ResourceMetadata, type ServerMetadata } from '@consentry/core'
import type { Context } from '../context.ts'
import { json } from '../http/respond.ts'
import { auditLogMetadata } from './audit.ts'

/** RFC 8414 authorization server metadata. */
export function serverMetadata(ctx: Context): ServerMetadata {
  const u = ctx.urls
  return {
    issuer: u.issuer,
    authorization_endpoint: u.authorize,
    token_endpoint: u.token,
    pushed_authorization_request_endpoint: u.par,
    require_pushed_authorization_requests: true,
    ...(ctx.config.initialAccessTokens.length ? { registration_endpoint: u.register } : {}),
    revocation_endpoint: u.revoke,
    introspection_endpoint: u.introspect,
    jwks_uri: u.jwks,
    grant_management_endpoint: u.grants,
    // (consentry) The sandbox, only while it runs: a test holder, never a real one.
    ...(u.sandboxLink && u.sandboxRevoke
      ? { sandbox_link_endpoint: u.sandboxLink, sandbox_revoke_endpoint: u.sandboxRevoke }
      : {}),
    // The audit log: a transparency log anyone can check (RFC 9162 proofs, C2SP checkpoints).
    audit_log: auditLogMetadata(ctx),
    grant_management_actions_supported: ['query', 'revoke', 'merge', 'replace'],
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: [...ALLOWED_ALGS],
    revocation_endpoint_auth_methods_supported: ['private_key_jwt'],
    introspection_endpoint_auth_methods_supported: ['private_key_jwt'],
    dpop_signing_alg_values_supported: [...ALLOWED_ALGS],
    authorization_details_types_supported: ctx.config.detailTypes.map((t) => t.type),
    authorization_response_iss_parameter_supported: true,
    scopes_supported: ['grant_management_query', 'grant_management_revoke'],
    consentry_resource: u.resource,
    consentry_purposes: Object.fromEntries(Object.entries(ctx.config.purposes).map(([k, v]) => [k, v.label])),
  }
}

export const discovery = (ctx: Context) =>
  json(serverMetadata(ctx), 200, {
    'cache-control': 'public, max-age=300',
    'access-control-allow-origin': '*',
  })

/** RFC 9728 protected resource metadata for the resource API, with every data type's routes. */
export function resourceMetadata(ctx: Context): ResourceMetadata {
  return {
    resource: ctx.urls.resource,
    authorization_servers: [ctx.urls.issuer],
    bearer_methods_supported: ['header'],
    dpop_bound_access_tokens_required: true,
    dpop_signing_alg_values_supported: [...ALLOWED_ALGS],
    authorization_details_types_supported: ctx.config.detailTypes.map((t) => t.type),
    resource_name: `${ctx.config.theme.name} ${
      ctx.config.dataTypes.length === 1 ? ctx.config.dataTypes[0]!.words.title.toLowerCase() : 'data'
    }`,
    consentry_routes: ctx.config.routes.map((r) => ({
      type: r.dataType.detail.type,
      ...(r.contract.datatype ? { datatype: r.contract.datatype } : {}),
      method: r.contract.method,
      path: r.contract.path,
    })),
  }
}

export const protectedResourceMetadata = (ctx: Context) =>
  json(resourceMetadata(ctx), 200, {
    'cache-control': 'public, max-age=300',
    'access-control-allow-origin': '*',
  })
