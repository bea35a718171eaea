import { type AuditEvent, GENESIS_HASH } from '../audit-event.ts'
import { canonicalize } from './canonical.ts'

const hex = (buf: ArrayBuffer) =>
  Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('')

/** SHA-256 of a string, lowercase hex (Web Crypto). */
export async function sha256Hex(text: string): Promise<string> {
  return hex(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)))
}

/** An event before it joins the chain: everything but `seq`, `prev_hash` and `hash`. */
export type AuditEventDraft = Omit<AuditEvent, 'seq' | 'prev_hash' | 'hash'>

/** The hash an event must carry: SHA-256 over the canonical encoding of every member except `hash`. */
export function hashEvent(event: Omit<AuditEvent, 'hash'>): Promise<string> {
  return sha256Hex(canonicalize(event))
}

/**
 * Link a draft to the chain after `prev` (or start the chain). Stores call this inside their
 * serialised append so no two events ever share a predecessor.
 */
export async function sealEvent(
  prev: Pick<AuditEvent, 'seq' | 'hash'> | null,
  draft: AuditEventDraft,
): Promise<AuditEvent> {
  const unsealed = { ...draft, seq: prev ? prev.seq + 1 : 1, prev_hash: prev ? prev.hash : GENESIS_HASH }
  return { ...unsealed, hash: await hashEvent(unsealed) }
}
