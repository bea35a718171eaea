import { formatVerifierKey } from '@consentry/core'
import { type CryptoKey, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose'
import type { PrivateJwk } from '../config.ts'
import { ConfigError } from '../errors.ts'
import type { Store } from '../store/store.ts'

/** The audit log's Ed25519 key, as C2SP signed notes need it. */
export interface AuditLogKey {
  /** The log's name: first line of every checkpoint, and the key name. */
  origin: string
  /** The Ed25519 signing key (non-extractable). */
  privateKey: CryptoKey
  /** Raw 32-byte Ed25519 public key. */
  publicKey: Uint8Array
  /** `<origin>+<hex key id>+<base64(0x01 ‖ public key)>`, published as `audit_log.verifier_key`. */
  verifierKey: string
}

/**
 * The log's origin derived from the issuer: the issuer without its scheme, plus `/audit`
 * (`https://bank.example` → `bank.example/audit`), as C2SP recommends a schema-less URL.
 *
 * @example `auditOrigin('https://bank.example/') // 'bank.example/audit'`
 */
export function auditOrigin(issuer: string): string {
  return `${issuer.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '')}/audit`
}

const isEd25519 = (jwk: PrivateJwk | undefined) => jwk?.kty === 'OKP' && jwk.crv === 'Ed25519'

/**
 * Load the log key: the configured one (`auditSigningKey`, a private Ed25519 JWK), or the one kept in
 * the store (generated once, shared by every instance, encrypted at rest like every server key).
 */
export async function loadAuditLogKey(
  store: Store,
  origin: string,
  configured?: PrivateJwk,
): Promise<AuditLogKey> {
  let jwk: PrivateJwk
  if (configured) {
    if (!isEd25519(configured) || typeof configured.d !== 'string')
      throw new ConfigError(
        'auditSigningKey must be a private Ed25519 JWK (kty "OKP", crv "Ed25519"): audit checkpoints are C2SP signed notes',
      )
    jwk = configured
  } else {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
    const candidate = JSON.stringify(await exportJWK(privateKey))
    jwk = JSON.parse(await store.getOrCreateSecret('audit-log-key', () => candidate))
  }
  const { d: _d, key_ops: _ops, ext: _ext, alg: _alg, use: _use, ...pub } = jwk as JWK
  const privateKey = (await importJWK({ ...(jwk as JWK), alg: 'EdDSA' }, 'EdDSA')) as CryptoKey
  const publicKey = Uint8Array.from(atob((pub.x as string).replace(/-/g, '+').replace(/_/g, '/')), (c) =>
    c.charCodeAt(0),
  )
  if (publicKey.length !== 32) throw new ConfigError('auditSigningKey: x is not a 32-byte Ed25519 public key')
  return { origin, privateKey, publicKey, verifierKey: formatVerifierKey(origin, publicKey) }
}
