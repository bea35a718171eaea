import { type AuditEvent, type AuditLeaf, auditLeafSchema } from '../audit-event.ts'
import { canonicalize } from './canonical.ts'
import { type Hash, leafHash } from './merkle.ts'

const encoder = new TextEncoder()

/** The event as hashed: every member but `seq` and `index` (and `undefined` members). */
export function auditLeafOf(event: AuditEvent | AuditLeaf): AuditLeaf {
  const { seq: _seq, index: _index, ...leaf } = event as AuditEvent
  return leaf
}

/**
 * The leaf bytes of an event in the audit log: its RFC 8785 canonical JSON (UTF-8) without `seq`
 * and `index`.
 *
 * @example
 * ```ts
 * const hash = leafHash(auditLeafBytes(event))
 * ```
 */
export function auditLeafBytes(event: AuditEvent | AuditLeaf): Uint8Array {
  return encoder.encode(canonicalize(auditLeafOf(event)))
}

/** RFC 9162 leaf hash of an event: SHA-256(0x00 ‖ canonical JSON). */
export function auditLeafHash(event: AuditEvent | AuditLeaf): Hash {
  return leafHash(auditLeafBytes(event))
}

/**
 * Decode leaf bytes back into an event: valid UTF-8, a valid event, and canonical (re-encoding gives
 * the same bytes). `null` otherwise.
 */
export function parseAuditLeaf(bytes: Uint8Array): AuditLeaf | null {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    const parsed = auditLeafSchema.safeParse(JSON.parse(text))
    if (!parsed.success || canonicalize(parsed.data) !== text) return null
    return parsed.data
  } catch {
    return null
  }
}
