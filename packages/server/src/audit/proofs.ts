import { type Hash, type NodeId, type ProofPlan, planNodes, resolvePlan } from '@consentry/core'
import type { Store } from '../store/store.ts'

/**
 * Resolve several proof plans with ONE store lookup of every stored node they name (RFC 9162
 * proofs from perfect-subtree hashes: O(log n) nodes a proof).
 */
export async function resolveProofs(store: Store, plans: ProofPlan[]): Promise<Hash[][]> {
  const ids: NodeId[] = planNodes(plans.flat())
  const hashes = ids.length ? await store.getAuditNodes(ids) : []
  const byId = new Map(ids.map((n, i) => [`${n.level}/${n.index}`, hashes[i]!]))
  return plans.map((plan) => resolvePlan(plan, (level, index) => byId.get(`${level}/${index}`)!))
}
