/**
 * Tidewater Payments' server-rendered pages. Every dynamic value goes through `esc`; no script, no
 * inline style (the CSP forbids both).
 */
import { formatMoney, type StoreReconciliation, type UpcomingPayout } from './reconcile.ts'

/** HTML-escape text for element content and quoted attribute values. */
export function esc(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
}

const LOGO = `<svg viewBox="0 0 32 32" aria-hidden="true" focusable="false"><circle cx="16" cy="16" r="15" fill="#0e7490"/><path d="M5 18c3-3 5.5-3 8 0s5 3 8 0 4.5-2.6 6-1.2" stroke="#fff" stroke-width="2.2" fill="none" stroke-linecap="round"/><path d="M5 23c3-3 5.5-3 8 0s5 3 8 0 4.5-2.6 6-1.2" stroke="#7dd3fc" stroke-width="2.2" fill="none" stroke-linecap="round"/><circle cx="21" cy="10" r="3" fill="#fcd34d"/></svg>`
const SHIELD = `<svg viewBox="0 0 20 20" aria-hidden="true" focusable="false"><path d="M10 1.5l7 2.8v5c0 4.3-3 7.6-7 9.2-4-1.6-7-4.9-7-9.2v-5z" fill="#0e7490"/><path d="M6.5 10.2l2.4 2.4 4.8-5" stroke="#fff" stroke-width="1.8" fill="none" stroke-linecap="round" stroke-linejoin="round"/></svg>`

export function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · Tidewater Payments</title>
<link rel="stylesheet" href="/assets/tidewater.css">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><div class="inner">
<a class="brand" href="/">${LOGO}<span>Tidewater Payments</span></a>
<span class="tag">Cross-border payouts for marketplace sellers</span>
</div></header>
<main id="main">
${body}
</main>
<footer class="bottom">Tidewater Payments is a demo recipient for Consentry. No real money, no real data.</footer>
</body>
</html>
`
}

const csrfField = (token: string) => `<input type="hidden" name="csrf" value="${esc(token)}">`

export interface AskView {
  holderName: string
  lookbackDays: number
  expiresDays: number
  maxReadsPerDay: number
}

export function landingPage(p: { csrf: string; ask: AskView; connected: boolean }): string {
  const { ask } = p
  const h = esc(ask.holderName)
  return layout(
    'Get paid for every sale',
    `<section class="hero">
<div>
<h1>Every ${h} payout, checked against every sale.</h1>
<p class="lead">Tidewater collects your ${h} payouts in your own currency and reconciles each settlement with the orders and refunds it covers — so a missing order never slips past. Connecting takes about a minute, and you never give us a password.</p>
${p.connected ? `<div class="notice ok"><h2>You're connected</h2><p>Your ${h} link is active. <a href="/payouts">See your payouts</a>.</p></div>` : ''}
<div class="trust">${SHIELD}<div>You sign in at ${h}, never here, and choose which stores to share. Your buyers’ names, addresses, emails and phone numbers never leave ${h} — there is no way for us to ask for them. End our access at any time, here or in ${h}’s <em>Connected apps</em>.</div></div>
</div>
<div class="card">
<h2>What we’ll ask ${h} for</h2>
<ul class="asks">
<li><span class="tick">✓</span><span>Settlements of the stores you choose: period, sales, refunds, fees, net payout and payout date</span></li>
<li><span class="tick">✓</span><span>Orders and refunds: only their date and amount — no items, no buyers</span></li>
<li><span class="tick">✓</span><span>The last ${ask.lookbackDays} days, for one purpose: payment processing</span></li>
<li><span class="tick">✓</span><span>Access for ${ask.expiresDays} days, at most ${ask.maxReadsPerDay} automatic updates a day</span></li>
</ul>
<form method="post" action="/connect" class="inline">${csrfField(p.csrf)}<button class="button primary wide" type="submit">Connect ${h}</button></form>
<p class="small muted">You’ll be taken to ${h} to sign in and decide.</p>
</div>
</section>
<section class="section">
<h2>How it works</h2>
<ol class="steps">
<li><h3>Sign in at ${h}</h3><p class="muted small">Your password stays with ${h}. We never see it.</p></li>
<li><h3>Choose your stores</h3><p class="muted small">Share one storefront or all of them, and untick any detail you’d rather keep.</p></li>
<li><h3>See every payout reconciled</h3><p class="muted small">The next payout, and each settlement checked against its orders and refunds.</p></li>
</ol>
</section>`,
  )
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
/** "2026-06-17" → "17 Jun 2026" (with the weekday: "Wed 17 Jun 2026"). */
export function dateLabel(iso: string, weekday = false): string {
  const d = new Date(`${iso.slice(0, 10)}T00:00:00Z`)
  if (Number.isNaN(d.getTime())) return iso
  return `${weekday ? `${DAYS[d.getUTCDay()]} ` : ''}${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`
}
/** "2026-06-01", "2026-06-14" → "1–14 Jun 2026"; across months "18 May – 31 May 2026". */
export function rangeLabel(from: string, to: string): string {
  if (from.slice(0, 7) === to.slice(0, 7)) return `${Number(from.slice(8, 10))}–${dateLabel(to)}`
  if (from.slice(0, 4) === to.slice(0, 4)) return `${dateLabel(from).slice(0, -5)} – ${dateLabel(to)}`
  return `${dateLabel(from)} – ${dateLabel(to)}`
}

export interface StoreView {
  id: string
  name: string
  currency: string
  region?: string
  period: { from: string; to: string }
  orderCount: number
  refundCount: number
  reconciliation: StoreReconciliation
}

const FIELD_WORDS: Record<string, string> = {
  period_start: 'period start',
  period_end: 'period end',
  gross_sales: 'gross sales',
  refunds: 'refunds',
  fees: 'fees',
  net_payout: 'net payout',
  payout_date: 'payout date',
  currency: 'currency',
  ordered_at: 'order date',
  amount: 'amounts',
  refunded_at: 'refund date',
}

function upcomingCard(u: UpcomingPayout | undefined, currency: string, today: string): string {
  if (!u)
    return `<div class="upcoming"><div class="label">Upcoming payout</div><div class="value">—</div><div class="hint">Order amounts were not shared, so we can’t estimate it.</div></div>`
  const money = formatMoney(u.amount, currency)
  const when = u.payoutDate === today ? 'today' : `on ${dateLabel(u.payoutDate, true)}`
  const hint =
    u.kind === 'scheduled'
      ? `Settled for sales of ${rangeLabel(u.periodStart, u.periodEnd)}; paid ${when}.`
      : `Estimated from ${u.orderCount} order${u.orderCount === 1 ? '' : 's'} since ${dateLabel(u.periodStart)} (${formatMoney(u.sales ?? 0, currency)}), less ${formatMoney(u.refunds ?? 0, currency)} refunded and about ${((u.feeRate ?? 0) * 100).toFixed(1)}% fees. The period closes ${dateLabel(u.periodEnd)}.${u.amount < 0 ? ' Refunds exceed sales so far: the difference is taken from this payout.' : ''}`
  return `<div class="upcoming ${u.kind}"><div class="label">Upcoming payout${u.kind === 'estimate' ? ' (estimate)' : ''}</div><div class="value">${esc(money)}</div><div class="when">${esc(when === 'today' ? 'Today' : dateLabel(u.payoutDate, true))}</div><div class="hint">${esc(hint)}</div></div>`
}

function storeSection(st: StoreView, today: string): string {
  const r = st.reconciliation
  // In the table, this year's dates go without the year.
  const year = today.slice(0, 4)
  const short = (label: string) => (label.endsWith(` ${year}`) ? label.slice(0, -5) : label)
  const money = (c: number) => esc(formatMoney(c, st.currency))
  const next = r.upcoming[0]
  const open = r.upcoming.find((u) => u.kind === 'estimate')
  const last = r.settlements.find((c) => !c.scheduled)
  // Beside a settled payout still to come: what the open period builds up. Otherwise: the last payout.
  const second =
    next?.kind === 'scheduled' && open
      ? `<div class="stat"><div class="label">Building up now</div><div class="value">${money(open.amount)}</div><div class="hint">${esc(`Sales since ${dateLabel(open.periodStart)}, less refunds and fees; paid ${dateLabel(open.payoutDate)}`)}</div></div>`
      : `<div class="stat"><div class="label">Last payout</div><div class="value">${last ? money(last.net) : '—'}</div><div class="hint">${last ? esc(`Paid ${dateLabel(last.payoutDate)} for ${rangeLabel(last.periodStart, last.periodEnd)}`) : 'None in the shared period'}</div></div>`
  const rows = r.settlements
    .map((c) => {
      const check =
        c.status === 'ok'
          ? '<span class="check ok">✓ Adds up</span>'
          : c.status === 'mismatch'
            ? `<span class="check bad">⚠ Does not add up</span>`
            : '<span class="check muted">Not checked</span>'
      const cell = (label: string, value: string, cls = '') =>
        `<td data-label="${label}"${cls ? ` class="${cls}"` : ''}><span>${value}</span></td>`
      const main = `<tr class="${c.status}">${[
        cell('Period', esc(short(rangeLabel(c.periodStart, c.periodEnd)))),
        cell(
          'Paid out',
          `${esc(c.payoutDate ? short(dateLabel(c.payoutDate)) : '—')}${c.scheduled ? ' <span class="pill">scheduled</span>' : ''}`,
        ),
        cell('Sales (settled)', money(c.gross)),
        cell('Your orders', `${money(c.ordersTotal)}<span class="sub">${c.orderCount} orders</span>`),
        cell('Refunds', money(c.refunds)),
        cell('Fees', money(c.fees)),
        cell('Net payout', money(c.net), 'strong'),
        cell('Check', check),
      ].join('')}</tr>`
      if (c.status === 'ok') return main
      const suspects = c.suspects.length
        ? `<p class="small">Probably left out: ${c.suspects.map((o) => `order <code>${esc(o.id)}</code> of ${money(o.amount)} placed ${esc(dateLabel(o.orderedAt))}`).join('; ')}.</p>`
        : ''
      return `${main}<tr class="detail ${c.status}"><td colspan="8"><ul class="findings">${c.findings.map((f) => `<li>${esc(f)}</li>`).join('')}</ul>${suspects}</td></tr>`
    })
    .join('\n')
  return `<section class="card store section" aria-labelledby="store-${esc(st.id)}">
<div class="store-head"><h2 id="store-${esc(st.id)}">${esc(st.name)}</h2><span class="chip">${esc([st.region, st.currency].filter(Boolean).join(' · '))}</span>${r.mismatches ? `<span class="chip bad">${r.mismatches} settlement${r.mismatches === 1 ? '' : 's'} to look at</span>` : '<span class="chip ok">All settlements add up</span>'}</div>
<div class="payout-row">
${upcomingCard(next, st.currency, today)}
${second}
<div class="stat"><div class="label">Shared with us</div><div class="value">${st.orderCount.toLocaleString('en-GB')}</div><div class="hint">orders and ${st.refundCount} refunds, ${esc(rangeLabel(st.period.from, st.period.to))}</div></div>
</div>
<h3>Last settlements, checked against your orders and refunds</h3>
<div class="table-wrap"><table class="settlements">
<thead><tr><th scope="col">Period</th><th scope="col">Paid out</th><th scope="col">Sales (settled)</th><th scope="col">Your orders</th><th scope="col">Refunds</th><th scope="col">Fees</th><th scope="col">Net payout</th><th scope="col">Check</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="8" class="muted">No settlements in the shared period yet.</td></tr>'}
</tbody></table></div>
<p class="small muted">Amounts in ${esc(st.currency)}, the currency this store sells and is paid in. “Your orders” is what the orders placed in each period add up to; a settlement adds up when orders − refunds − fees equals the net payout.</p>
</section>`
}

export function payoutsPage(p: {
  csrf: string
  holderName: string
  stores: StoreView[]
  today: string
  fields: string[]
  expiresAt?: Date
}): string {
  const h = esc(p.holderName)
  const mismatches = p.stores.flatMap((st) =>
    st.reconciliation.settlements
      .filter((c) => c.status === 'mismatch')
      .map((c) => ({ store: st, check: c })),
  )
  const banner = mismatches.length
    ? `<div class="notice bad" role="alert"><h2>${mismatches.length === 1 ? '1 settlement does not add up' : `${mismatches.length} settlements do not add up`}</h2><ul class="plain">${mismatches
        .map(
          (m) =>
            `<li><strong>${esc(m.store.name)}</strong>, ${esc(rangeLabel(m.check.periodStart, m.check.periodEnd))}: ${esc(m.check.difference > 0 ? `${formatMoney(m.check.difference, m.store.currency)} short` : m.check.difference < 0 ? `${formatMoney(-m.check.difference, m.store.currency)} over` : 'figures do not match')}</li>`,
        )
        .join(
          '',
        )}</ul><p class="small">We’ve flagged ${mismatches.length === 1 ? 'it' : 'them'} below. Raise it with ${h} support, quoting the settlement period.</p></div>`
    : `<div class="notice ok" role="status"><h2>Every settlement adds up</h2><p class="small">Each payout matches the orders and refunds it covers.</p></div>`
  const period = p.stores[0]?.period
  return layout(
    'Your payouts',
    `<h1>Your payouts</h1>
<p class="lead">From ${h}: ${p.stores.length} store${p.stores.length === 1 ? '' : 's'}${period ? `, ${esc(rangeLabel(period.from, period.to))}` : ''}.</p>
${banner}
${p.stores.map((st) => storeSection(st, p.today)).join('\n')}
<section class="two section">
<div class="card"><h2>What ${h} shared with us</h2>
<dl class="shared">
<dt>Stores</dt><dd><ul class="plain">${p.stores.map((s) => `<li>${esc(s.name)} <span class="muted small">(${esc(s.currency)})</span></li>`).join('')}</ul></dd>
<dt>Period</dt><dd>${period ? esc(rangeLabel(period.from, period.to)) : '—'}</dd>
<dt>Details</dt><dd><div class="chips">${p.fields.map((f) => `<span class="chip">${esc(FIELD_WORDS[f] ?? f.replace(/_/g, ' '))}</span>`).join('')}</div></dd>
<dt>Buyers</dt><dd>Nothing: no names, addresses, emails or phone numbers</dd>
<dt>Access until</dt><dd>${p.expiresAt ? esc(dateLabel(p.expiresAt.toISOString())) : '—'}</dd>
</dl></div>
<div class="card"><h2>You’re in control</h2>
<p>We read this while you’re here. Disconnect and we stop at once; ${h} will show the link as ended.</p>
<form method="post" action="/disconnect" class="inline">${csrfField(p.csrf)}<button class="button danger" type="submit">Disconnect ${h}</button></form>
<p class="small muted">You can also revoke access in ${h}’s <em>Connected apps</em>.</p>
</div>
</section>`,
  )
}

/** A one-message page (denied, ended, disconnected, error) with optional actions. */
export function messagePage(p: {
  title: string
  heading: string
  kind: 'ok' | 'warn' | 'bad'
  /** Trusted HTML (callers escape what they put in). */
  body: string
  code?: string
  csrf?: string
  reconnect?: boolean
  holderName?: string
  home?: boolean
  /** A short status badge above the message: "Link ended". */
  status?: string
}): string {
  const reconnect =
    p.reconnect && p.csrf
      ? `<form method="post" action="/connect" class="inline"><input type="hidden" name="csrf" value="${esc(p.csrf)}"><button class="button primary" type="submit">Connect ${esc(p.holderName ?? 'again')}</button></form>`
      : ''
  return layout(
    p.title,
    `<div class="center">
${p.status ? `<p><span class="badge ${p.kind}">${esc(p.status)}</span></p>` : ''}
<div class="notice ${p.kind}" role="status"><h2>${esc(p.heading)}</h2><p>${p.body}</p>${p.code ? `<p class="small">Error code: <code class="code">${esc(p.code)}</code></p>` : ''}</div>
<div class="actions">${reconnect}${p.home !== false ? '<a class="button secondary" href="/">Back to Tidewater</a>' : ''}</div>
</div>`,
  )
}
