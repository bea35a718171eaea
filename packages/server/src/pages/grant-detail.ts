import { badge, type GrantSummary, grantFacts } from './dashboard.ts'
import { html, type SafeHtml, safeUrl } from './html.ts'
import { renderLayout } from './layout.ts'
import type { Theme } from './theme.ts'

export interface AccessLogEntry {
  /** When the read happened, formatted, e.g. "3 Dec 2026, 09:12". */
  at: string
  accountName: string
  /** The period read, formatted, e.g. "1 Sep 2026 to 30 Nov 2026". */
  period: string
  /** How many records were returned. */
  records: number
  /** The entry's inclusion proof in the holder's audit log (absent until integrated, ~1 s). */
  proofUrl?: string
}

export interface GrantDetailView {
  theme: Theme
  assetsUrl: string
  subjectName: string
  /** Not needed by this page (revoking goes through the confirmation page); accepted for symmetry. */
  csrf?: string
  /** A confirmation in a `role="status"` box, e.g. "Access revoked. Beacon Lending can no longer read your data." */
  flash?: string
  grant: Omit<GrantSummary, 'detailUrl'> & { detailUrl?: string }
  /** Newest first. */
  accessLog: AccessLogEntry[]
  /** Granted, refreshed, narrowed, revoked…, newest first. */
  history: Array<{ at: string; text: string }>
  /** The signed consent receipt, when available. */
  receiptUrl?: string
  /** The verifiable access log (events + inclusion proofs + signed checkpoint), when available. */
  accessLogUrl?: string
  /** The revoke confirmation page (GET); the "Revoke" button shows when the grant is active and this is set. */
  revokeUrl?: string
  /** The change form ("Change what <app> can see"); shown when the grant is active and this is set. */
  changeUrl?: string
  /** Back to Connected apps. */
  backUrl: string
}

/** A GET form to `url` that keeps the URL's query parameters as hidden inputs. */
function getButton(url: string, label: string, className: string): SafeHtml {
  const safe = safeUrl(url) ?? ''
  let action = safe
  let params: Array<[string, string]> = []
  const q = safe.indexOf('?')
  if (q !== -1) {
    action = safe.slice(0, q)
    params = [...new URLSearchParams(safe.slice(q + 1).split('#')[0]).entries()]
  }
  return html`<form method="get" action="${action}">
${params.map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}
<button type="submit" class="${className}">${label}</button>
</form>`
}

/** (The access log table carries explicit ARIA roles so it keeps its semantics when narrow screens restyle rows as blocks.)
 * One grant: its facts, the access log, its history, the receipt and (when active) "Revoke". */
export function renderGrantDetail(view: GrantDetailView): string {
  const g = view.grant
  const active = g.status === 'active'
  const receipt = safeUrl(view.receiptUrl)
  const body = html`<a class="back" href="${safeUrl(view.backUrl) ?? '#'}">← Connected apps</a>
${view.flash ? html`<div class="alert alert--success" role="status">${view.flash}</div>` : ''}
<section class="card" aria-labelledby="grant-title">
<div class="grant-card__head"><h1 id="grant-title">${g.clientName}</h1>${badge(g.status)}</div>
<p class="grant-card__purpose">${g.purposeLabel}</p>
${grantFacts(g)}
${
  active && safeUrl(view.changeUrl)
    ? html`<p class="grant-change"><a href="${safeUrl(view.changeUrl)}">Change what ${g.clientName} can see</a></p>`
    : ''
}
${
  (active && view.revokeUrl) || receipt
    ? html`<div class="actions">
${active && view.revokeUrl ? getButton(view.revokeUrl, 'Revoke', 'button button--danger') : ''}
${receipt ? html`<a class="button button--secondary" href="${receipt}" download>Download receipt</a>` : ''}
</div>`
    : ''
}
</section>

<section class="card" aria-labelledby="log-title">
<h2 id="log-title">Access log</h2>
${safeUrl(view.accessLogUrl) ? html`<p><a href="${safeUrl(view.accessLogUrl)}" download>Download verifiable access log</a></p>` : ''}
${
  view.accessLog.length
    ? html`<div class="table-wrap"><table role="table">
<caption>Every time ${g.clientName} read your information, newest first</caption>
<thead role="rowgroup"><tr role="row"><th scope="col" role="columnheader">When</th><th scope="col" role="columnheader">Account</th><th scope="col" role="columnheader">Period</th><th scope="col" role="columnheader" class="num">Records</th><th scope="col" role="columnheader">Proof</th></tr></thead>
<tbody role="rowgroup">
${view.accessLog.map(
  (e) =>
    html`<tr role="row"><td role="cell" data-label="When">${e.at}</td><td role="cell" data-label="Account">${e.accountName}</td><td role="cell" data-label="Period">${e.period}</td><td role="cell" data-label="Records" class="num">${e.records}</td><td role="cell" data-label="Proof">${safeUrl(e.proofUrl) ? html`<a href="${safeUrl(e.proofUrl)}">Inclusion proof</a>` : html`<span class="muted">pending</span>`}</td></tr>`,
)}
</tbody>
</table></div>`
    : html`<p class="muted">${g.clientName} hasn't read any of your information yet.</p>`
}
</section>

<section class="card" aria-labelledby="history-title">
<h2 id="history-title">History</h2>
${
  view.history.length
    ? html`<ol class="timeline">${view.history.map((h) => html`<li><time>${h.at}</time>${h.text}</li>`)}</ol>`
    : html`<p class="muted">Nothing yet.</p>`
}
</section>`
  return renderLayout({
    theme: view.theme,
    title: g.clientName,
    assetsUrl: view.assetsUrl,
    body,
    subjectName: view.subjectName,
  })
}

export interface RevokeConfirmView {
  theme: Theme
  assetsUrl: string
  csrf: string
  subjectName: string
  clientName: string
  /** Where the confirmation posts. */
  action: string
  /** Back to the grant's details. */
  cancelUrl: string
  /** Shown as "It can currently read: …". */
  accountNames?: string[]
}

/** "Revoke <app>?" with a POST button "Revoke access" and a "Cancel" link. */
export function renderRevokeConfirm(view: RevokeConfirmView): string {
  const body = html`<div class="card">
<h1>Revoke ${view.clientName}?</h1>
<p>${view.clientName} will immediately lose access to your ${view.theme.name} information. It won't be able to read anything new unless you connect it again.</p>
${
  view.accountNames?.length
    ? html`<p class="muted">It can currently read: ${view.accountNames.join(', ')}.</p>`
    : ''
}
<p class="muted small">Information it has already read is covered by ${view.clientName}'s own privacy policy.</p>
<form method="post" action="${safeUrl(view.action) ?? ''}">
<input type="hidden" name="csrf" value="${view.csrf}">
<div class="actions">
<button type="submit" class="button button--danger">Revoke access</button>
<a class="button button--secondary" href="${safeUrl(view.cancelUrl) ?? '#'}">Cancel</a>
</div>
</form>
</div>`
  return renderLayout({
    theme: view.theme,
    title: `Revoke ${view.clientName}?`,
    assetsUrl: view.assetsUrl,
    body,
    subjectName: view.subjectName,
    narrow: true,
  })
}
