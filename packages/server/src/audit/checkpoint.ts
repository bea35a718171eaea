import {
  type AuditEvent,
  CHECKPOINT_TYP,
  type CheckpointAlgorithm,
  type CheckpointPayload,
  checkpointDigest,
  GENESIS_HASH,
  hashEvent,
} from '@consentry/core'
import { CompactSign, type CryptoKey, exportJWK, type JWK, type KeyObject } from 'jose'
import type { Store, StoredCheckpoint } from '../store/store.ts'

/**
 * The key audit checkpoints are signed with. Pass `publicKey` when `privateKey` is a non-extractable
 * `CryptoKey` (jose's `generateKeyPair` default) so the public JWK can be published and used by `verify()`.
 */
export interface AuditSigningKey {
  privateKey: CryptoKey | KeyObject | JWK
  publicKey?: CryptoKey | KeyObject | JWK
  kid: string
  alg: CheckpointAlgorithm
}

/**
 * Sign a checkpoint payload as a compact JWS (`typ: consentry-checkpoint+jwt`, the key's `alg` and `kid`).
 *
 * @example
 * ```ts
 * const jws = await signCheckpoint({ log_id: 'harbor-pay', size: 42, head, time, prev: null }, key)
 * ```
 */
export function signCheckpoint(payload: CheckpointPayload, key: AuditSigningKey): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ typ: CHECKPOINT_TYP, alg: key.alg, kid: key.kid })
    .sign(key.privateKey)
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const

/**
 * The public JWK of an audit signing key (with `kid`, `alg`, `use: "sig"`), for the JWKS endpoint and
 * for verifiers.
 *
 * @example
 * ```ts
 * const jwks = { keys: [await auditPublicJwk(signingKey)] }
 * ```
 */
export async function auditPublicJwk(key: AuditSigningKey): Promise<JWK> {
  const source = key.publicKey ?? key.privateKey
  let jwk: JWK
  try {
    jwk = isJwk(source) ? { ...source } : await exportJWK(source)
  } catch (cause) {
    throw new TypeError('cannot derive the audit public key: pass signingKey.publicKey', { cause })
  }
  for (const member of PRIVATE_MEMBERS) delete jwk[member]
  return { ...jwk, kid: key.kid, alg: key.alg, use: 'sig' }
}

const isJwk = (key: unknown): key is JWK => typeof key === 'object' && key !== null && 'kty' in key

export interface CreateCheckpointOptions {
  store: Store
  logId: string
  signingKey: AuditSigningKey
  /** Epoch milliseconds. */
  now: number
  /** Page size when reading the events since the last checkpoint. */
  pageSize?: number
}

/**
 * Sign and save a checkpoint over the current head, chained (`prev`) to the last stored checkpoint.
 * Returns `null` when nothing was appended since. Before signing, the events since the last checkpoint
 * are re-verified (hashes recompute, links hold): a broken chain is never signed over — it throws.
 *
 * Safe with several server instances: the store saves a checkpoint only if its predecessor is still
 * the newest, so concurrent checkpoints never fork the chain (the loser returns `null`).
 *
 * @example
 * ```ts
 * const saved = await createCheckpoint({ store, logId: 'harbor-pay', signingKey, now: Date.now() })
 * ```
 */
export async function createCheckpoint(options: CreateCheckpointOptions): Promise<StoredCheckpoint | null> {
  const { store, logId, signingKey, now, pageSize = 1000 } = options
  const last = (await store.listCheckpoints()).at(-1)
  let head: Pick<AuditEvent, 'seq' | 'hash'> = last
    ? { seq: last.size, hash: last.head }
    : { seq: 0, hash: GENESIS_HASH }
  const start = head.seq
  for (;;) {
    const page = await store.listAuditEvents({ afterSeq: head.seq, limit: pageSize })
    for (const event of page) {
      const { hash, ...unsealed } = event
      if (
        event.seq !== head.seq + 1 ||
        event.prev_hash !== head.hash ||
        (await hashEvent(unsealed)) !== hash
      ) {
        throw new Error(`audit trail is broken at seq ${event.seq}: refusing to sign a checkpoint over it`)
      }
      head = event
    }
    if (page.length < pageSize) break
  }
  if (head.seq === start) return null
  const payload: CheckpointPayload = {
    log_id: logId,
    size: head.seq,
    head: head.hash,
    time: Math.floor(now / 1000),
    prev: last ? await checkpointDigest(last.jws) : null,
  }
  const checkpoint: StoredCheckpoint = {
    size: head.seq,
    head: head.hash,
    createdAt: now,
    jws: await signCheckpoint(payload, signingKey),
  }
  // Another instance may have checkpointed meanwhile: then its checkpoint stands and this one is dropped.
  return (await store.saveCheckpoint(checkpoint, last ? last.size : null)) ? checkpoint : null
}
