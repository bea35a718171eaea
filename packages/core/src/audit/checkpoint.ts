import {
  base64url,
  compactVerify,
  decodeProtectedHeader,
  importJWK,
  type JSONWebKeySet,
  type JWK,
} from 'jose'
import { z } from 'zod'
import { sha256Hex } from './chain.ts'

/** `typ` header of every audit checkpoint JWS (explicit typing, RFC 8725 §3.11). */
export const CHECKPOINT_TYP = 'consentry-checkpoint+jwt'

/** The signature algorithms a checkpoint may use. */
export const CHECKPOINT_ALGORITHMS = ['ES256', 'EdDSA', 'PS256'] as const
export type CheckpointAlgorithm = (typeof CHECKPOINT_ALGORITHMS)[number]

const hex64 = z.string().regex(/^[0-9a-f]{64}$/)

/**
 * The payload of a checkpoint: a signed statement "log `log_id` had `size` events at `time`, and the
 * hash of event #`size` was `head`". `prev` chains checkpoints: the SHA-256 (hex) of the previous
 * checkpoint's compact JWS string, `null` for the first one.
 */
export const checkpointPayloadSchema = z.object({
  log_id: z.string().min(1).max(256),
  size: z.number().int().min(1),
  head: hex64,
  time: z.number().int().min(0),
  prev: hex64.nullable(),
})
export type CheckpointPayload = z.infer<typeof checkpointPayloadSchema>

/** The protected header of a checkpoint. */
export interface CheckpointHeader {
  typ: typeof CHECKPOINT_TYP
  alg: CheckpointAlgorithm
  kid: string
}

/** Result of {@link decodeCheckpoint}: the decoded parts, or why it is not a checkpoint. */
export type DecodedCheckpoint =
  | { ok: true; header: CheckpointHeader; payload: CheckpointPayload }
  | { ok: false; reason: 'malformed' | 'not_a_checkpoint'; message: string }

/**
 * Decode a checkpoint JWS **without verifying its signature** (use `verifyAuditExport`, or jose's
 * `compactVerify`, for that). Never throws.
 *
 * - `malformed`: not a compact JWS, or the payload is not a valid checkpoint payload;
 * - `not_a_checkpoint`: a JWS, but its header lacks `typ: "consentry-checkpoint+jwt"`, an allowed
 *   `alg` or a `kid`.
 *
 * @example
 * ```ts
 * const decoded = decodeCheckpoint(stored.jws)
 * if (decoded.ok) console.log(decoded.payload.size, decoded.payload.head)
 * ```
 */
export function decodeCheckpoint(jws: string): DecodedCheckpoint {
  const parts = typeof jws === 'string' ? jws.split('.') : []
  if (parts.length !== 3) return { ok: false, reason: 'malformed', message: 'not a compact JWS' }
  let header: Record<string, unknown>
  let payload: unknown
  try {
    header = decodeProtectedHeader(jws) as Record<string, unknown>
    payload = JSON.parse(new TextDecoder().decode(base64url.decode(parts[1]!)))
  } catch {
    return { ok: false, reason: 'malformed', message: 'the JWS header or payload is not base64url JSON' }
  }
  if (header.typ !== CHECKPOINT_TYP) {
    return { ok: false, reason: 'not_a_checkpoint', message: `typ is not "${CHECKPOINT_TYP}"` }
  }
  if (!CHECKPOINT_ALGORITHMS.includes(header.alg as CheckpointAlgorithm)) {
    return { ok: false, reason: 'not_a_checkpoint', message: `alg ${String(header.alg)} is not allowed` }
  }
  if (typeof header.kid !== 'string' || header.kid === '') {
    return { ok: false, reason: 'not_a_checkpoint', message: 'the header has no kid' }
  }
  const parsed = checkpointPayloadSchema.safeParse(payload)
  if (!parsed.success) {
    return {
      ok: false,
      reason: 'malformed',
      message: `invalid checkpoint payload: ${parsed.error.issues[0]?.message}`,
    }
  }
  return {
    ok: true,
    header: { typ: CHECKPOINT_TYP, alg: header.alg as CheckpointAlgorithm, kid: header.kid },
    payload: parsed.data,
  }
}

/**
 * The value the next checkpoint puts in `prev`: SHA-256 (lowercase hex) of this checkpoint's compact
 * JWS string, exactly as stored and exported.
 *
 * @example
 * ```ts
 * const prev = last ? await checkpointDigest(last.jws) : null
 * ```
 */
export function checkpointDigest(jws: string): Promise<string> {
  return sha256Hex(jws)
}

/** Result of {@link verifyCheckpoint}. */
export type CheckpointVerification =
  | { ok: true; header: CheckpointHeader; payload: CheckpointPayload }
  | {
      ok: false
      /** `malformed`/`not_a_checkpoint` as in {@link decodeCheckpoint}; `unknown_key`: no key with that `kid`; `bad_signature`: forged. */
      reason: 'malformed' | 'not_a_checkpoint' | 'unknown_key' | 'bad_signature'
      message: string
    }

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const

/**
 * Verify one checkpoint's signature against a JWKS (the key whose `kid` the header names). Checks the
 * explicit `typ`, restricts `alg` to ES256 / EdDSA / PS256 and never throws.
 *
 * @example
 * ```ts
 * const check = await verifyCheckpoint(stored.jws, { keys: [auditPublicJwk] })
 * if (!check.ok) throw new Error(check.message)
 * ```
 */
export async function verifyCheckpoint(jws: string, keys: JSONWebKeySet): Promise<CheckpointVerification> {
  const decoded = decodeCheckpoint(jws)
  if (!decoded.ok) return decoded
  const { alg, kid } = decoded.header
  const candidates = (Array.isArray(keys?.keys) ? keys.keys : []).filter(
    (jwk) => jwk && jwk.kid === kid && jwk.kty !== 'oct' && (jwk.use === undefined || jwk.use === 'sig'),
  )
  if (candidates.length === 0)
    return { ok: false, reason: 'unknown_key', message: `no key with kid "${kid}"` }
  for (const jwk of candidates) {
    if (jwk.alg !== undefined && jwk.alg !== alg) continue
    try {
      const publicJwk: JWK = { ...jwk }
      for (const member of PRIVATE_MEMBERS) delete publicJwk[member]
      const key = await importJWK(publicJwk, alg)
      await compactVerify(jws, key, { algorithms: [alg] })
      return decoded
    } catch {
      // try the next key with this kid, if any
    }
  }
  return {
    ok: false,
    reason: 'bad_signature',
    message: `the signature does not verify with key "${kid}" (${alg})`,
  }
}
