import type { AuthorizationDetail } from '@consentry/core'
import type { DataTypeWords, ScopeItem } from '../data-types/define.ts'
import type { SelectControl } from '../grants/choices.ts'
import { html, type SafeHtml, safeUrl } from './html.ts'
import { SHIELD_ICON } from './icons.ts'
import { readsPerDayText } from './labels.ts'
import { renderLayout } from './layout.ts'
import type { Theme } from './theme.ts'

/** A checkbox the person can untick. */
export interface Choice {
  value: string
  label: string
  /** A second line under the label ("Wallet · EUR"). */
  meta?: string
  checked: boolean
}

/**
 * One authorization detail of a served data type, as the consent page (and the dashboard's change
 * form) shows it: what the person chooses among, what is shared, what they may untick, and what the
 * grant can never do. Built by {@link consentSection}; rendered by {@link renderDetailControls}.
 */
export interface ConsentSection {
  /** Input-name prefix: '' for the first data-typed detail of a request, `1.` for the next, … */
  prefix: string
  /** "Transaction history", "Sales and payouts". */
  title: string
  scope?: {
    legend: string
    noun: string
    plural: string
    /** The request named which; else the person chooses among all theirs. */
    named: boolean
    items: Choice[]
    /** Names of the person's items the request did not name. */
    notOffered: string[]
    /** The hint under the legend, when not the consent page's ("… asked for these accounts …"). */
    hint?: string
  }
  /** What is shared, in plain words. */
  lines: string[]
  /** Datatypes the person may untick (e.g. balances). */
  optional: Choice[]
  fields?: { legend: string; items: Choice[] }
  /** What the grant never allows ("move money or make payments"). */
  notAllowed: string[]
  /** A shorter period the person may choose (field `{prefix}period`). */
  period?: SelectControl
  /** Fewer unattended reads a day (the dashboard's change form; field `{prefix}max_reads_per_day`). */
  reads?: SelectControl
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
  /** One section per requested detail of a served data type. */
  sections: ConsentSection[]
  /** e.g. "14 Mar 2027". */
  expiresAtText: string
  maxReadsPerDay: number
  /** Other authorization details in the same request, already described in plain words. */
  otherDetails?: Array<{ type: string; lines: string[] }>
  /** Why the last answer was not accepted (e.g. no account ticked), shown in a `role="alert"` box. */
  error?: string
  /** An earlier end the person may choose (field `expires`). */
  expiry?: SelectControl
  /**
   * A change to an existing grant (Grant Management `merge`/`replace`): the change against what is
   * granted now, one line each — "Adds: …", "Removes: …", "Changes: …".
   */
  changes?: string[]
  /** Hidden form fields beside `csrf` (e.g. the version of the grant the change was computed from). */
  hidden?: Record<string, string>
}

/** An accessible select: a visible label, an optional hint, the options. */
export function renderSelect(control: SelectControl, id: string): SafeHtml {
  return html`<div class="field">
<label for="${id}">${control.label}</label>
${control.hint ? html`<p class="hint" id="${id}-hint">${control.hint}</p>` : ''}
<select id="${id}" name="${control.name}"${control.hint ? html` aria-describedby="${id}-hint"` : ''}>
${control.options.map((o) => html`<option value="${o.value}"${o.selected ? html` selected` : ''}>${o.label}</option>`)}
</select>
</div>`
}

/**
 * A detail as a consent section: `items` are the person's scope items (their accounts, stores);
 * `chosen` (optional) is what is ticked now — by default everything offered.
 *
 * @example
 * ```ts
 * const section = consentSection(TRANSACTION_HISTORY_WORDS, detail, {
 *   items: accounts, scopeMember: 'accounts', period: '1 Sep 2026 to 30 Nov 2026', client: 'Beacon Lending',
 * })
 * ```
 */
export function consentSection<D extends AuthorizationDetail>(
  words: DataTypeWords<D>,
  detail: D,
  o: {
    items: ScopeItem[]
    scopeMember?: string
    fieldsMember?: string
    period: string
    client: string
    prefix?: string
    chosen?: { scope?: string[]; fields?: string[]; datatypes?: string[] }
  },
): ConsentSection {
  const datatypes = Array.isArray(detail.datatypes) ? (detail.datatypes as string[]) : []
  const named =
    o.scopeMember && Array.isArray(detail[o.scopeMember]) ? (detail[o.scopeMember] as string[]) : undefined
  const selectable = named ? o.items.filter((a) => named.includes(a.id)) : o.items
  const notOffered = named ? o.items.filter((a) => !selectable.includes(a)).map((a) => a.name) : []
  const asked = detail[o.fieldsMember ?? 'fields']
  const byDatatype = words.fieldsByDatatype
  const open = Array.isArray(asked)
    ? (asked as string[])
    : byDatatype
      ? datatypes.flatMap((d) => byDatatype[d] ?? [])
      : Object.keys(words.fields ?? {})
  const fieldNames = Object.keys(words.fields ?? {}).filter((f) => open.includes(f))
  const tick = (list: string[] | undefined, v: string) => !list || list.includes(v)
  return {
    prefix: o.prefix ?? '',
    title: words.title,
    ...(words.scope && o.scopeMember
      ? {
          scope: {
            ...words.scope,
            named: named !== undefined,
            items: selectable.map((a) => ({
              value: a.id,
              label: a.name,
              ...(a.meta ? { meta: a.meta } : {}),
              checked: tick(o.chosen?.scope, a.id),
            })),
            notOffered,
          },
        }
      : {}),
    lines: words.sees?.(detail, { period: o.period, client: o.client }) ?? [],
    optional: (words.optionalDatatypes ?? [])
      .filter((d) => datatypes.includes(d))
      .map((d) => ({ value: d, label: words.datatypes?.[d] ?? d, checked: tick(o.chosen?.datatypes, d) })),
    ...(fieldNames.length
      ? {
          fields: {
            legend: words.fieldsLegend ?? 'Details',
            items: fieldNames.map((f) => ({
              value: f,
              label: words.fields?.[f] ?? f,
              checked: tick(o.chosen?.fields, f),
            })),
          },
        }
      : {}),
    notAllowed: words.notAllowed ?? [],
  }
}

function hostOf(uri: string): string {
  try {
    return new URL(uri).host
  } catch {
    return uri
  }
}

/**
 * The fieldsets of one section: the scope checkboxes, what is shared (with the datatypes the person
 * may untick), the field checkboxes, and what the grant never allows. Form fields (with the section's
 * prefix): `account` (one per ticked scope item — accounts, stores), `datatype`, `field`.
 */
export function renderDetailControls(section: ConsentSection, clientName: string): SafeHtml {
  const p = section.prefix
  const scope = section.scope
  const scopeFieldset = scope
    ? html`<fieldset>
<legend>${scope.named ? scope.legend : `Choose the ${scope.plural} to share`}</legend>
<p class="hint" id="${p}accounts-hint">${
        scope.hint
          ? scope.hint
          : scope.named
            ? `${clientName} asked for ${scope.items.length === 1 ? `this ${scope.noun}` : `these ${scope.plural}`}. Untick any you don't want to share.`
            : `${clientName} lets you choose. Untick any ${scope.noun} you don't want to share.`
      }</p>
${
  scope.items.length
    ? scope.items.map(
        (a, i) => html`<div class="check">
<input type="checkbox" id="${p}account-${i}" name="${p}account" value="${a.value}"${a.checked ? html` checked` : ''}${a.meta ? html` aria-describedby="${p}account-${i}-meta"` : ''}>
<div><label for="${p}account-${i}">${a.label}</label>${a.meta ? html`<span class="check__meta" id="${p}account-${i}-meta">${a.meta}</span>` : ''}</div>
</div>`,
      )
    : html`<p class="not-offered">None of your ${scope.plural} match this request, so there is nothing to share.</p>`
}
${
  scope.notOffered.length
    ? html`<p class="not-offered">Not included (not requested): ${scope.notOffered.join(', ')}.</p>`
    : ''
}
</fieldset>`
    : ''

  const dataFieldset = html`<fieldset>
<legend>Information</legend>
<ul class="plain-list">
${section.lines.map((l) => html`<li>${l}</li>`)}
</ul>
${section.optional.map(
  (d) => html`<div class="check">
<input type="checkbox" id="${p}datatype-${d.value}" name="${p}datatype" value="${d.value}"${d.checked ? html` checked` : ''}>
<label for="${p}datatype-${d.value}">${d.label}</label>
</div>`,
)}
${section.period ? renderSelect(section.period, `${p}period`) : ''}
${section.reads ? renderSelect(section.reads, `${p}reads`) : ''}
</fieldset>`

  const fieldsFieldset = section.fields
    ? html`<fieldset>
<legend>${section.fields.legend}</legend>
<p class="hint">Untick anything you'd rather not share.</p>
<div class="check-grid">
${section.fields.items.map(
  (f) => html`<div class="check">
<input type="checkbox" id="${p}field-${f.value}" name="${p}field" value="${f.value}"${f.checked ? html` checked` : ''}>
<label for="${p}field-${f.value}">${f.label}</label>
</div>`,
)}
</div>
</fieldset>`
    : ''

  const notAllowed = section.notAllowed.length
    ? html`<div class="cannot"><p class="muted">${clientName} cannot:</p><ul class="plain-list">${section.notAllowed.map((l) => html`<li>${l}</li>`)}</ul></div>`
    : ''
  return html`${scopeFieldset}
${dataFieldset}
${fieldsFieldset}
${notAllowed}`
}

/**
 * The consent page: who asks, why, which accounts (stores…), which data and fields, which period,
 * until when, how often without the person, and how to take it back — with the person able to
 * narrow it, then "Allow" or "Deny" (two submit buttons of one form, field `decision`).
 *
 * Form fields: `csrf`, then per section (see {@link renderDetailControls}) `account`, `field`,
 * `datatype`, and `decision=allow|deny`.
 */
export function renderConsentPage(view: ConsentView): string {
  const { client, theme } = view
  const logo = safeUrl(client.logoUrl, { allowDataImage: true })
  const clientUri = safeUrl(client.uri)
  const initial = client.name.trim().charAt(0).toUpperCase() || '?'
  const several = view.sections.length > 1
  const sections = view.sections.map(
    (s) => html`${several ? html`<h3>${s.title}</h3>` : ''}${renderDetailControls(s, client.name)}`,
  )

  const others = (view.otherDetails ?? []).filter((d) => d.lines.length)

  const body = html`${view.error ? html`<div class="alert alert--error" role="alert">${view.error}</div>` : ''}<form method="post" action="${safeUrl(view.action) ?? ''}">
<input type="hidden" name="csrf" value="${view.csrf}">
${Object.entries(view.hidden ?? {}).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}
<section class="card" aria-labelledby="consent-title">
<div class="requester">
${
  logo
    ? html`<img class="requester__logo" src="${logo}" alt="" width="56" height="56">`
    : html`<span class="requester__initial" aria-hidden="true">${initial}</span>`
}
<div>
<h1 id="consent-title">${
    view.changes
      ? html`<span class="client-name">${client.name}</span> is asking to change what it can see`
      : html`<span class="client-name">${client.name}</span> is asking to see your ${theme.name} information`
  }</h1>
${clientUri ? html`<p class="client-link"><a href="${clientUri}" rel="noopener noreferrer">${hostOf(clientUri)}</a></p>` : ''}
</div>
</div>
<div class="purpose">
<h2 class="section-title">Why</h2>
<p class="purpose__label">${view.purpose.label}</p>
<p class="muted">${view.purpose.description}</p>
</div>
</section>

${
  view.changes
    ? html`<section class="card" aria-labelledby="changes-title">
<h2 class="section-title" id="changes-title">What changes</h2>
<p class="muted">Compared with what ${client.name} can see now:</p>
${
  view.changes.length
    ? html`<ul class="changes">${view.changes.map(
        (l) =>
          html`<li class="${l.startsWith('Adds:') ? 'changes__adds' : l.startsWith('Removes:') ? 'changes__removes' : ''}">${l}</li>`,
      )}</ul>`
    : html`<p>Nothing changes.</p>`
}
</section>`
    : ''
}
<section class="card" aria-labelledby="what-title">
<h2 class="section-title" id="what-title">${view.changes ? `What ${client.name} will see after the change` : `What ${client.name} will see`}</h2>
${sections}
${
  others.length
    ? html`<h3>Also asked</h3>${others.map((d) => html`<ul class="plain-list">${d.lines.map((l) => html`<li>${l}</li>`)}</ul>`)}`
    : ''
}
</section>

<section class="card" aria-labelledby="how-title">
<h2 class="section-title" id="how-title">For how long</h2>
${view.expiry ? renderSelect(view.expiry, 'expires') : ''}
<dl class="facts">
${view.expiry ? '' : html`<div class="fact"><dt>Access until</dt><dd>${view.expiresAtText}</dd></div>`}
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
