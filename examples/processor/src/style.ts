/** Tidewater Payments' one stylesheet (served from /assets/tidewater.css; pages carry no inline styles). */

export const STYLESHEET = `
:root {
  --ink: #0b2540; --ink-2: #12355b; --sea: #0e7490; --sea-dark: #0b5c73; --sea-tint: #e3f4f8;
  --bg: #f3f6f8; --card: #ffffff; --line: #dfe6ec; --text: #17222e; --muted: #566474;
  --good: #11693a; --good-tint: #e7f5ec; --bad: #b3261e; --bad-tint: #fdecea; --warn-tint: #fff6e0;
  --sun: #fcd34d; --radius: 12px;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--text);
  font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
a { color: var(--sea-dark); }
a:focus-visible, button:focus-visible { outline: 3px solid #67c6dc; outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; }
.skip:focus { left: 8px; top: 8px; background: #fff; padding: 8px 12px; z-index: 10; }

header.top { background: linear-gradient(90deg, var(--ink), var(--ink-2)); color: #fff; }
header.top .inner { max-width: 1040px; margin: 0 auto; padding: 14px 24px; display: flex; align-items: center; justify-content: space-between; gap: 16px; }
.brand { display: flex; align-items: center; gap: 10px; color: #fff; text-decoration: none; font-weight: 700; font-size: 19px; letter-spacing: .2px; }
.brand svg { width: 30px; height: 30px; }
.tag { font-size: 13px; color: #a9c1d6; }

main { max-width: 1040px; margin: 0 auto; padding: 32px 24px 48px; }
footer.bottom { max-width: 1040px; margin: 0 auto; padding: 0 24px 32px; color: var(--muted); font-size: 13px; }

h1 { font-size: 32px; line-height: 1.2; margin: 0 0 12px; color: var(--ink); letter-spacing: -.3px; }
h2 { font-size: 20px; margin: 0 0 14px; color: var(--ink); }
h3 { font-size: 16px; margin: 0 0 8px; color: var(--ink); }
p { margin: 0 0 12px; }
.lead { font-size: 18px; color: #36475a; max-width: 680px; }
.muted { color: var(--muted); }
.small { font-size: 14px; }
.strong { font-weight: 700; }

.hero { display: grid; grid-template-columns: 1.25fr 1fr; gap: 32px; align-items: start; margin-bottom: 36px; }
@media (max-width: 860px) { .hero { grid-template-columns: 1fr; } }

.card { background: var(--card); border: 1px solid var(--line); border-radius: var(--radius); padding: 22px 24px; box-shadow: 0 1px 2px rgba(11, 37, 64, .05); }
.section { margin-top: 24px; }

.asks { list-style: none; padding: 0; margin: 0 0 18px; }
.asks li { display: flex; gap: 10px; padding: 9px 0; border-bottom: 1px solid var(--line); }
.asks li:last-child { border-bottom: 0; }
.asks .tick { flex: none; width: 22px; height: 22px; border-radius: 50%; background: var(--sea-tint); color: var(--sea-dark); display: inline-flex; align-items: center; justify-content: center; font-size: 13px; font-weight: 700; margin-top: 1px; }

form.inline { display: inline; margin: 0; }
.button { display: inline-flex; align-items: center; justify-content: center; gap: 8px; border: 0; border-radius: 10px; padding: 13px 22px; font: inherit; font-weight: 650; cursor: pointer; text-decoration: none; }
.button.primary { background: var(--sea); color: #fff; }
.button.primary:hover { background: var(--sea-dark); }
.button.secondary { background: #fff; color: var(--ink); border: 1px solid #c6d1dc; }
.button.secondary:hover { background: #eef2f6; }
.button.danger { background: #fff; color: var(--bad); border: 1px solid #e7b4ae; }
.button.danger:hover { background: var(--bad-tint); }
.button.wide { width: 100%; }
.actions { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; margin-top: 6px; }

.steps { display: grid; grid-template-columns: repeat(3, 1fr); gap: 16px; counter-reset: step; list-style: none; padding: 0; margin: 0; }
@media (max-width: 860px) { .steps { grid-template-columns: 1fr; } }
.steps li { background: var(--card); border: 1px solid var(--line); border-radius: var(--radius); padding: 18px 20px; }
.steps li::before { counter-increment: step; content: counter(step); display: inline-flex; width: 28px; height: 28px; border-radius: 50%; background: var(--ink); color: #fff; font-weight: 700; font-size: 14px; align-items: center; justify-content: center; margin-bottom: 8px; }

.trust { display: flex; gap: 12px; align-items: flex-start; background: var(--sea-tint); border-radius: var(--radius); padding: 14px 18px; margin-top: 18px; font-size: 14px; color: #0f4454; }
.trust svg { flex: none; width: 20px; height: 20px; margin-top: 2px; }

.notice { border-radius: var(--radius); padding: 16px 20px; margin-bottom: 20px; border: 1px solid; }
.notice.ok { background: var(--good-tint); border-color: #b5dbc2; }
.notice.warn { background: var(--warn-tint); border-color: #ecd59a; }
.notice.bad { background: var(--bad-tint); border-color: #f0bdb7; }
.notice h2 { margin-bottom: 6px; }
.notice p:last-child, .notice ul:last-child { margin-bottom: 0; }
.notice ul.plain li { padding: 2px 0; }
code, code.code { background: #eef2f6; border-radius: 6px; padding: 1px 6px; font-size: 13px; }
.badge { display: inline-block; border-radius: 999px; padding: 3px 12px; font-size: 13px; font-weight: 700; letter-spacing: .3px; text-transform: uppercase; }
.badge.warn { background: #fde7b0; color: #6b4a00; }
.badge.ok { background: #c9ead4; color: var(--good); }
.badge.bad { background: #f7cdc8; color: var(--bad); }

.store-head { display: flex; flex-wrap: wrap; align-items: center; gap: 10px; margin-bottom: 16px; }
.store-head h2 { margin: 0 6px 0 0; }
.chip { background: #eef2f6; border-radius: 999px; padding: 2px 10px; font-size: 13px; font-weight: 600; color: #314255; }
.chip.ok { background: var(--good-tint); color: var(--good); }
.chip.bad { background: var(--bad-tint); color: var(--bad); }
.chips { display: flex; flex-wrap: wrap; gap: 6px; }

.payout-row { display: grid; grid-template-columns: 1.4fr 1fr 1fr; gap: 14px; margin-bottom: 20px; }
@media (max-width: 860px) { .payout-row { grid-template-columns: 1fr; } }
.upcoming { background: linear-gradient(135deg, var(--ink), var(--sea-dark)); color: #fff; border-radius: var(--radius); padding: 18px 20px; }
.upcoming .label { font-size: 13px; font-weight: 600; text-transform: uppercase; letter-spacing: .4px; color: #bfe3ee; }
.upcoming .value { font-size: 32px; font-weight: 750; margin-top: 4px; font-variant-numeric: tabular-nums; }
.upcoming .when { font-size: 16px; font-weight: 600; color: var(--sun); }
.upcoming .hint { font-size: 13px; color: #cfe4ee; margin-top: 6px; }
.stat { background: #f8fafb; border: 1px solid var(--line); border-radius: var(--radius); padding: 16px 18px; }
.stat .label { font-size: 13px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: .4px; }
.stat .value { font-size: 24px; font-weight: 700; color: var(--ink); margin-top: 4px; font-variant-numeric: tabular-nums; }
.stat .hint { font-size: 13px; color: var(--muted); margin-top: 2px; }

table.settlements { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 15px; }
table.settlements th, table.settlements td { padding: 9px 10px; border-bottom: 1px solid var(--line); text-align: right; vertical-align: top; white-space: nowrap; }
table.settlements tr.detail > td { white-space: normal; }
table.settlements th:first-child, table.settlements td:first-child,
table.settlements th:nth-child(2), table.settlements td:nth-child(2) { text-align: left; }
table.settlements th:last-child, table.settlements td:last-child { text-align: left; white-space: nowrap; }
table.settlements thead th { font-size: 12px; color: var(--muted); font-weight: 650; text-transform: uppercase; letter-spacing: .3px; }
table.settlements .sub { display: block; font-size: 12px; color: var(--muted); }
table.settlements tr.mismatch > td { background: #fff5f4; }
table.settlements tr.mismatch:not(.detail) > td { border-bottom: 0; }
table.settlements tr.detail > td { text-align: left; padding-top: 0; font-size: 14px; color: #5d1a14; }
table.settlements tr.detail.unchecked > td { color: var(--muted); }
table.settlements tr.unchecked:not(.detail) > td { border-bottom: 0; }
ul.findings { margin: 0 0 6px; padding-left: 18px; }
.check { font-weight: 650; font-size: 14px; }
.check.ok { color: var(--good); }
.check.bad { color: var(--bad); }
.pill { display: inline-block; background: #fff3c4; color: #6b4a00; border-radius: 999px; padding: 0 8px; font-size: 12px; font-weight: 600; }
.table-wrap { overflow-x: auto; }

dl.shared { display: grid; grid-template-columns: 140px 1fr; gap: 10px 18px; margin: 0; }
dl.shared dt { color: var(--muted); font-weight: 600; font-size: 14px; }
dl.shared dd { margin: 0; }
ul.plain { margin: 0; padding: 0; list-style: none; }

.two { display: grid; grid-template-columns: 1fr 1fr; gap: 20px; }
@media (max-width: 860px) { .two { grid-template-columns: 1fr; } dl.shared { grid-template-columns: 1fr; } }
@media (max-width: 700px) {
  /* The settlements table becomes one card per settlement, each value with its label. */
  table.settlements, table.settlements tbody, table.settlements tr, table.settlements td { display: block; width: 100%; }
  table.settlements thead { position: absolute; left: -9999px; }
  table.settlements tr { border: 1px solid var(--line); border-radius: 10px; padding: 6px 12px; margin-bottom: 10px; }
  table.settlements tr.mismatch:not(.detail) { border-bottom: 0; border-radius: 10px 10px 0 0; margin-bottom: 0; }
  table.settlements tr.detail { border-top: 0; border-radius: 0 0 10px 10px; }
  table.settlements tr.mismatch { background: #fff5f4; }
  table.settlements td, table.settlements td:nth-child(2), table.settlements td:first-child, table.settlements td:last-child { display: flex; justify-content: space-between; gap: 12px; text-align: right; border-bottom: 0; padding: 4px 0; }
  table.settlements td::before { content: attr(data-label); color: var(--muted); font-size: 13px; font-weight: 600; text-align: left; }
  table.settlements tr.detail > td { display: block; padding: 6px 0; }
  table.settlements tr.detail > td::before { content: none; }
  table.settlements .sub { display: inline; margin-left: 6px; }
}
@media (max-width: 600px) {
  .tag { display: none; }
  h1 { font-size: 26px; }
  main { padding: 24px 16px 40px; }
  .card { padding: 18px 16px; }
}
.center { max-width: 640px; margin: 24px auto 0; text-align: left; }
`
