/**
 * Beacon Lending's server-rendered pages. Every dynamic value goes through `esc`; no script, no inline
 * style (the CSP forbids both).
 */
import type { AffordabilitySummary } from './affordability.ts'
import { formatMoney } from './affordability.ts'

/** HTML-escape text for element content and quoted attribute values. */
export function esc(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
}

const LOGO = `<svg viewBox="0 0 32 32" aria-hidden="true" focusable="false"><circle cx="16" cy="16" r="15" fill="#0e7c72"/><path d="M12 25h8l-1.6-11h-4.8z" fill="#fff"/><rect x="12.6" y="9" width="6.8" height="4" rx="1" fill="#ffd36b"/><path d="M20.5 10.2l5.5-2.2M20.5 11.8l5.5 2.2M11.5 10.2L6 8M11.5 11.8L6 14" stroke="#ffd36b" stroke-width="1.4" stroke-linecap="round"/></svg>`
const SHIELD = `<svg viewBox="0 0 20 20" aria-hidden="true" focusable="false"><path d="M10 1.5l7 2.8v5c0 4.3-3 7.6-7 9.2-4-1.6-7-4.9-7-9.2v-5z" fill="#0e7c72"/><path d="M6.5 10.2l2.4 2.4 4.8-5" stroke="#fff" stroke-width="1.8" fill="none" stroke-linecap="round" stroke-linejoin="round"/></svg>`

export function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · Beacon Lending</title>
<link rel="stylesheet" href="/assets/beacon.css">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><div class="inner">
<a class="brand" href="/">${LOGO}<span>Beacon Lending</span></a>
<span class="tag">Personal loans, decided on facts — not passwords</span>
</div></header>
<main id="main">
${body}
</main>
<footer class="bottom">Beacon Lending is a demo recipient for Consentry. No real money, no real data.</footer>
</body>
</html>
`
}

const csrfField = (token: string) => `<input type="hidden" name="csrf" value="${esc(token)}">`

export interface AskView {
  holderName: string
  lookbackDays: number
  fields: string[]
  expiresDays: number
  maxReadsPerDay: number
}

const FIELD_LABELS: Record<string, string> = {
  booked_at: 'date',
  amount: 'amount',
  currency: 'currency',
  category: 'category',
  description: 'description',
  counterparty: 'counterparty',
  status: 'status',
  balance_after: 'running balance',
}
export const fieldLabel = (f: string) => FIELD_LABELS[f] ?? f.replace(/_/g, ' ')

export function landingPage(p: { csrf: string; ask: AskView; connected: boolean }): string {
  const { ask } = p
  const months = Math.round(ask.lookbackDays / 30.4)
  const shareForm = (share: 'totals' | 'history', label: string, kind: string) =>
    `<form method="post" action="/connect" class="share">${csrfField(p.csrf)}<input type="hidden" name="share" value="${share}"><button class="button ${kind} wide" type="submit">${esc(label)}</button></form>`
  return layout(
    'Check what you can afford',
    `<section class="hero">
<div>
<h1>See what you can comfortably borrow — without giving us a password.</h1>
<p class="lead">Connect your ${esc(ask.holderName)} account and we'll look at the last ${months} months of income and spending to work out an affordable monthly repayment. It takes about a minute — and ${esc(ask.holderName)} can give us just the monthly totals.</p>
${p.connected ? `<div class="notice ok"><h2>You're connected</h2><p>Your ${esc(ask.holderName)} link is active. <a href="/summary">See your affordability summary</a>.</p></div>` : ''}
<div class="trust">${SHIELD}<div>You sign in at ${esc(ask.holderName)}, never here. You choose which accounts and details to share, and you can end our access at any time — here or in ${esc(ask.holderName)}'s <em>Connected apps</em>.</div></div>
</div>
<div class="card">
<h2>What we'll ask ${esc(ask.holderName)} for</h2>
<p class="option"><span class="badge">Recommended</span> Monthly totals only</p>
<ul class="asks">
<li><span class="tick">✓</span><span>Your income, spending and month-end balance for each of the last ${months} months, worked out by ${esc(ask.holderName)}</span></li>
<li><span class="tick">✓</span><span>Not your transactions, descriptions or who you paid</span></li>
<li><span class="tick">✓</span><span>Signed by ${esc(ask.holderName)}, so the figures can be checked</span></li>
<li><span class="tick">✓</span><span>For one purpose only: a credit assessment</span></li>
<li><span class="tick">✓</span><span>Access for ${ask.expiresDays} days, at most ${ask.maxReadsPerDay} automatic updates a day</span></li>
</ul>
${shareForm('totals', 'Share monthly totals only — recommended', 'primary')}
<div class="alt">
<p class="small muted">Or let us see the detail: your accounts, their balances, and transactions from the last ${ask.lookbackDays} days (${esc(ask.fields.map(fieldLabel).join(', '))}).</p>
${shareForm('history', 'Share full transaction history', 'secondary')}
</div>
<p class="small muted">You'll be taken to ${esc(ask.holderName)} to sign in and decide.</p>
</div>
</section>
<section class="section">
<h2>How it works</h2>
<ol class="steps">
<li><h3>Sign in at ${esc(ask.holderName)}</h3><p class="muted small">Your password stays with ${esc(ask.holderName)}. We never see it.</p></li>
<li><h3>Choose what to share</h3><p class="muted small">Monthly totals only, or your full history. Untick any account or detail you'd rather keep to yourself.</p></li>
<li><h3>Get your summary</h3><p class="muted small">Average income, spending and balance trend — and you can disconnect with one click.</p></li>
</ol>
</section>`,
  )
}

export interface SharedView {
  holderName: string
  /** Named accounts (full history); with monthly totals only the ids are shared. */
  accounts: Array<{ name: string; type?: string }>
  period: { from: string; to: string }
  lookbackDays?: number
  fields: string[]
  datatypes: string[]
  expiresAt?: Date
  maxReadsPerDay?: number
  /** The consented metrics (monthly totals only). */
  metrics?: string[]
}

/** Where the figures come from: the holder's signed monthly totals, or transactions we summed ourselves. */
export type SourceView =
  | { kind: 'totals'; signed: boolean; issuedAt?: Date; accountCount: number }
  | { kind: 'history'; transactions: number }

const METRIC_LABELS: Record<string, string> = {
  monthly_income: 'monthly income',
  monthly_spending: 'monthly spending',
  month_end_balance: 'month-end balance',
  income_regularity: 'income regularity',
  overdraft_days: 'overdrawn days',
}

const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const monthLabel = (ym: string, withYear = true) =>
  `${MONTH_NAMES[Number(ym.slice(5, 7)) - 1] ?? ym}${withYear ? ` ${ym.slice(0, 4)}` : ''}`
const dateLabel = (iso: string) => {
  const d = new Date(`${iso.slice(0, 10)}T00:00:00Z`)
  return Number.isNaN(d.getTime())
    ? iso
    : `${d.getUTCDate()} ${MONTH_NAMES[d.getUTCMonth()]} ${d.getUTCFullYear()}`
}

function balanceChart(s: AffordabilitySummary): string {
  const rows = s.months.filter((m) => m.closingBalance !== undefined)
  if (rows.length === 0) return ''
  const max = Math.max(1, ...rows.map((m) => m.closingBalance!))
  const money = (c: number) => formatMoney(c, s.currency)
  const cols = rows
    .map((m) => {
      const v = m.closingBalance!
      const pct = v <= 0 ? 0 : Math.max(1, Math.round((v / max) * 100))
      const cls = v < 0 ? 'neg' : m.complete ? '' : 'partial'
      return `<div class="col" title="${esc(`${monthLabel(m.month)}: ${money(v)}`)}"><span class="bar h${pct} ${cls}"></span></div>`
    })
    .join('')
  const labels = rows.map((m) => `<span>${esc(monthLabel(m.month, false))}</span>`).join('')
  const first = rows[0]!
  const last = rows[rows.length - 1]!
  return `<div class="chart" role="img" aria-label="${esc(`Month-end balance from ${money(first.closingBalance!)} in ${monthLabel(first.month)} to ${money(last.closingBalance!)} now`)}">${cols}</div>
<div class="chart-labels" aria-hidden="true">${labels}</div>`
}

export function summaryPage(p: {
  csrf: string
  summary: AffordabilitySummary
  shared: SharedView
  source: SourceView
}): string {
  const s = p.summary
  const money = (c: number) => formatMoney(c, s.currency)
  const net = s.averageMonthlyNet
  const basis =
    s.monthsCounted > 0
      ? `averaged over ${s.monthsCounted} full month${s.monthsCounted === 1 ? '' : 's'}`
      : 'scaled to an average month'
  const sh = p.shared
  const hasBalances = s.currentBalance !== undefined
  const hasOverdrafts = s.months.some((m) => m.overdraftDays !== undefined)
  const rows = s.months
    .map((m) => {
      const sign = m.net > 0 ? 'pos' : m.net < 0 ? 'neg' : ''
      return `<tr${m.complete ? '' : ' class="partial"'}><td>${esc(monthLabel(m.month))}${m.complete ? '' : ' <span class="small">(part)</span>'}</td><td>${esc(money(m.income))}</td><td>${esc(money(m.spending))}</td><td class="${sign}">${esc(money(m.net))}</td>${hasBalances ? `<td>${m.closingBalance !== undefined ? esc(money(m.closingBalance)) : '—'}</td>` : ''}${hasOverdrafts ? `<td>${esc(m.overdraftDays ?? '—')}</td>` : ''}</tr>`
    })
    .join('\n')
  const src = p.source
  const totals = src.kind === 'totals'
  const lead = totals
    ? `From the monthly totals ${esc(sh.holderName)} worked out for ${esc(dateLabel(s.period.from))} to ${esc(dateLabel(s.period.to))}, ${basis}.`
    : `From ${src.transactions.toLocaleString('en-IE')} transactions ${esc(sh.holderName)} shared for ${esc(dateLabel(s.period.from))} to ${esc(dateLabel(s.period.to))}, ${basis}.`
  const sourceNote = totals
    ? `<div class="source" role="note"><span class="source-kind">Monthly totals only</span><div><strong>${src.signed ? `Signed by ${esc(sh.holderName)}.` : `From ${esc(sh.holderName)}.`}</strong> ${esc(sh.holderName)} shared monthly figures for ${src.accountCount} account${src.accountCount === 1 ? '' : 's'} — not your transactions, descriptions or who you paid.${src.signed ? ` We checked the signature with ${esc(sh.holderName)}'s published keys${src.issuedAt ? ` (signed ${esc(dateLabel(src.issuedAt.toISOString()))})` : ''}.` : ''}</div></div>`
    : `<div class="source history" role="note"><span class="source-kind">Full transaction history</span><div>We worked these figures out ourselves from the transactions ${esc(sh.holderName)} shared with us.</div></div>`
  const period = `${dateLabel(sh.period.from)} – ${dateLabel(sh.period.to)}${sh.lookbackDays ? ` (the last ${sh.lookbackDays} days)` : ''}`
  return layout(
    'Your affordability summary',
    `<h1>Your affordability summary</h1>
<p class="lead">${lead}</p>
${sourceNote}
<div class="stats">
<div class="stat"><div class="label">Monthly income</div><div class="value">${esc(money(s.averageMonthlyIncome))}</div><div class="hint">average</div></div>
<div class="stat"><div class="label">Monthly spending</div><div class="value">${esc(money(s.averageMonthlySpending))}</div><div class="hint">average</div></div>
<div class="stat"><div class="label">Left each month</div><div class="value ${net >= 0 ? 'good' : 'bad'}">${esc(money(net))}</div><div class="hint">income minus spending</div></div>
<div class="stat"><div class="label">Current balance</div><div class="value">${hasBalances ? esc(money(s.currentBalance!)) : '—'}</div><div class="hint">${hasBalances ? (totals ? `at ${esc(dateLabel(s.period.to))}, across shared accounts` : 'across shared accounts') : 'balances not shared'}</div></div>
</div>
<div class="verdict"><div><div class="muted small">Indicative affordable repayment</div><strong>${esc(money(s.suggestedMaxRepayment))} a month</strong></div><div class="muted small">About a third of what you have left each month. A loan offer would also consider your existing commitments.</div></div>
${
  hasBalances
    ? `<section class="card section"><h2>Balance at the end of each month</h2>${balanceChart(s)}<p class="small muted">${totals ? `As ${esc(sh.holderName)} computed them from booked transactions.` : "Worked back from today's balance."} Striped: the current or a partial month.</p></section>`
    : ''
}
<section class="card section"><h2>Month by month</h2>
<div class="table-wrap"><table class="months">
<thead><tr><th scope="col">Month</th><th scope="col">Income</th><th scope="col">Spending</th><th scope="col">Net</th>${hasBalances ? '<th scope="col">Month-end balance</th>' : ''}${hasOverdrafts ? '<th scope="col">Days overdrawn</th>' : ''}</tr></thead>
<tbody>
${rows}
</tbody></table></div>
<p class="small muted">Transfers between your own accounts${s.excluded.transfers ? ` (${s.excluded.transfers} in this period)` : ''} are not counted as income or spending; refunds reduce spending. “Part” months are not in the averages.${s.incomeRegularity ? ` Income was steady (within 15% of the usual amount) in ${s.incomeRegularity.within} of ${s.incomeRegularity.months} full months.` : ''}</p>
</section>
<section class="two section">
<div class="card"><h2>What ${esc(sh.holderName)} shared with us</h2>
<dl class="shared">
<dt>Accounts</dt><dd>${totals ? `${src.accountCount} account${src.accountCount === 1 ? '' : 's'} you chose <span class="muted small">(names not shared)</span>` : `<ul class="plain">${sh.accounts.map((a) => `<li>${esc(a.name)}${a.type ? ` <span class="muted small">(${esc(a.type)})</span>` : ''}</li>`).join('')}</ul>`}</dd>
<dt>Period</dt><dd>${esc(period)}</dd>
<dt>Details</dt><dd><div class="chips">${
      totals
        ? (sh.metrics ?? []).map((m) => `<span class="chip">${esc(METRIC_LABELS[m] ?? m)}</span>`).join('')
        : `${sh.fields.map((f) => `<span class="chip">${esc(fieldLabel(f))}</span>`).join('')}${sh.datatypes.includes('balances') ? '<span class="chip">balances</span>' : ''}`
    }</div></dd>
<dt>Access until</dt><dd>${sh.expiresAt ? esc(dateLabel(sh.expiresAt.toISOString())) : '—'}</dd>
${sh.maxReadsPerDay !== undefined ? `<dt>Automatic updates</dt><dd>at most ${sh.maxReadsPerDay} a day</dd>` : ''}
</dl></div>
<div class="card"><h2>You're in control</h2>
<p>We read this while you're here. You can end our access now; we'll stop immediately and ${esc(sh.holderName)} will show it as ended.</p>
<form method="post" action="/disconnect" class="inline">${csrfField(p.csrf)}<button class="button danger" type="submit">Disconnect ${esc(sh.holderName)}</button></form>
<p class="small muted">You can also revoke access in ${esc(sh.holderName)}'s <em>Connected apps</em>.</p>
</div>
</section>`,
  )
}

/** A one-message page (denied, ended, disconnected, error) with optional actions. */
export function messagePage(p: {
  title: string
  heading: string
  kind: 'ok' | 'warn' | 'bad'
  body: string
  code?: string
  csrf?: string
  reconnect?: boolean
  holderName?: string
  home?: boolean
}): string {
  const reconnect =
    p.reconnect && p.csrf
      ? `<form method="post" action="/connect" class="inline"><input type="hidden" name="csrf" value="${esc(p.csrf)}"><button class="button primary" type="submit">Connect ${esc(p.holderName ?? 'again')}</button></form>`
      : ''
  return layout(
    p.title,
    `<div class="center">
<div class="notice ${p.kind}" role="status"><h2>${esc(p.heading)}</h2><p>${p.body}</p>${p.code ? `<p class="small">Error code: <code class="code">${esc(p.code)}</code></p>` : ''}</div>
<div class="actions">${reconnect}${p.home !== false ? '<a class="button secondary" href="/">Back to Beacon Lending</a>' : ''}</div>
</div>`,
  )
}
