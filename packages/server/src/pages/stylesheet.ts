import { DEFAULT_COLORS } from './theme.ts'

/**
 * The pages' only stylesheet (served at `{basePath}/assets/consentry.css`). The pages carry no inline
 * styles and no scripts; the holder's colours come from {@link themeStylesheet} as custom properties.
 */
export const STYLESHEET = `/* Consentry pages */
:root {
  --c-primary: ${DEFAULT_COLORS.primary};
  --c-on-primary: #ffffff;
  --c-bg: ${DEFAULT_COLORS.background};
  --c-text: ${DEFAULT_COLORS.text};
  --c-accent: ${DEFAULT_COLORS.accent};
  --c-surface: #ffffff;
  --c-muted: #4b5567;
  --c-border: #d9dee7;
  --c-soft: #f7f9fc;
  --c-danger: #b42318;
  --c-focus: #f59e0b;
  --radius: 14px;
  --shadow: 0 1px 2px rgb(16 24 40 / 6%), 0 4px 16px rgb(16 24 40 / 6%);
  --font: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif;
  color-scheme: light;
}
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body {
  margin: 0;
  min-height: 100vh;
  display: flex;
  flex-direction: column;
  background: var(--c-bg);
  color: var(--c-text);
  font-family: var(--font);
  font-size: 1rem;
  line-height: 1.55;
}
img { max-width: 100%; }
a { color: var(--c-primary); text-underline-offset: 0.15em; }
a:hover { text-decoration-thickness: 2px; }
:focus-visible { outline: 3px solid var(--c-focus); outline-offset: 2px; border-radius: 4px; }
h1, h2, h3 { line-height: 1.25; margin: 0 0 0.5rem; letter-spacing: -0.01em; }
h1 { font-size: 1.6rem; }
h2 { font-size: 1.15rem; }
h3 { font-size: 1.05rem; }
p { margin: 0 0 0.75rem; }
.visually-hidden {
  position: absolute !important; width: 1px; height: 1px; padding: 0; margin: -1px;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}
.skip-link { position: absolute; left: 0.5rem; top: -3rem; background: var(--c-surface); color: var(--c-primary);
  padding: 0.5rem 0.75rem; border-radius: 8px; z-index: 10; }
.skip-link:focus { top: 0.5rem; }

/* Header and footer */
.site-header { background: var(--c-surface); border-bottom: 1px solid var(--c-border); }
.site-header__inner, .site-footer__inner { max-width: 44rem; margin: 0 auto; padding: 0.85rem 1.25rem;
  display: flex; align-items: center; justify-content: space-between; gap: 0.75rem; flex-wrap: wrap; }
.brand { display: inline-flex; align-items: center; gap: 0.6rem; font-weight: 700; font-size: 1.05rem; color: var(--c-text); }
.brand__logo { width: 32px; height: 32px; object-fit: contain; border-radius: 8px; }
.brand__mark { width: 32px; height: 32px; border-radius: 9px; display: inline-grid; place-items: center;
  background: var(--c-primary); color: var(--c-on-primary); font-size: 1rem; font-weight: 700; }
.who { color: var(--c-muted); font-size: 0.9rem; }
.who strong { color: var(--c-text); font-weight: 600; }
.page { flex: 1; width: 100%; max-width: 44rem; margin: 0 auto; padding: 2rem 1.25rem 3rem; }
.page--narrow { max-width: 28rem; }
.site-footer { color: var(--c-muted); font-size: 0.85rem; }
.site-footer__inner { justify-content: center; text-align: center; padding-bottom: 1.5rem; }
.site-footer p { margin: 0; }

/* Cards */
.card { background: var(--c-surface); border: 1px solid var(--c-border); border-radius: var(--radius);
  box-shadow: var(--shadow); padding: 1.5rem; margin: 0 0 1.25rem; }
.card > :last-child { margin-bottom: 0; }
.card--quiet { box-shadow: none; background: var(--c-soft); }
.section-title { font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.06em; color: var(--c-muted);
  margin: 0 0 0.5rem; font-weight: 700; }
.lead { font-size: 1.05rem; color: var(--c-muted); }
.muted { color: var(--c-muted); }
.small { font-size: 0.9rem; }

/* Request header on the consent page */
.requester { display: flex; gap: 1rem; align-items: flex-start; }
.requester__logo { width: 56px; height: 56px; border-radius: 14px; border: 1px solid var(--c-border);
  object-fit: contain; background: var(--c-surface); flex: none; }
.requester__initial { width: 56px; height: 56px; border-radius: 14px; flex: none; display: grid; place-items: center;
  background: var(--c-accent); color: #ffffff; font-size: 1.5rem; font-weight: 700; }
.requester h1 { font-size: 1.45rem; margin-bottom: 0.35rem; }
.client-name { color: var(--c-text); font-weight: 800; display: block; font-size: 1.7rem; }
.client-link { font-size: 0.9rem; overflow-wrap: anywhere; }

/* Facts lists: label above value, in as many columns as fit */
.facts { margin: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(13rem, 1fr)); gap: 0.9rem 1.5rem; }
.fact { min-width: 0; }
.facts dt { color: var(--c-muted); font-size: 0.85rem; margin-bottom: 0.1rem; }
.facts dd { margin: 0; font-weight: 500; overflow-wrap: anywhere; }
.purpose { margin-top: 1.25rem; padding-top: 1.1rem; border-top: 1px solid var(--c-border); }
.purpose__label { font-weight: 700; font-size: 1.05rem; margin-bottom: 0.25rem; }
.icon { flex: none; margin-top: 0.15rem; }
.plain-list { margin: 0; padding-left: 1.2rem; }
.plain-list li { margin: 0.2rem 0; }
.tag-list { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 0.4rem; }
.tag { display: inline-block; background: var(--c-soft); border: 1px solid var(--c-border); border-radius: 999px;
  padding: 0.1rem 0.6rem; font-size: 0.88rem; }

/* Forms */
form { margin: 0; }
fieldset { border: 1px solid var(--c-border); border-radius: 12px; margin: 0 0 1rem; padding: 0.9rem 1rem 0.6rem; min-width: 0; }
legend { font-weight: 700; padding: 0 0.35rem; }
.hint { color: var(--c-muted); font-size: 0.9rem; margin: 0.1rem 0 0.6rem; }
.check { display: flex; align-items: flex-start; gap: 0.7rem; padding: 0.45rem 0; }
.check input { width: 1.25rem; height: 1.25rem; margin: 0.15rem 0 0; flex: none; accent-color: var(--c-primary); }
.check label { cursor: pointer; }
.check-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(13rem, 1fr)); column-gap: 1rem; }
.check__meta { display: block; color: var(--c-muted); font-size: 0.88rem; }
.not-offered { color: var(--c-muted); font-size: 0.9rem; margin: 0.4rem 0 0; }
.field { margin: 0 0 1rem; }
.field label { display: block; font-weight: 600; margin-bottom: 0.35rem; }
.field input { width: 100%; font: inherit; color: var(--c-text); background: var(--c-surface); padding: 0.7rem 0.85rem;
  border: 1px solid #8a94a6; border-radius: 10px; }
.field input:focus-visible { outline-offset: 1px; border-color: var(--c-primary); }
.field select { width: 100%; font: inherit; color: var(--c-text); background: var(--c-surface); padding: 0.6rem 0.75rem;
  border: 1px solid #8a94a6; border-radius: 10px; min-height: 2.9rem; }
.field select:focus-visible { outline-offset: 1px; border-color: var(--c-primary); }
.changes { list-style: none; margin: 0.5rem 0 0; padding: 0; }
.changes li { padding: 0.55rem 0.8rem; border-radius: 10px; margin: 0 0 0.5rem; border: 1px solid var(--c-border); }
.changes__adds { background: #eff4ff; border-color: #b9cbf5 !important; }
.changes__removes { background: #fef6ee; border-color: #f5c89e !important; }
.expires-soon { color: #8a4b00; font-weight: 600; }
.grant-change { margin: 1.1rem 0 0; }

/* Buttons */
.button, button { font: inherit; font-weight: 650; display: inline-flex; align-items: center; justify-content: center;
  gap: 0.4rem; min-height: 2.9rem; padding: 0.65rem 1.3rem; border-radius: 10px; border: 1px solid transparent;
  cursor: pointer; text-decoration: none; line-height: 1.2; }
.button--primary { background: var(--c-primary); color: var(--c-on-primary); }
.button--primary:hover { filter: brightness(1.08); }
.button--secondary { background: var(--c-surface); color: var(--c-text); border-color: #8a94a6; }
.button--secondary:hover { background: var(--c-soft); }
.button--danger { background: var(--c-danger); color: #ffffff; }
.button--danger:hover { filter: brightness(1.08); }
.button--link { background: none; border: none; color: var(--c-primary); padding: 0.3rem 0.2rem; min-height: 0;
  text-decoration: underline; font-weight: 600; }
.button--block { width: 100%; }
.button--small { min-height: 2.4rem; padding: 0.4rem 1rem; font-size: 0.94rem; }
.actions { display: flex; gap: 0.75rem; flex-wrap: wrap; align-items: center; margin-top: 1.25rem; }
.actions--split > * { flex: 1 1 10rem; }

/* Messages */
.alert { border-radius: 12px; padding: 0.85rem 1rem; margin: 0 0 1.25rem; border: 1px solid; }
.alert--error { background: #fef3f2; border-color: #f4b4ad; color: #8a1c12; }
.alert--success { background: #ecfdf3; border-color: #a6e3bf; color: #11633a; }
.alert--info { background: #eff4ff; border-color: #b9cbf5; color: #1d3f99; }
.reassure { display: flex; gap: 0.6rem; align-items: flex-start; color: var(--c-muted); font-size: 0.92rem; }
.reassure strong { color: var(--c-text); }

/* Badges */
.badge { display: inline-block; font-size: 0.8rem; font-weight: 700; padding: 0.15rem 0.6rem; border-radius: 999px;
  border: 1px solid; white-space: nowrap; }
.badge--active { background: #ecfdf3; color: #11633a; border-color: #a6e3bf; }
.badge--revoked, .badge--denied { background: #fef3f2; color: #8a1c12; border-color: #f4b4ad; }
.badge--expired, .badge--pending { background: #f2f4f7; color: #344054; border-color: #d0d5dd; }

/* Grant cards */
.page-head { display: flex; justify-content: space-between; align-items: center; gap: 1rem; margin-bottom: 0.5rem; }
.page-head h1 { margin: 0; }
.page-head .button, .page-head button { min-height: 2.4rem; padding: 0.4rem 1rem; }
.grant-list { list-style: none; margin: 0 0 2rem; padding: 0; }
section:not(.card) > h2 { margin-top: 1.5rem; }
.grant-card__head { display: flex; justify-content: space-between; align-items: flex-start; gap: 0.75rem; margin-bottom: 0.25rem; }
.grant-card__head h3 { margin: 0; font-size: 1.15rem; }
.grant-card__purpose { color: var(--c-muted); margin-bottom: 1rem; }
.grant-card__foot { margin-top: 1rem; padding-top: 0.9rem; border-top: 1px solid var(--c-border); display: flex;
  justify-content: space-between; align-items: center; gap: 0.75rem; flex-wrap: wrap; }
.empty { text-align: center; padding: 2.5rem 1.5rem; }
.back { display: inline-block; margin-bottom: 1rem; }

/* Tables */
.table-wrap { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; font-size: 0.94rem; }
caption { text-align: left; color: var(--c-muted); font-size: 0.9rem; padding-bottom: 0.5rem; }
th, td { text-align: left; padding: 0.55rem 0.6rem; border-bottom: 1px solid var(--c-border); vertical-align: top; }
th { color: var(--c-muted); font-weight: 600; font-size: 0.85rem; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.timeline { list-style: none; margin: 0; padding: 0; }
.timeline li { position: relative; padding: 0 0 0.9rem 1.4rem; }
.timeline li::before { content: ""; position: absolute; left: 0.2rem; top: 0.45rem; width: 0.55rem; height: 0.55rem;
  border-radius: 50%; background: var(--c-primary); }
.timeline time { display: block; color: var(--c-muted); font-size: 0.85rem; }

@media (max-width: 560px) {
  .page { padding: 1.25rem 1rem 2rem; }
  .card { padding: 1.15rem; border-radius: 12px; }
  .facts { grid-template-columns: 1fr 1fr; gap: 0.8rem 1rem; }
  .actions > *, .actions > form > button { flex: 1 1 100%; width: 100%; }
  /* The access log becomes one small card per read. */
  .table-wrap table, .table-wrap tbody, .table-wrap tr, .table-wrap td { display: block; width: 100%; }
  .table-wrap caption { display: block; width: 100%; }
  .table-wrap thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  .table-wrap tr { border-bottom: 1px solid var(--c-border); padding: 0.5rem 0; }
  .table-wrap td { border: 0; padding: 0.15rem 0; display: flex; justify-content: space-between; gap: 1rem; text-align: right; }
  .table-wrap td::before { content: attr(data-label); color: var(--c-muted); font-size: 0.85rem; text-align: left; }
  .client-name { font-size: 1.45rem; }
  .actions--split { flex-direction: column; align-items: stretch; }
  .actions--split > * { flex: none; width: 100%; }
  h1 { font-size: 1.4rem; }
}
@media (prefers-reduced-motion: reduce) { * { transition: none !important; animation: none !important; } }
@media (forced-colors: active) { .badge, .button, button { border: 1px solid; } }
`
