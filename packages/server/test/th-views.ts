/**
 * The page tests were written against transaction-history-shaped view models (a `request` detail, the
 * person's `accounts`, `periodText`; a grant's `datatypes`, `fields`, `periodText`). Since data types
 * are pluggable the pages take generic sections and facts; these adapters build them from the old
 * shape with the built-in type's words, so the tests' assertions stay as they were.
 */
import type { TransactionHistoryDetail } from '@consentry/core'
import { TRANSACTION_HISTORY_WORDS } from '../src/data-types/transaction-history.ts'
import {
  type ConsentView,
  consentSection,
  type DashboardView,
  detailFacts,
  type GrantDetailView,
  type GrantSummary,
  renderConsentPage as renderConsent,
  renderDashboard as renderDash,
  renderGrantDetail as renderDetail,
} from '../src/pages/index.ts'

export interface ThAccount {
  id: string
  name: string
  type: string
  currency: string
  requested: boolean
}

export type ThConsentView = Omit<ConsentView, 'sections'> & {
  request: Partial<TransactionHistoryDetail> & { type: 'transaction_history' }
  accounts: ThAccount[]
  periodText: string
}

export type ThGrant = Omit<GrantSummary, 'facts'> & {
  datatypes: string[]
  fields: string[]
  periodText: string
}

const cap = (s: string) => (s ? s.charAt(0).toUpperCase() + s.slice(1) : '')

export function toConsentView(v: ThConsentView): ConsentView {
  const { request, accounts, periodText, ...rest } = v
  // The old view offered only accounts marked `requested` when the request named some.
  const items = accounts
    .filter((a) => !request.accounts || a.requested)
    .map((a) => ({ id: a.id, name: a.name, meta: [cap(a.type), a.currency].filter(Boolean).join(' · ') }))
  const others = request.accounts ? accounts.filter((a) => !a.requested) : []
  const section = consentSection(TRANSACTION_HISTORY_WORDS, request as never, {
    items: [...items, ...others.map((a) => ({ id: a.id, name: a.name }))],
    scopeMember: 'accounts',
    period: periodText,
    client: v.client.name,
  })
  return { ...rest, sections: [section] }
}

export function toGrant<G extends ThGrant>(g: G): GrantSummary {
  const { datatypes, fields, periodText, ...rest } = g
  return {
    ...rest,
    facts: detailFacts(
      TRANSACTION_HISTORY_WORDS,
      {
        type: 'transaction_history',
        datatypes,
        fields,
        ...(datatypes.includes('transactions') ? { period: { lookback_days: 1 } } : {}),
      } as never,
      { scopeNames: g.accountNames, period: periodText, client: g.clientName },
    ),
  }
}

export const renderConsentPage = (v: ThConsentView) => renderConsent(toConsentView(v))
export const renderDashboard = (v: Omit<DashboardView, 'grants'> & { grants: ThGrant[] }) =>
  renderDash({ ...v, grants: v.grants.map(toGrant) })
export const renderGrantDetail = (
  v: Omit<GrantDetailView, 'grant'> & { grant: Omit<ThGrant, 'detailUrl'> & { detailUrl?: string } },
) => renderDetail({ ...v, grant: toGrant(v.grant as ThGrant) })
