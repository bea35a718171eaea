import type { SelectControl } from '../grants/choices.ts'
import { type ConsentSection, renderDetailControls, renderSelect } from './consent.ts'
import { html, safeUrl } from './html.ts'
import { renderLayout } from './layout.ts'
import type { Theme } from './theme.ts'

export interface ChangeFormView {
  theme: Theme
  assetsUrl: string
  subjectName: string
  csrf: string
  clientName: string
  /** Where the form posts. */
  action: string
  /** Back to the grant's page. */
  cancelUrl: string
  /** The version of the grant the form shows (sent back as `grant_version`). */
  version: string
  /** One section per data-typed detail of the grant, everything granted ticked. */
  sections: ConsentSection[]
  /** An earlier end (field `expires`). */
  expiry: SelectControl
  /** Why the last answer was not accepted, in a `role="alert"` box. */
  error?: string
}

/**
 * "Change what <app> can see": the consent page's controls over what is granted now — untick scope
 * items (accounts, stores), optional datatypes and fields; choose a shorter period, an earlier end,
 * fewer reads a day — and "Save changes". It only ever narrows: the options offer nothing wider.
 *
 * Form fields: `csrf`, `grant_version`, per section `account`, `datatype`, `field`, `period`,
 * `max_reads_per_day` (prefixed `1.`, `2.` … for later sections), and `expires`.
 */
export function renderChangeForm(view: ChangeFormView): string {
  const several = view.sections.length > 1
  const body = html`<a class="back" href="${safeUrl(view.cancelUrl) ?? '#'}">← ${view.clientName}</a>
${view.error ? html`<div class="alert alert--error" role="alert">${view.error}</div>` : ''}
<form method="post" action="${safeUrl(view.action) ?? ''}">
<input type="hidden" name="csrf" value="${view.csrf}">
<input type="hidden" name="grant_version" value="${view.version}">
<section class="card" aria-labelledby="change-title">
<h1 id="change-title">Change what ${view.clientName} can see</h1>
<p class="muted">You can share less at any time: untick what you want to stop sharing, or choose a shorter period or an earlier end. ${view.clientName} is told, and from its next request it only gets what is left. To share more, ${view.clientName} has to ask you.</p>
${view.sections.map((s) => html`${several ? html`<h2>${s.title}</h2>` : ''}${renderDetailControls(s, view.clientName)}`)}
</section>
<section class="card" aria-labelledby="how-title">
<h2 class="section-title" id="how-title">For how long</h2>
${renderSelect(view.expiry, 'expires')}
</section>
<div class="actions">
<button type="submit" class="button button--primary">Save changes</button>
<a class="button button--secondary" href="${safeUrl(view.cancelUrl) ?? '#'}">Cancel</a>
</div>
</form>`
  return renderLayout({
    theme: view.theme,
    title: `Change what ${view.clientName} can see`,
    assetsUrl: view.assetsUrl,
    body,
    subjectName: view.subjectName,
  })
}
