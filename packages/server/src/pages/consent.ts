import type { TransactionHistoryDetail } from '@consentry/core'
import { html, type SafeHtml, safeUrl } from './html.ts'
import { SHIELD_ICON } from './icons.ts'
import { fieldLabel, orderFields, readsPerDayText } from './labels.ts'
import { renderLayout } from './layout.ts'
import type { Theme } from './theme.ts'

export interface ConsentAccount {
  id: string
  name: string
  /** e.g. `wallet`, `savings`. */
  type: string
  currency: string
  /** Named by the request. When the request names accounts, only these can be chosen. */
  requested: boolean
}

export interface ConsentView {
  theme: Theme
  assetsUrl: string
  /** Where the decision form posts. */
  action: string
  csrf: string
  subjectName: string
  client: { name: string; uri?: string; logoUrl?: string }
  purpose: { id: string; label: string; description: string }
  /** What was asked. `accounts` absent means the person chooses. */
  request: TransactionHistoryDetail
  /** The person's accounts. */
  accounts: ConsentAccount[]
  /** e.g. "1 Sep 2026 to 30 Nov 2026" or "the last 90 days, rolling". */
  periodText: string
  /** e.g. "14 Mar 2027". */
  expiresAtText: string
  maxReadsPerDay: number
  /** Other authorization details in the same request, already described in plain words. */
  otherDetails?: Array<{ type: string; lines: string[] }>
  /** Why the last answer was not accepted (e.g. no account ticked), shown in a `role="alert"` box. */
  error?: string
}

function accountMeta(a: ConsentAccount): string {
  const type = a.type ? a.type.charAt(0).toUpperCase() + a.type.slice(1) : ''
  return [type, a.currency].filter(Boolean).join(' · ')
}

function hostOf(uri: string): string {
  try {
    return new URL(uri).host
  } catch {
    return uri
  }
}

/**
 * The consent page: who asks, why, which accounts, which data and fields, which period, until when,
 * how often without the person, and how to take it back — with the person able to narrow it, then
 * "Allow" or "Deny" (two submit buttons of one form, field `decision`).
 *
 * Form fields: `csrf`, `account` (one per ticked account id), `field` (one per ticked field),
 * `datatype=balances` (when balances were asked and left ticked), `decision=allow|deny`.
 */
export function renderConsentPage(view: ConsentView): string {
  const { request, client, theme } = view
  const datatypes = request.datatypes ?? ['accounts']
  const wantsTransactions = datatypes.includes('transactions')
  const wantsBalances = datatypes.includes('balances')
  const named = request.accounts ? new Set(request.accounts) : undefined
  const selectable = view.accounts.filter((a) => (named ? a.requested && named.has(a.id) : true))
  const notOffered = named ? view.accounts.filter((a) => !selectable.includes(a)) : []
  const fields = wantsTransactions ? orderFields(request.fields ?? []) : []
  const logo = safeUrl(client.logoUrl, { allowDataImage: true })
  const clientUri = safeUrl(client.uri)
  const initial = client.name.trim().charAt(0).toUpperCase() || '?'

  const accountsFieldset = html`<fieldset>
<legend>${named ? 'Accounts' : 'Choose the accounts to share'}</legend>
<p class="hint" id="accounts-hint">${
    named
      ? `${client.name} asked for ${selectable.length === 1 ? 'this account' : 'these accounts'}. Untick any you don't want to share.`
      : `${client.name} lets you choose. Untick any account you don't want to share.`
  }</p>
${
  selectable.length
    ? selectable.map(
        (a, i) => html`<div class="check">
<input type="checkbox" id="account-${i}" name="account" value="${a.id}" checked aria-describedby="account-${i}-meta">
<div><label for="account-${i}">${a.name}</label><span class="check__meta" id="account-${i}-meta">${accountMeta(a)}</span></div>
</div>`,
      )
    : html`<p class="not-offered">None of your accounts match this request, so there is nothing to share.</p>`
}
${
  notOffered.length
    ? html`<p class="not-offered">Not included (not requested): ${notOffered.map((a) => a.name).join(', ')}.</p>`
    : ''
}
</fieldset>`

  const dataFieldset = html`<fieldset>
<legend>Information</legend>
<ul class="plain-list">
<li>Account details: name, type and currency of each account you share</li>
${wantsTransactions ? html`<li>Transactions from <strong>${view.periodText}</strong></li>` : ''}
</ul>
${
  wantsBalances
    ? html`<div class="check">
<input type="checkbox" id="datatype-balances" name="datatype" value="balances" checked>
<label for="datatype-balances">Current balances</label>
</div>`
    : ''
}
</fieldset>`

  const fieldsFieldset: SafeHtml | '' = wantsTransactions
    ? html`<fieldset>
<legend>Details of each transaction</legend>
<p class="hint">Untick anything you'd rather not share.</p>
<div class="check-grid">
${fields.map(
  (f) => html`<div class="check">
<input type="checkbox" id="field-${f}" name="field" value="${f}" checked>
<label for="field-${f}">${fieldLabel(f)}</label>
</div>`,
)}
</div>
</fieldset>`
    : ''

  const others = (view.otherDetails ?? []).filter((d) => d.lines.length)

  const body = html`${view.error ? html`<div class="alert alert--error" role="alert">${view.error}</div>` : ''}<form method="post" action="${safeUrl(view.action) ?? ''}">
<input type="hidden" name="csrf" value="${view.csrf}">
<section class="card" aria-labelledby="consent-title">
<div class="requester">
${
  logo
    ? html`<img class="requester__logo" src="${logo}" alt="" width="56" height="56">`
    : html`<span class="requester__initial" aria-hidden="true">${initial}</span>`
}
<div>
<h1 id="consent-title"><span class="client-name">${client.name}</span> is asking to see your ${theme.name} information</h1>
${clientUri ? html`<p class="client-link"><a href="${clientUri}" rel="noopener noreferrer">${hostOf(clientUri)}</a></p>` : ''}
</div>
</div>
<div class="purpose">
<h2 class="section-title">Why</h2>
<p class="purpose__label">${view.purpose.label}</p>
<p class="muted">${view.purpose.description}</p>
</div>
</section>

<section class="card" aria-labelledby="what-title">
<h2 class="section-title" id="what-title">What ${client.name} will see</h2>
${accountsFieldset}
${dataFieldset}
${fieldsFieldset}
${
  others.length
    ? html`<h3>Also asked</h3>${others.map((d) => html`<ul class="plain-list">${d.lines.map((l) => html`<li>${l}</li>`)}</ul>`)}`
    : ''
}
</section>

<section class="card" aria-labelledby="how-title">
<h2 class="section-title" id="how-title">For how long</h2>
<dl class="facts">
<div class="fact"><dt>Access until</dt><dd>${view.expiresAtText}</dd></div>
<div class="fact"><dt>Without you</dt><dd>${
    view.maxReadsPerDay > 0
      ? `${client.name} may check for updates ${readsPerDayText(view.maxReadsPerDay)} without you`
      : `${client.name} may only read while you are using it`
  }</dd></div>
</dl>
</section>

<section class="card card--quiet" aria-label="Your control">
<p class="reassure">${SHIELD_ICON}<span><strong>You can revoke this at any time</strong> from Connected apps in your ${theme.name} account. ${client.name} never sees your password.</span></p>
<div class="actions actions--split">
<button type="submit" name="decision" value="allow" class="button button--primary">Allow</button>
<button type="submit" name="decision" value="deny" class="button button--secondary">Deny</button>
</div>
</section>
</form>`
  return renderLayout({
    theme,
    title: `Share with ${client.name}?`,
    assetsUrl: view.assetsUrl,
    body,
    subjectName: view.subjectName,
  })
}
