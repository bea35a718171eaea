import { auditLeafBytes, formatExportHeader, toBase64 } from '@consentry/core'
import type { AuditTrail } from './trail.ts'

/**
 * Stream the audit log as an export (JSON Lines, version 2, the format `verifyAuditExport` reads):
 * the header, the newest checkpoint, then every leaf below its size in index order with its
 * inclusion proof. Pending events are integrated first. Lines are yielded without their `\n`.
 *
 * @example
 * ```ts
 * for await (const line of exportAuditLog(server.audit)) out.write(`${line}\n`)
 * ```
 */
export async function* exportAuditLog(trail: AuditTrail, pageSize = 500): AsyncGenerator<string> {
  const checkpoint = await trail.flush()
  yield formatExportHeader(trail.origin, trail.verifierKey)
  if (!checkpoint) return
  yield JSON.stringify({ checkpoint: checkpoint.note })
  let after = -1
  for (;;) {
    const page = await trail.list({ afterIndex: after, belowIndex: checkpoint.size, limit: pageSize })
    if (page.length === 0) break
    const proofs = await trail.inclusionProofs(
      page.map((e) => e.index!),
      checkpoint.size,
    )
    for (const [i, event] of page.entries()) {
      yield JSON.stringify({
        index: event.index,
        leaf: toBase64(auditLeafBytes(event)),
        proof: proofs[i]!.map(toBase64),
      })
    }
    after = page.at(-1)!.index!
  }
}
