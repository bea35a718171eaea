import type { KeyObject } from 'node:crypto'
import type { AuditEventInput } from '@consentry/core'
import { base64url, type JWK } from 'jose'
import { type AuditLogKey, auditOrigin, loadAuditLogKey } from './audit/log-key.ts'
import type { AuditTrail } from './audit/trail.ts'
import type { ResolvedConfig } from './config.ts'
import { ConfigError } from './errors.ts'
import { KEY_ENCRYPTION_KEY_ENV, protectSecrets } from './key-encryption.ts'
import { loadSigningKey, loadVerificationKeys, type SigningKey, type VerificationKey } from './keys.ts'
import { createRemoteJwks, type RemoteJwks } from './net/remote-jwks.ts'
import { guardStore } from './store/guard.ts'
import type { Store } from './store/store.ts'
import { hmacKey } from './tokens/random.ts'
import type { HmacSecret } from './util/hash.ts'
import { Lru } from './util/lru.ts'

/** Where audit events go. The tamper-evident trail (`audit/trail.ts`) implements it. */
export interface AuditSink {
  record(input: AuditEventInput): Promise<unknown>
}

/** Every URL the server answers, derived once from the issuer. */
export interface Urls {
  /** The issuer identifier (no trailing slash). */
  issuer: string
  /** RFC 8414 metadata. */
  metadata: string
  /** The public JWKS. */
  jwks: string
  /** RFC 7591 registration. */
  register: string
  /** RFC 9126 pushed authorization requests. */
  par: string
  /** The authorization endpoint (the person's browser). */
  authorize: string
  /** The token endpoint. */
  token: string
  /** RFC 7009 revocation. */
  revoke: string
  /** RFC 7662 introspection. */
  introspect: string
  /** Grant management (`/grants/{id}`). */
  grants: string
  /** The account holder's dashboard. */
  consents: string
  /** Static assets (stylesheet, client logos). */
  assets: string
  /** The transaction-history API base. */
  resource: string
  /** RFC 9728 protected resource metadata. */
  resourceMetadata: string
  /** The sandbox's endpoints: only with `sandbox: true`. `POST` here links a test person at once. */
  sandboxLink?: string
  /** `POST` here ends one of the client's grants as the person would (only with `sandbox: true`). */
  sandboxRevoke?: string
}

/** What every endpoint and check receives: config, store, audit, keys, secrets and the clock. */
export interface Context {
  config: ResolvedConfig
  store: Store
  audit: AuditSink
  urls: Urls
  signingKey: SigningKey
  /** The current key and the previous ones: what the JWKS publishes and verification accepts. */
  verificationKeys: VerificationKey[]
  /** The separate audit-checkpoint key, when configured (published in the JWKS, never verifies tokens). */
  auditKey?: SigningKey
  /** The audit log's Ed25519 note key and origin (`auditSigningKey`, else generated and kept in the store). */
  auditLogKey: AuditLogKey
  /** The audit log itself, once created (its endpoints serve checkpoints, proofs and access logs). */
  auditLog?: AuditTrail
  /** HMAC keys shared by every instance (kept in the store). */
  secrets: { nonce: HmacSecret; cursor: HmacSecret; cookie: HmacSecret; pairwise: HmacSecret }
  now(): number
  /** Public keys from DPoP headers, imported once per server (bounded, least recently used out). */
  dpopKeys: Lru<string, KeyObject>
  /** DPoP proof headers that verified, parsed once, by their exact text (bounded, as `dpopKeys`). */
  dpopHeaders: Lru<string, Readonly<Record<string, unknown>>>
  /** Clients' `jwks_uri` key sets: per server, bounded, fetched through the guarded fetch. */
  remoteJwks: RemoteJwks
}

/** How many imported DPoP public keys a server keeps (one per active recipient key is typical). */
const MAX_IMPORTED_DPOP_KEYS = 1000

export function buildUrls(issuer: string, resourcePath: string, sandbox = false): Urls {
  const u = (p: string) => `${issuer}${p}`
  const { origin, pathname } = new URL(issuer)
  const issuerPath = pathname === '/' ? '' : pathname
  return {
    issuer,
    // RFC 8414 §3.1: the well-known segment goes between host and path.
    metadata: `${origin}/.well-known/oauth-authorization-server${issuerPath}`,
    jwks: u('/jwks'),
    register: u('/register'),
    par: u('/par'),
    authorize: u('/authorize'),
    token: u('/token'),
    revoke: u('/revoke'),
    introspect: u('/introspect'),
    grants: u('/grants'),
    consents: u('/consents'),
    assets: u('/assets'),
    resource: u(resourcePath),
    resourceMetadata: `${origin}/.well-known/oauth-protected-resource${issuerPath}${resourcePath}`,
    ...(sandbox ? { sandboxLink: u('/sandbox/link'), sandboxRevoke: u('/sandbox/revoke') } : {}),
  }
}

const newSecret = () => base64url.encode(crypto.getRandomValues(new Uint8Array(32)))

export async function createContext(config: ResolvedConfig, audit: AuditSink): Promise<Context> {
  // Every store call from an endpoint goes through the NUL guard; every secret is kept encrypted
  // (or, where allowed, in plaintext), whoever asks for it.
  const store = guardStore(protectSecrets(config.store, config.secretProtection, config.log('server')))
  const protection = config.secretProtection
  if (protection.mode === 'plaintext' && protection.reason === 'dangerous')
    config
      .log('server')
      .warn(
        { event: 'config.insecure', option: 'dangerouslyStoreKeysInPlaintext' },
        `SERVER KEYS ARE STORED IN PLAINTEXT (dangerouslyStoreKeysInPlaintext): anyone who can read the database can forge tokens. Set ${KEY_ENCRYPTION_KEY_ENV} for anything real.`,
      )
  // A canary first: a wrong key-encryption key (or encrypted rows in plaintext mode) fails here,
  // before any other secret could be created under the wrong key.
  await store.getOrCreateSecret('key-encryption-check', newSecret)
  const [signingKey, nonce, cursor, cookie, pairwise, auditKey, auditLogKey] = await Promise.all([
    loadSigningKey(store, config.signingKey),
    store.getOrCreateSecret('dpop-nonce', newSecret).then(hmacKey),
    store.getOrCreateSecret('cursor', newSecret).then(hmacKey),
    store.getOrCreateSecret('cookie', newSecret).then(hmacKey),
    store.getOrCreateSecret('pairwise', newSecret).then(hmacKey),
    config.auditSigningKey ? loadSigningKey(store, config.auditSigningKey) : undefined,
    loadAuditLogKey(store, auditOrigin(config.issuer), config.auditSigningKey),
  ])
  const verificationKeys = await loadVerificationKeys(
    signingKey,
    config.previousSigningKeys as JWK[] | undefined,
  )
  if (auditKey && verificationKeys.some((k) => k.kid === auditKey.kid))
    throw new ConfigError('auditSigningKey must be a different key (and kid) from the token signing keys')
  return {
    config: { ...config, store },
    store,
    audit,
    urls: buildUrls(config.issuer, config.resourcePath, config.sandbox),
    signingKey,
    verificationKeys,
    ...(auditKey ? { auditKey } : {}),
    auditLogKey,
    secrets: { nonce, cursor, cookie, pairwise },
    now: config.now,
    dpopKeys: new Lru(MAX_IMPORTED_DPOP_KEYS),
    dpopHeaders: new Lru(MAX_IMPORTED_DPOP_KEYS),
    remoteJwks: createRemoteJwks(config.egressOptions, config.now),
  }
}

/** Every public key the JWKS publishes: the token keys (current first, then previous), then the audit key. */
export function publishedKeys(ctx: Context): JWK[] {
  return [...ctx.verificationKeys, ...(ctx.auditKey ? [ctx.auditKey] : [])].map((k) => k.publicJwk)
}
