import { html, safeUrl } from './html.ts'
import { renderLayout } from './layout.ts'
import type { Theme } from './theme.ts'

export interface MessageView {
  theme: Theme
  assetsUrl: string
  /** The page's heading, e.g. "This link has expired". */
  title: string
  /** Plain words for the person; never a stack trace. */
  message: string
  /** The HTTP status the page is served with; 4xx/5xx show a small "Error code". */
  status?: number
  subjectName?: string
  /** An optional way on, e.g. `{ href: '/consents', text: 'Go to Connected apps' }`. */
  link?: { href: string; text: string }
}

/** A calm page for errors and notices. */
export function renderMessagePage(view: MessageView): string {
  const href = view.link ? safeUrl(view.link.href) : undefined
  const isError = typeof view.status === 'number' && view.status >= 400
  const body = html`<div class="card">
<h1>${view.title}</h1>
<p>${view.message}</p>
${isError ? html`<p class="muted small">Error code ${String(Math.trunc(view.status!))}</p>` : ''}
${view.link && href ? html`<div class="actions"><a class="button button--primary" href="${href}">${view.link.text}</a></div>` : ''}
</div>`
  return renderLayout({
    theme: view.theme,
    title: view.title,
    assetsUrl: view.assetsUrl,
    body,
    subjectName: view.subjectName,
    narrow: true,
  })
}
