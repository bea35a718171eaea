/**
 * fast-check arbitraries for requests to a Consentry holder: every route, method, header and body
 * shape the server reads, filled with malformed forms, JSON, JWTs, DPoP proofs, percent-escapes and
 * encodings — and, some of the time, with *valid* credentials (a registered client's signed assertion,
 * a live access token with a fresh DPoP proof) so the generator gets past authentication and fuzzes
 * the checks behind it. A request is generated as a plain description (`FuzzRequest`) and only turned
 * into bytes by the sender, so a failing case shrinks to something readable.
 */

import fc from 'fast-check'
import { base64url } from 'jose'

/** What the sender must fill in at send time (signatures need fresh `jti`s and the live nonce). */
export type Signed =
  | { kind: 'none' }
  /** A client assertion for the registered client, signed, with these claim overrides. */
  | { kind: 'assertion'; claims: Record<string, unknown> }

export interface FuzzRequest {
  method: string
  path: string
  query: Array<[string, string]>
  headers: Record<string, string>
  /** A fresh DPoP proof for this request's method and URL, bound to the live access token. */
  proof: 'none' | 'valid' | 'fuzzed'
  proofClaims: Record<string, unknown>
  body?:
    | { type: 'form'; fields: Array<[string, string]>; assertion: Signed }
    | { type: 'raw'; bytes: Uint8Array }
}

/** Live values the generator may weave in: a real client id, grant id, account id, tokens. */
export interface Known {
  clientId: string
  grantId: string
  accountId: string
  accessToken: string
  refreshToken: string
  redirectUri: string
  resourcePath: string
  issuer: string
}

const OAUTH_PARAMS = [
  'grant_type',
  'code',
  'redirect_uri',
  'code_verifier',
  'client_id',
  'client_assertion_type',
  'client_assertion',
  'refresh_token',
  'scope',
  'token',
  'token_type_hint',
  'response_type',
  'state',
  'code_challenge',
  'code_challenge_method',
  'authorization_details',
  'dpop_jkt',
  'request_uri',
  'username',
  'password',
  'csrf',
  'decision',
  'accounts',
  'fields',
  'limit',
  'from',
  'to',
  'cursor',
  'return_to',
  'first',
  'second',
  'after',
]

const b64json = (v: unknown) => base64url.encode(JSON.stringify(v) ?? 'null')

/** Any JSON-ish claim value, biased to the types a verifier trips over. */
const claimValue = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
  fc.constantFrom(0, -1, 2 ** 53, 1e308, '1', 'now', ''),
)

const claimName = fc.constantFrom(
  'iss',
  'sub',
  'aud',
  'exp',
  'iat',
  'nbf',
  'jti',
  'htm',
  'htu',
  'ath',
  'nonce',
  'cnf',
  'client_id',
  'grant_id',
  'scope',
  'authorization_details',
)
const claims = fc.dictionary(claimName, claimValue, { maxKeys: 6 })

/** A JWT-shaped string whose parts are random JSON (or not JSON at all) and a random signature. */
const jwtish = fc
  .tuple(
    fc.oneof(
      fc.record(
        {
          alg: fc.constantFrom('ES256', 'PS256', 'EdDSA', 'none', 'HS256', 'RS256', 'ES384', '', 7),
          typ: fc.constantFrom('dpop+jwt', 'JWT', 'at+jwt', 'secevent+jwt', 1),
          kid: fc.string({ maxLength: 20 }),
          jwk: fc.oneof(
            fc.dictionary(fc.constantFrom('kty', 'crv', 'x', 'y', 'n', 'e', 'd', 'k'), claimValue, {
              maxKeys: 5,
            }),
            fc.constant({ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }),
            fc.constant({ kty: 'RSA', n: 'AQAB', e: 'AQAB' }),
            fc.constant({ kty: 'OKP', crv: 'Ed25519', x: '' }),
            fc.constant({ kty: 'oct', k: 'AAAA' }),
          ),
          crit: fc.array(fc.string({ maxLength: 5 }), { maxLength: 2 }),
          b64: fc.boolean(),
        },
        { requiredKeys: [] },
      ),
      claimValue,
    ),
    fc.oneof(claims, claimValue),
    fc.uint8Array({ maxLength: 80 }),
  )
  .map(([h, p, s]) => `${b64json(h)}.${b64json(p)}.${base64url.encode(s)}`)

const junkJwt = fc.oneof(
  jwtish,
  fc.constantFrom('', '.', '..', 'a.b.c', 'a.b', 'a.b.c.d.e', '%00.%00.%00', 'eyJ.eyJ.'),
  fc.string({ maxLength: 200 }),
)

/** A string the server might find hard: encodings, NULs, bidi, huge, numbers that are not numbers. */
function values(k: Known) {
  return fc.oneof(
    { weight: 3, arbitrary: fc.string({ maxLength: 60 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
    fc.string({ unit: 'grapheme', maxLength: 30 }),
    fc.constantFrom(
      '',
      ' ',
      '\u0000',
      '%00',
      '%ff',
      '%',
      '\uFFFD',
      '\uD800',
      '\u202E',
      'null',
      'undefined',
      '[]',
      '{}',
      '-1',
      '0',
      '1e309',
      'NaN',
      'Infinity',
      '9'.repeat(40),
      '2024-02-30',
      '0000-00-00',
      '9999-12-31',
      'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      'urn:ietf:params:oauth:request_uri:x',
      'authorization_code',
      'refresh_token',
      'client_credentials',
      'grant_management_query grant_management_revoke',
      'S256',
      'plain',
      'code',
      'allow',
      'deny',
      'alice',
      'access_token',
      '../../etc/passwd',
      'javascript:alert(1)',
      '<script>alert(1)</script>',
    ),
    fc.constantFrom(k.clientId, k.grantId, k.accountId, k.redirectUri, k.refreshToken, k.issuer),
    fc.string({ minLength: 1000, maxLength: 3000 }),
    junkJwt,
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    detailsJson(),
  )
}

/** `authorization_details` that look almost right. */
function detailsJson() {
  return fc
    .array(
      fc.record(
        {
          type: fc.constantFrom('transaction_history', 'payment_initiation', '', 1),
          datatypes: fc.oneof(fc.subarray(['transactions', 'balances', 'accounts', 'x']), claimValue),
          accounts: fc.oneof(fc.array(fc.string({ maxLength: 12 }), { maxLength: 3 }), claimValue),
          fields: fc.oneof(
            fc.subarray(['amount', 'currency', 'booked_at', 'description', 'nope']),
            claimValue,
          ),
          period: fc.oneof(
            fc.record({ from: fc.string({ maxLength: 12 }), to: fc.string({ maxLength: 12 }) }),
            fc.record({ months: claimValue }),
            claimValue,
          ),
          purpose: fc.constantFrom('credit_assessment', 'x', ''),
          max_reads_per_day: claimValue,
          expires_in: claimValue,
        },
        { requiredKeys: [] },
      ),
      { maxLength: 3 },
    )
    .map((v) => JSON.stringify(v))
}

/** A path under the issuer: every route, with random or hostile parameters. */
function paths(k: Known) {
  const segment = fc.oneof(
    fc.constantFrom(
      k.grantId,
      k.clientId,
      k.accountId,
      '%00',
      '%ff',
      '%',
      '%E0%A4%A',
      '..',
      '%2e%2e',
      '%2F',
      '',
      'a;b',
      '\\',
      'x'.repeat(300),
      'revoke',
      'receipt',
      'access-log',
    ),
    fc.string({ maxLength: 20 }).map(encodeURIComponent),
    fc.webSegment(),
  )
  const r = k.resourcePath
  return fc.oneof(
    fc.constantFrom(
      '/',
      '/.well-known/oauth-authorization-server',
      `/.well-known/oauth-protected-resource${r}`,
      '/.well-known/openid-configuration',
      '/jwks',
      '/register',
      '/par',
      '/authorize',
      '/token',
      '/revoke',
      '/introspect',
      '/login',
      '/logout',
      '/consents',
      '/favicon.ico',
      '/assets/style.css',
      `${r}/accounts`,
      `${r}/accounts/${k.accountId}/transactions`,
      `${r}`,
      '/audit/checkpoint',
      '/audit/consistency',
      '//',
      '/%2e%2e/%2e%2e',
    ),
    segment.map((s) => `/authorize/${s}`),
    segment.map((s) => `/grants/${s}`),
    segment.map((s) => `/assets/${s}`),
    fc
      .tuple(segment, fc.constantFrom('', '/revoke', '/receipt', '/access-log', '/x'))
      .map(([s, t]) => `/consents/${s}${t}`),
    fc
      .tuple(segment, fc.constantFrom('/transactions', '', '/balances', '/transactions/x'))
      .map(([s, t]) => `${r}/accounts/${s}${t}`),
    fc.array(segment, { maxLength: 4 }).map((s) => `/${s.join('/')}`),
    fc.webPath(),
  )
}

/** Header values node:http will put on the wire: latin-1 without CR/LF/NUL. */
const headerSafe = (s: string) =>
  Array.from(s, (c) => {
    const code = c.charCodeAt(0)
    return code === 9 || (code >= 0x20 && code <= 0x7e) || (code >= 0x80 && code <= 0xff) ? c : '?'
  }).join('')

function headers(k: Known) {
  const v = values(k).map(headerSafe)
  return fc.record(
    {
      authorization: fc.oneof(
        fc.constant(`DPoP ${k.accessToken}`),
        fc.constant(`Bearer ${k.accessToken}`),
        fc.constant('Bearer demo-initial-access-token'),
        junkJwt.map((t) => `DPoP ${t}`),
        junkJwt.map((t) => `Bearer ${t}`),
        v,
      ),
      dpop: fc.oneof(junkJwt.map(headerSafe), v, fc.constant('a,b')),
      'content-type': fc.constantFrom(
        'application/x-www-form-urlencoded',
        'application/x-www-form-urlencoded; charset=ISO-8859-1',
        'application/json',
        'application/json; charset=utf-16',
        'text/plain',
        'multipart/form-data; boundary=x',
        'APPLICATION/JSON',
        '',
        ';;;',
      ),
      cookie: fc.oneof(
        v.map((x) => `consentry-session=${x}`),
        v.map((x) => `__Host-consentry-session=${x}; consentry-interaction=${x}`),
        v.map((x) => `consentry-login-csrf=${x}`),
        v,
      ),
      origin: fc.oneof(fc.constant(k.issuer), fc.constant('https://evil.example'), fc.constant('null'), v),
      'sec-fetch-site': fc.constantFrom('same-origin', 'cross-site', 'none', 'same-site', 'x'),
      'x-fapi-customer-ip-address': fc.oneof(
        fc.constantFrom('203.0.113.9', '::1', '2001:db8::1', '999.1.1.1', '', '1.2.3.4, 5.6.7.8'),
        v,
      ),
      'x-forwarded-for': fc.oneof(fc.constantFrom('203.0.113.9', 'unknown', ''), v),
      accept: fc.constantFrom('application/json', 'text/html', '*/*', 'application/jwt', ''),
      'accept-encoding': fc.constantFrom('gzip', 'br', 'identity;q=0', ''),
      'if-none-match': v,
      range: fc.constantFrom('bytes=0-1', 'bytes=-1', 'x'),
    },
    { requiredKeys: [] },
  )
}

function body(k: Known) {
  const fields = fc.array(
    fc.tuple(
      fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...OAUTH_PARAMS) }, fc.string({ maxLength: 12 })),
      values(k),
    ),
    {
      maxLength: 10,
    },
  )
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        type: fc.constant('form' as const),
        fields,
        assertion: fc.oneof(
          fc.constant<Signed>({ kind: 'none' }),
          claims.map<Signed>((c) => ({ kind: 'assertion', claims: c })),
          fc.constant<Signed>({ kind: 'assertion', claims: {} }),
        ),
      }),
    },
    {
      weight: 2,
      arbitrary: fc
        .oneof(
          registration(k).map((v) => JSON.stringify(v)),
          fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.constantFrom(
            '{',
            '{"a":',
            '[]',
            'null',
            '"x"',
            '{"__proto__":{"x":1}}',
            '{"constructor":{"prototype":{}}}',
          ),
        )
        .map((s) => ({ type: 'raw' as const, bytes: new TextEncoder().encode(s) })),
    },
    {
      weight: 1,
      arbitrary: fc
        .oneof(
          { weight: 8, arbitrary: fc.uint8Array({ maxLength: 300 }) },
          fc.constant(new Uint8Array([0xff, 0xfe, 0x00, 0xc3, 0x28])),
          // Around the 64 KiB body limit.
          fc
            .integer({ min: 65_000, max: 70_000 })
            .map((n) => new Uint8Array(n).fill(0x61)),
        )
        .map((bytes) => ({ type: 'raw' as const, bytes })),
    },
  )
}

/** A registration request that is almost valid: the fields, with hostile values. */
function registration(k: Known) {
  const uri = fc.oneof(
    fc.constantFrom(
      'https://lender.example/cb',
      'http://127.0.0.1:9/cb',
      'http://localhost/cb',
      'https://10.0.0.1/x',
      'https://169.254.169.254/latest',
      'https://[::1]/x',
      'https://user:pw@lender.example/cb',
      'https://lender.example/cb#',
      'https://lender.example/c\u0000b',
      'file:///etc/passwd',
      'javascript:alert(1)',
      '',
    ),
    fc.webUrl(),
    values(k),
  )
  return fc.record(
    {
      client_name: fc.oneof(
        values(k),
        fc.constantFrom('Harbor Pay', 'Harb0r Pay', 'Beacon\u202ELending', 'Ok Lender'),
      ),
      redirect_uris: fc.oneof(fc.array(uri, { maxLength: 3 }), uri),
      jwks: fc.oneof(
        fc.record({
          keys: fc.array(
            fc.dictionary(
              fc.constantFrom('kty', 'crv', 'x', 'y', 'n', 'e', 'alg', 'kid', 'use', 'd'),
              claimValue,
            ),
            { maxLength: 3 },
          ),
        }),
        claimValue,
      ),
      jwks_uri: uri,
      webhook_uri: uri,
      logo_uri: uri,
      client_uri: uri,
      token_endpoint_auth_method: fc.constantFrom('private_key_jwt', 'none', 'client_secret_basic'),
      grant_types: fc.array(fc.constantFrom('authorization_code', 'refresh_token', 'implicit', 'password'), {
        maxLength: 3,
      }),
    },
    { requiredKeys: [] },
  )
}

/** One generated request. */
export function fuzzRequest(k: Known): fc.Arbitrary<FuzzRequest> {
  return fc.record({
    method: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('GET', 'POST') },
      // (CONNECT is left out: node:http hands it to the server's 'connect' event, never to the handler.)
      fc.constantFrom(
        'PUT',
        'DELETE',
        'PATCH',
        'HEAD',
        'OPTIONS',
        'TRACE',
        'PROPFIND',
        'get',
        'M-SEARCH',
        'X',
      ),
    ),
    path: paths(k),
    query: fc.array(
      fc.tuple(fc.oneof(fc.constantFrom(...OAUTH_PARAMS), fc.string({ maxLength: 10 })), values(k)),
      {
        maxLength: 5,
      },
    ),
    headers: headers(k),
    proof: fc.constantFrom<FuzzRequest['proof']>('none', 'none', 'none', 'valid', 'valid', 'fuzzed'),
    proofClaims: claims,
    body: fc.option(body(k), { nil: undefined, freq: 3 }),
  })
}
