import { html, safeUrl } from './html.ts'
import { LOCK_ICON } from './icons.ts'
import { renderLayout } from './layout.ts'
import type { Theme } from './theme.ts'

export interface LoginView {
  theme: Theme
  assetsUrl: string
  /** Where the form posts. */
  action: string
  csrf: string
  /** The app the person is connecting, when signing in to answer a request. */
  clientName?: string
  /** Shown in a `role="alert"` box, e.g. "That username and password don't match." */
  error?: string
  /** Kept in the username box after a failed attempt. */
  username?: string
}

/** The holder's sign-in page: username, password, "Sign in". */
export function renderLoginPage(view: LoginView): string {
  const body = html`<div class="card">
<h1>Sign in to ${view.theme.name}</h1>
${
  view.clientName
    ? html`<p class="lead">to connect <strong>${view.clientName}</strong>. You'll see exactly what it asks for before anything is shared.</p>`
    : html`<p class="lead">Use your ${view.theme.name} username and password.</p>`
}
${view.error ? html`<div class="alert alert--error" role="alert">${view.error}</div>` : ''}
<form method="post" action="${safeUrl(view.action) ?? ''}">
<input type="hidden" name="csrf" value="${view.csrf}">
<div class="field">
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required value="${view.username ?? ''}"${view.error ? html` aria-invalid="true"` : ''}>
</div>
<div class="field">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${view.error ? html` aria-invalid="true"` : ''}>
</div>
<div class="actions"><button type="submit" class="button button--primary button--block">Sign in</button></div>
</form>
</div>
<p class="reassure small">${LOCK_ICON}<span>You are on ${view.theme.name}'s own page.${view.clientName ? html` ${view.clientName} never sees your password.` : ''}</span></p>`
  return renderLayout({ theme: view.theme, title: 'Sign in', assetsUrl: view.assetsUrl, body, narrow: true })
}
