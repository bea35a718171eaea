import { readFile, stat } from 'node:fs/promises'
import { formatVerifierKey, fromBase64, noteKeyId, parseNote, parseVerifierKey } from '@consentry/core'
import type { JWK } from 'jose'
import { UsageError } from './io.ts'

/** A JWK's private members (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037 §2). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const

/**
 * The public half of a JWK: every private member removed, `kid`/`alg`/`use` kept.
 *
 * @example
 * ```ts
 * publicJwk({ kty: 'OKP', crv: 'Ed25519', x, d, kid }) // { kty, crv, x, kid }
 * ```
 */
export function publicJwk(jwk: JWK): JWK {
  const copy: Record<string, unknown> = { ...jwk }
  for (const m of PRIVATE_MEMBERS) delete copy[m]
  delete copy.key_ops
  delete copy.ext
  return copy as JWK
}

/** The JWKs in a parsed JWK or JWKS (`{"keys": [...]}`). */
export function jwksOf(value: unknown): JWK[] {
  if (value && typeof value === 'object') {
    const keys = (value as { keys?: unknown }).keys
    if (Array.isArray(keys)) return keys.filter((k): k is JWK => !!k && typeof k === 'object')
    if (typeof (value as JWK).kty === 'string') return [value as JWK]
  }
  return []
}

/** Read a JWK or JWKS from a file (or inline JSON); a usage error if it is neither. */
export async function readJwks(source: string): Promise<{ keys: JWK[]; from: string }> {
  let text = source
  let from = 'the --key value'
  if (!source.trimStart().startsWith('{')) {
    const info = await stat(source).catch(() => null)
    if (!info?.isFile()) throw new UsageError(`cannot read ${source}`)
    text = await readFile(source, 'utf8')
    from = source
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new UsageError(`${from} is not JSON (a JWK or a JWKS)`)
  }
  const keys = jwksOf(parsed)
  if (keys.length === 0) throw new UsageError(`${from} holds no JWK (expected a JWK or {"keys": [...]})`)
  return { keys, from }
}

const base64urlBytes = (text: unknown): Uint8Array | null => {
  if (typeof text !== 'string' || !/^[\w-]+$/.test(text)) return null
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/')
  return fromBase64(b64 + '='.repeat((4 - (b64.length % 4)) % 4))
}

/**
 * The note verifier key (`<name>+<key id>+<base64 key>`) for a signed checkpoint, from `--key`: a
 * verifier key string as it is, or a file (or inline JSON) holding an Ed25519 public JWK or a JWKS
 * — the one whose C2SP key id matches a signature on `note` is chosen, so the holder's whole
 * published JWKS works too. Only a public key is trusted from the user; the key name comes from the
 * note's signature line, which the key id binds to that key.
 */
export async function verifierKeyFor(key: string, note: () => Promise<string | undefined>): Promise<string> {
  if (parseVerifierKey(key)) return key
  if (!key.trimStart().startsWith('{') && key.includes('+') && !(await stat(key).catch(() => null)))
    throw new UsageError('--key is not a valid Ed25519 note verifier key')
  const { keys, from } = await readJwks(key)
  if (keys.some((k) => PRIVATE_MEMBERS.some((m) => m in k)))
    throw new UsageError(
      `${from} holds a private key: verifying needs only the public one (<name>.public.jwks.json)`,
    )
  const candidates = keys
    .filter((k) => k.kty === 'OKP' && k.crv === 'Ed25519')
    .map((k) => base64urlBytes(k.x))
    .filter((x): x is Uint8Array => x?.length === 32)
  if (candidates.length === 0)
    throw new UsageError(`${from} holds no Ed25519 public key: audit checkpoints are signed with Ed25519`)
  const text = await note()
  const parsed = text ? parseNote(text) : null
  const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
  for (const sig of parsed?.signatures ?? [])
    for (const x of candidates)
      if (hex(noteKeyId(sig.name, x)) === hex(sig.keyId)) return formatVerifierKey(sig.name, x)
  // No signature made with these keys: verify against the first, under the note's origin, so the
  // report says the checkpoint is not signed by it (exit 1) rather than failing to start.
  const origin = text?.split('\n')[0]?.trim()
  return formatVerifierKey(origin && !/[\s+]/.test(origin) ? origin : 'unknown', candidates[0]!)
}
