import { escapeHtml, html, SafeHtml, safeUrl } from './html.ts'
import type { Theme } from './theme.ts'

export { escapeHtml }

export interface LayoutView {
  theme: Theme
  /** The page's own title; the holder's name is appended. */
  title: string
  /** Where `consentry.css` and `theme.css` are served, e.g. `/consents/assets`. */
  assetsUrl: string
  /** The page's main content: trusted markup built by these templates (never raw input). */
  body: SafeHtml | string
  /** The signed-in person's display name, shown in the header. */
  subjectName?: string
  /** A narrower content column (login, messages). */
  narrow?: boolean
}

/** Trim a trailing slash; an unsafe assets URL falls back to a relative `assets`. */
export function assetsBase(assetsUrl: string): string {
  return (safeUrl(assetsUrl) ?? 'assets').replace(/\/+$/, '')
}

/** The holder's brand: its logo (or a letter mark) and name. */
function brand(theme: Theme): SafeHtml {
  const logo = safeUrl(theme.logoUrl, { allowDataImage: true })
  const initial = (theme.name ?? '').trim().charAt(0).toUpperCase() || '•'
  return html`<span class="brand">${
    logo
      ? html`<img class="brand__logo" src="${logo}" alt="" width="32" height="32">`
      : html`<span class="brand__mark" aria-hidden="true">${initial}</span>`
  }<span class="brand__name">${theme.name}</span></span>`
}

/**
 * The document around every page: `lang`, viewport, the two stylesheets, a header with the holder's
 * brand and the signed-in person, a skip link, and a footer. No scripts, no inline styles.
 */
export function renderLayout(view: LayoutView): string {
  const assets = assetsBase(view.assetsUrl)
  const body = view.body instanceof SafeHtml ? view.body : new SafeHtml(String(view.body))
  return `<!doctype html>\n${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<title>${view.title} · ${view.theme.name}</title>
<link rel="stylesheet" href="${assets}/consentry.css">
<link rel="stylesheet" href="${assets}/theme.css">
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<header class="site-header"><div class="site-header__inner">
${brand(view.theme)}
${view.subjectName ? html`<span class="who">Signed in as <strong>${view.subjectName}</strong></span>` : ''}
</div></header>
<main id="main" class="${view.narrow ? 'page page--narrow' : 'page'}">
${body}
</main>
<footer class="site-footer"><div class="site-footer__inner">
<p>${view.theme.name} never shares your password. You decide what is shared, and you can stop it at any time.</p>
</div></footer>
</body>
</html>
`}`
}
