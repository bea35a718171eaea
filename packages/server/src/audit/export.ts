import { formatCheckpointLine, formatExportHeader } from '@consentry/core'
import type { Store } from '../store/store.ts'

export interface ExportAuditOptions {
  store: Store
  logId: string
  /** Events read per store query. */
  pageSize?: number
}

/**
 * Stream the audit trail as an export (JSON Lines, the format `verifyAuditExport` reads): the header,
 * then every event in seq order, each checkpoint right after the event it covers. Lines are yielded
 * without their trailing `\n`.
 *
 * Checkpoints are read before the events, so every exported checkpoint covers exported events; events
 * appended while exporting are included, uncovered, at the end.
 *
 * @example
 * ```ts
 * for await (const line of exportAuditTrail({ store, logId: 'harbor-pay' })) out.write(`${line}\n`)
 * ```
 */
export async function* exportAuditTrail(options: ExportAuditOptions): AsyncGenerator<string> {
  const { store, logId, pageSize = 500 } = options
  const checkpoints = await store.listCheckpoints()
  let next = 0
  yield formatExportHeader(logId)
  let afterSeq = 0
  for (;;) {
    const page = await store.listAuditEvents({ afterSeq, limit: pageSize })
    for (const { seq, ...rest } of page) {
      const event = { seq, ...rest } // seq first, for people reading the file; the hash ignores order
      yield JSON.stringify(event)
      afterSeq = event.seq
      while (next < checkpoints.length && checkpoints[next]!.size <= event.seq) {
        yield formatCheckpointLine(checkpoints[next++]!.jws)
      }
    }
    if (page.length < pageSize) break
  }
  while (next < checkpoints.length) yield formatCheckpointLine(checkpoints[next++]!.jws)
}
