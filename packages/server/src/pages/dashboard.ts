import type { AuthorizationDetail } from '@consentry/core'
import type { DataTypeWords } from '../data-types/define.ts'
import { html, type SafeHtml, safeUrl } from './html.ts'
import { statusLabel } from './labels.ts'
import { renderLayout } from './layout.ts'
import type { Theme } from './theme.ts'

/** One grant as the person sees it; every date is already formatted by the caller. */
export interface GrantSummary {
  id: string
  clientName: string
  purposeLabel: string
  /** `active`, `revoked`, `expired`, `denied` (or `pending`). */
  status: string
  /** Names of the scope items (accounts, stores) the grant covers. */
  accountNames: string[]
  /** What the grant covers, in plain words (see {@link detailFacts}). */
  facts: Fact[]
  grantedOn: string
  expiresOn: string
  /** For an active grant: "expires in 5 days" (`soon` when within the holder's reminder window). */
  expiresIn?: { text: string; soon: boolean }
  /** Absent: never read. */
  lastRead?: string
  readsLast30Days: number
  detailUrl: string
}

export interface DashboardView {
  theme: Theme
  assetsUrl: string
  csrf: string
  subjectName: string
  signOutAction: string
  /** A one-line confirmation shown in a `role="status"` box, e.g. after a revocation. */
  flash?: string
  grants: GrantSummary[]
}

/** One line of a grant's facts: "Accounts: Everyday Wallet". */
export interface Fact {
  label: string
  value: string
}

/**
 * A detail's facts in plain words: its scope items, datatypes, fields, period and summary, labelled
 * by its type's words.
 *
 * @example
 * ```ts
 * detailFacts(TRANSACTION_HISTORY_WORDS, detail, { scopeNames: ['Everyday Wallet'], period: 'the last 90 days', client: 'Beacon' })
 * ```
 */
export function detailFacts<D extends AuthorizationDetail>(
  words: DataTypeWords<D>,
  detail: D,
  o: { scopeNames?: string[]; fieldsMember?: string; period: string; client: string },
): Fact[] {
  const list = (m: string) => (Array.isArray(detail[m]) ? (detail[m] as string[]) : [])
  const datatypes = list('datatypes')
  const chosen = list(o.fieldsMember ?? 'fields')
  const fields = Object.keys(words.fields ?? {}).filter((f) => chosen.includes(f))
  const summary = words.summary?.(detail, { period: o.period, client: o.client })
  return [
    ...(summary ? [{ label: 'What it sees', value: summary }] : []),
    ...(words.scope && o.scopeNames
      ? [{ label: words.scope.legend, value: o.scopeNames.length ? o.scopeNames.join(', ') : 'None' }]
      : []),
    ...(datatypes.length
      ? [{ label: 'Information', value: datatypes.map((d) => words.datatypes?.[d] ?? d).join(', ') }]
      : []),
    ...(fields.length
      ? [
          {
            label: words.fieldsTitle ?? 'Details',
            value: fields.map((f) => words.fields?.[f] ?? f).join(', '),
          },
        ]
      : []),
    ...(detail.period ? [{ label: 'Period', value: o.period }] : []),
  ]
}

export function badge(status: string): SafeHtml {
  const known = ['active', 'revoked', 'expired', 'denied', 'pending'].includes(status) ? status : 'pending'
  return html`<span class="badge badge--${known}">${statusLabel(status)}</span>`
}

/** The facts of a grant as a definition list (shared by the dashboard cards and the detail page). */
export function grantFacts(
  g: Omit<GrantSummary, 'id' | 'detailUrl' | 'clientName' | 'purposeLabel' | 'status'>,
): SafeHtml {
  return html`<dl class="facts">
${g.facts.map((f) => html`<div class="fact"><dt>${f.label}</dt><dd>${f.value}</dd></div>`)}
<div class="fact"><dt>Granted on</dt><dd>${g.grantedOn}</dd></div>
<div class="fact"><dt>Expires on</dt><dd>${g.expiresOn}${
    g.expiresIn
      ? html` <span class="${g.expiresIn.soon ? 'expires-soon' : 'muted'}">(${g.expiresIn.text})</span>`
      : ''
  }</dd></div>
<div class="fact"><dt>Last read</dt><dd>${g.lastRead ?? 'Never'}</dd></div>
<div class="fact"><dt>Reads in the last 30 days</dt><dd>${g.readsLast30Days}</dd></div>
</dl>`
}

function card(g: GrantSummary, index: number): SafeHtml {
  const headingId = `grant-${index}-name`
  return html`<li class="card grant-card">
<div class="grant-card__head"><h3 id="${headingId}">${g.clientName}</h3>${badge(g.status)}</div>
<p class="grant-card__purpose">${g.purposeLabel}</p>
${grantFacts(g)}
<div class="grant-card__foot"><a class="button button--secondary button--small" href="${safeUrl(g.detailUrl) ?? '#'}" aria-describedby="${headingId}">Details</a></div>
</li>`
}

/** "Connected apps": the person's grants, active first, then the rest as history; and "Sign out". */
export function renderDashboard(view: DashboardView): string {
  const active = view.grants.filter((g) => g.status === 'active')
  const past = view.grants.filter((g) => g.status !== 'active')
  const signOut = html`<form method="post" action="${safeUrl(view.signOutAction) ?? ''}">
<input type="hidden" name="csrf" value="${view.csrf}">
<button type="submit" class="button button--secondary">Sign out</button>
</form>`
  const body = html`<div class="page-head">
<h1>Connected apps</h1>
${signOut}
</div>
<p class="lead">Apps you've allowed to see your ${view.theme.name} information. Open one to see every time it read your data, or to revoke its access.</p>
${view.flash ? html`<div class="alert alert--success" role="status">${view.flash}</div>` : ''}
${
  view.grants.length === 0
    ? html`<div class="card empty"><h2>No connected apps</h2><p class="muted">When you allow an app to see your information, it will appear here. You'll be able to see what it reads and stop it at any time.</p></div>`
    : html`<section aria-labelledby="active-title">
<h2 id="active-title">Active</h2>
${
  active.length
    ? html`<ul class="grant-list">${active.map((g, i) => card(g, i))}</ul>`
    : html`<p class="muted">No app can read your information right now.</p>`
}
</section>
${
  past.length
    ? html`<section aria-labelledby="history-title">
<h2 id="history-title">History</h2>
<ul class="grant-list">${past.map((g, i) => card(g, active.length + i))}</ul>
</section>`
    : ''
}`
}`
  return renderLayout({
    theme: view.theme,
    title: 'Connected apps',
    assetsUrl: view.assetsUrl,
    body,
    subjectName: view.subjectName,
  })
}
