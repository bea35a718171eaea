import { auditLeafBytes, formatExportHeader, inclusionPlan, parseNote, toBase64 } from '@consentry/core'
import type { AuditLogCheckpoint, Store } from '../store/store.ts'
import { resolveProofs } from './proofs.ts'

/** Options of {@link exportAuditLog}. */
export interface ExportAuditOptions {
  /** The store holding the log. */
  store: Store
  /** The checkpoint to export against (usually the newest); nothing but the header without one. */
  checkpoint: AuditLogCheckpoint | null
  /** The log's note verifier key, written into the header for information (verifiers must get it elsewhere). */
  verifierKey?: string
  /** Events read per store query. */
  pageSize?: number
}

/**
 * Stream the audit log as an export (JSON Lines, version 2, the format `verifyAuditExport` reads):
 * the header, the checkpoint, then every leaf below its size in index order with its inclusion
 * proof. Lines are yielded without their `\n`.
 *
 * @example
 * ```ts
 * const checkpoint = await store.getAuditCheckpoint()
 * for await (const line of exportAuditLog({ store, checkpoint })) out.write(`${line}\n`)
 * ```
 */
export async function* exportAuditLog(options: ExportAuditOptions): AsyncGenerator<string> {
  const { store, checkpoint, verifierKey, pageSize = 500 } = options
  const origin = checkpoint ? (parseNote(checkpoint.note)?.text.split('\n')[0] ?? '') : ''
  yield verifierKey
    ? formatExportHeader(origin, verifierKey)
    : JSON.stringify({ consentry_audit_export: 2, origin })
  if (!checkpoint) return
  yield JSON.stringify({ checkpoint: checkpoint.note })
  let after = -1
  for (;;) {
    const page = await store.listAuditEvents({
      afterIndex: after,
      belowIndex: checkpoint.size,
      limit: pageSize,
    })
    if (page.length === 0) break
    const proofs = await resolveProofs(
      store,
      page.map((e) => inclusionPlan(e.index!, checkpoint.size)),
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
