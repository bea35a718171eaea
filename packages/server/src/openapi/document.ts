import {
  clientRegistrationRequest,
  clientRegistrationResponse,
  grantResponseSchema,
  introspectionResponseSchema,
  oauthErrorSchema,
  parResponseSchema,
  problemSchema,
  tokenResponseSchema,
} from '@consentry/core'
import { z } from 'zod'
import type { Context } from '../context.ts'

type Json = Record<string, unknown>

/** A zod schema as JSON Schema 2020-12 (the dialect of OpenAPI 3.1), generated — never hand-written. */
function schema(s: z.ZodType, io: 'input' | 'output' = 'output'): Json {
  const out = z.toJSONSchema(s, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json
  delete out.$schema
  return out
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })
const jsonBody = (name: string, description: string) => ({
  description,
  content: { 'application/json': { schema: ref(name) } },
})
const formBody = (properties: Record<string, Json>, required: string[]) => ({
  required: true,
  content: { 'application/x-www-form-urlencoded': { schema: { type: 'object', properties, required } } },
})
const str = (description: string) => ({ type: 'string', description })
const oauthErrors = {
  '400': jsonBody('OAuthError', 'OAuth 2 error (RFC 6749 §5.2)'),
  '401': jsonBody('OAuthError', 'client authentication failed'),
}
const problems = (codes: string[]) =>
  Object.fromEntries(
    codes.map((c) => [
      c,
      {
        description: PROBLEM_TEXT[c] ?? 'problem',
        content: { 'application/problem+json': { schema: ref('Problem') } },
      },
    ]),
  )
const PROBLEM_TEXT: Record<string, string> = {
  '400': 'invalid_parameter, invalid_cursor',
  '401': 'invalid_token, invalid_dpop_proof, use_dpop_nonce (with WWW-Authenticate: DPoP)',
  '403': 'outside_consent: not covered by the grant as it stands now',
  '404': 'not_found',
  '429': 'read_limit_exceeded (with Retry-After)',
}

/** The client-authentication parameters of every back-channel form (RFC 7523, `private_key_jwt`). */
const CLIENT_AUTH = {
  client_id: str('the client id'),
  client_assertion_type: { type: 'string', const: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' },
  client_assertion: str('a JWT signed with one of the client’s registered keys (aud = the issuer)'),
}

/**
 * The OpenAPI 3.1 description of this holder: every configured data type's routes under the
 * resource, and the JSON bodies of registration, PAR, token, introspection and grant management —
 * all generated from the zod schemas the server itself validates with. Served (public, no token) at
 * `{resource}/openapi.json`.
 */
export function openApiDocument(ctx: Context): Json {
  const resourcePath = new URL(ctx.urls.resource).pathname.replace(/\/$/, '')
  const issuerPath = new URL(ctx.urls.issuer).pathname.replace(/\/$/, '')
  const rel = resourcePath.slice(issuerPath.length)
  const schemas: Record<string, Json> = {
    ClientRegistrationRequest: schema(clientRegistrationRequest, 'input'),
    ClientRegistrationResponse: schema(clientRegistrationResponse),
    PushedAuthorizationResponse: schema(parResponseSchema),
    TokenResponse: schema(tokenResponseSchema),
    IntrospectionResponse: schema(introspectionResponseSchema),
    GrantResponse: schema(grantResponseSchema),
    OAuthError: schema(oauthErrorSchema),
    Problem: schema(problemSchema),
  }
  const paths: Record<string, Json> = {}

  for (const dataType of ctx.config.dataTypes) {
    const type = dataType.detail.type
    schemas[`${pascal(type)}Detail`] = schema(dataType.detail.schema, 'input')
    for (const route of ctx.config.routes.filter((r) => r.dataType === dataType)) {
      const recordName = `${pascal(type)}${pascal(route.name)}`
      schemas[recordName] = schema(route.contract.record)
      const list = route.contract.kind === 'list'
      const body = list
        ? {
            type: 'object',
            required: ['data'],
            properties: {
              data: { type: 'array', items: ref(recordName) },
              period: {
                type: 'object',
                properties: {
                  from: { type: 'string', format: 'date' },
                  to: { type: 'string', format: 'date' },
                },
              },
              next_cursor: { type: 'string' },
            },
          }
        : ref(recordName)
      const params = [
        ...route.params.map((p) => ({ name: p, in: 'path', required: true, schema: { type: 'string' } })),
        ...(list
          ? [
              { name: 'from', in: 'query', schema: { type: 'string', format: 'date' } },
              { name: 'to', in: 'query', schema: { type: 'string', format: 'date' } },
              {
                name: 'limit',
                in: 'query',
                schema: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
              },
              { name: 'cursor', in: 'query', schema: { type: 'string' } },
            ]
          : []),
        {
          name: 'x-fapi-customer-ip-address',
          in: 'header',
          description: 'The person’s IP address when they are present: the read is attended.',
          schema: { type: 'string' },
        },
      ]
      paths[`${rel}${route.contract.path}`] = {
        get: {
          operationId: `${type}.${route.name}`,
          summary: `${dataType.words.title}: ${route.contract.datatype ?? route.name}`,
          tags: [type],
          security: [{ DPoP: [] }],
          parameters: params,
          responses: {
            '200': { description: 'OK', content: { 'application/json': { schema: body } } },
            ...problems(list ? ['400', '401', '403', '404', '429'] : ['401', '403', '404', '429']),
          },
        },
      }
    }
  }

  paths['/register'] = {
    post: {
      operationId: 'register',
      summary: 'Dynamic client registration (RFC 7591)',
      security: [{ InitialAccessToken: [] }],
      requestBody: {
        required: true,
        content: { 'application/json': { schema: ref('ClientRegistrationRequest') } },
      },
      responses: { '201': jsonBody('ClientRegistrationResponse', 'registered'), ...oauthErrors },
    },
  }
  paths['/par'] = {
    post: {
      operationId: 'par',
      summary: 'Pushed authorization request (RFC 9126)',
      requestBody: formBody(
        {
          ...CLIENT_AUTH,
          response_type: { type: 'string', const: 'code' },
          redirect_uri: str('a registered redirect URI'),
          code_challenge: str('PKCE S256 challenge (RFC 7636)'),
          code_challenge_method: { type: 'string', const: 'S256' },
          state: str('opaque'),
          dpop_jkt: str('thumbprint of the DPoP key (RFC 9449 §10)'),
          authorization_details: str('JSON array of details (RFC 9396), one of the types in components'),
          grant_id: str(
            'Grant Management: the active grant of this client to change (with grant_management_action)',
          ),
          grant_management_action: {
            type: 'string',
            enum: ['merge', 'replace'],
            description:
              'Grant Management: merge the details into the grant, or replace them (docs/consent-lifecycle.md)',
          },
        },
        [
          'client_id',
          'client_assertion',
          'client_assertion_type',
          'response_type',
          'redirect_uri',
          'code_challenge',
          'authorization_details',
        ],
      ),
      responses: { '201': jsonBody('PushedAuthorizationResponse', 'pushed'), ...oauthErrors },
    },
  }
  paths['/token'] = {
    post: {
      operationId: 'token',
      summary: 'Token endpoint: authorization_code, refresh_token, client_credentials (DPoP-bound)',
      parameters: [{ name: 'DPoP', in: 'header', required: true, schema: { type: 'string' } }],
      requestBody: formBody(
        {
          ...CLIENT_AUTH,
          grant_type: { type: 'string', enum: ['authorization_code', 'refresh_token', 'client_credentials'] },
          code: str('the authorization code'),
          code_verifier: str('PKCE verifier'),
          redirect_uri: str('as pushed'),
          refresh_token: str('for grant_type=refresh_token'),
          scope: str('for client_credentials: grant_management_query, grant_management_revoke'),
        },
        ['grant_type', 'client_id', 'client_assertion', 'client_assertion_type'],
      ),
      responses: { '200': jsonBody('TokenResponse', 'tokens'), ...oauthErrors },
    },
  }
  paths['/introspect'] = {
    post: {
      operationId: 'introspect',
      summary: 'Token introspection (RFC 7662), for the client that owns the token',
      requestBody: formBody({ ...CLIENT_AUTH, token: str('an access or refresh token') }, ['token']),
      responses: { '200': jsonBody('IntrospectionResponse', 'introspection'), ...oauthErrors },
    },
  }
  paths['/grants/{grant_id}'] = {
    parameters: [{ name: 'grant_id', in: 'path', required: true, schema: { type: 'string' } }],
    get: {
      operationId: 'grants.get',
      summary: 'Grant management: query (scope grant_management_query)',
      security: [{ DPoP: [] }],
      responses: { '200': jsonBody('GrantResponse', 'the grant'), ...problems(['401', '404']) },
    },
    delete: {
      operationId: 'grants.revoke',
      summary: 'Grant management: revoke (scope grant_management_revoke)',
      security: [{ DPoP: [] }],
      responses: { '204': { description: 'revoked' }, ...problems(['401', '404']) },
    },
  }
  if (ctx.config.sandbox) {
    paths['/sandbox/link'] = {
      post: {
        operationId: 'sandbox.link',
        summary:
          'Sandbox only: a consented grant for a test person without any page; answers like the code exchange',
        tags: ['sandbox'],
        parameters: [{ name: 'DPoP', in: 'header', required: true, schema: { type: 'string' } }],
        requestBody: formBody(
          {
            ...CLIENT_AUTH,
            subject: str('a person of this holder (e.g. alice)'),
            authorization_details: str(
              'JSON array of details (RFC 9396); scope members (accounts, stores) left out mean all the person holds',
            ),
          },
          ['client_id', 'client_assertion', 'client_assertion_type', 'subject', 'authorization_details'],
        ),
        responses: { '200': jsonBody('TokenResponse', 'tokens'), ...oauthErrors },
      },
    }
    paths['/sandbox/revoke'] = {
      post: {
        operationId: 'sandbox.revoke',
        summary:
          'Sandbox only: revoke one of the client’s grants (reason sandbox_revoked) and send its grant-ended event',
        tags: ['sandbox'],
        requestBody: formBody({ ...CLIENT_AUTH, grant_id: str('one of this client’s active grants') }, [
          'client_id',
          'client_assertion',
          'client_assertion_type',
          'grant_id',
        ]),
        responses: {
          '200': {
            description: 'the ended grant, and whether an event was queued for the client’s webhook',
            content: {
              'application/json': {
                schema: {
                  allOf: [
                    ref('GrantResponse'),
                    { type: 'object', properties: { event_queued: { type: 'boolean' } } },
                  ],
                },
              },
            },
          },
          ...oauthErrors,
        },
      },
    }
  }

  return {
    openapi: '3.1.0',
    info: {
      title: `${ctx.config.theme.name} — Consentry API`,
      version: '1',
      description:
        'Resource routes of every data type this holder serves, and the JSON bodies of its OAuth endpoints. Generated from the server’s own schemas.',
    },
    servers: [{ url: ctx.urls.issuer }],
    paths,
    components: {
      schemas,
      securitySchemes: {
        DPoP: {
          type: 'http',
          scheme: 'DPoP',
          description:
            'A DPoP-bound access token (RFC 9449) with a DPoP proof header carrying ath and the server nonce.',
        },
        InitialAccessToken: { type: 'http', scheme: 'bearer', description: 'RFC 7591 initial access token' },
      },
    },
  }
}

const pascal = (s: string) =>
  s
    .split(/[^a-zA-Z0-9]+/)
    .filter(Boolean)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('')
