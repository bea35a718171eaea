/** Beacon Lending's one stylesheet (served from /assets/beacon.css; pages carry no inline styles). */

const steps = Array.from({ length: 101 }, (_, i) => i)

export const STYLESHEET = `
:root {
  --navy: #10233d; --navy-2: #1b3557; --teal: #0e7c72; --teal-dark: #0a5f57; --teal-tint: #e6f4f2;
  --bg: #f4f6f9; --card: #ffffff; --line: #e2e7ee; --text: #1d2633; --muted: #5a6575;
  --good: #12703a; --good-tint: #e8f5ec; --bad: #b42318; --bad-tint: #fdecea; --warn-tint: #fff6e0;
  --radius: 12px;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--text);
  font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
a { color: var(--teal-dark); }
a:focus-visible, button:focus-visible { outline: 3px solid #7cc4bc; outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; }
.skip:focus { left: 8px; top: 8px; background: #fff; padding: 8px 12px; z-index: 10; }

header.top { background: var(--navy); color: #fff; }
header.top .inner { max-width: 980px; margin: 0 auto; padding: 14px 24px; display: flex; align-items: center; justify-content: space-between; gap: 16px; }
.brand { display: flex; align-items: center; gap: 10px; color: #fff; text-decoration: none; font-weight: 700; font-size: 19px; letter-spacing: .2px; }
.brand svg { width: 30px; height: 30px; }
.tag { font-size: 13px; color: #b9c7d9; }

main { max-width: 980px; margin: 0 auto; padding: 32px 24px 48px; }
footer.bottom { max-width: 980px; margin: 0 auto; padding: 0 24px 32px; color: var(--muted); font-size: 13px; }

h1 { font-size: 32px; line-height: 1.2; margin: 0 0 12px; color: var(--navy); letter-spacing: -.3px; }
h2 { font-size: 20px; margin: 0 0 14px; color: var(--navy); }
h3 { font-size: 16px; margin: 0 0 6px; color: var(--navy); }
p { margin: 0 0 12px; }
.lead { font-size: 18px; color: #3a4657; max-width: 640px; }
.muted { color: var(--muted); }
.small { font-size: 14px; }

.hero { display: grid; grid-template-columns: 1.25fr 1fr; gap: 32px; align-items: start; margin-bottom: 36px; }
@media (max-width: 820px) { .hero { grid-template-columns: 1fr; } .stats { grid-template-columns: repeat(2, minmax(0, 1fr)) !important; } }

.card { background: var(--card); border: 1px solid var(--line); border-radius: var(--radius); padding: 22px 24px; box-shadow: 0 1px 2px rgba(16, 35, 61, .04); }
.card + .card, .section + .section { margin-top: 20px; }
.section { margin-top: 28px; }

.asks { list-style: none; padding: 0; margin: 0 0 18px; }
.asks li { display: flex; gap: 10px; padding: 9px 0; border-bottom: 1px solid var(--line); }
.asks li:last-child { border-bottom: 0; }
.asks .tick { flex: none; width: 22px; height: 22px; border-radius: 50%; background: var(--teal-tint); color: var(--teal-dark); display: inline-flex; align-items: center; justify-content: center; font-size: 13px; font-weight: 700; margin-top: 1px; }

form.inline { display: inline; margin: 0; }
.button { display: inline-flex; align-items: center; justify-content: center; gap: 8px; border: 0; border-radius: 10px; padding: 13px 22px; font: inherit; font-weight: 650; cursor: pointer; text-decoration: none; }
.button.primary { background: var(--teal); color: #fff; }
.button.primary:hover { background: var(--teal-dark); }
.button.secondary { background: #fff; color: var(--navy); border: 1px solid #c9d2de; }
.button.secondary:hover { background: #f0f3f7; }
.button.danger { background: #fff; color: var(--bad); border: 1px solid #e7b4ae; }
.button.danger:hover { background: var(--bad-tint); }
.button.wide { width: 100%; }
form.share { margin: 0 0 10px; }
.option { font-weight: 650; color: var(--navy); margin: 0 0 4px; display: flex; align-items: center; gap: 8px; }
.badge { background: var(--teal); color: #fff; border-radius: 999px; padding: 1px 10px; font-size: 12px; font-weight: 700; letter-spacing: .3px; text-transform: uppercase; }
.alt { border-top: 1px solid var(--line); margin-top: 16px; padding-top: 14px; }
.source { display: flex; gap: 14px; align-items: flex-start; background: var(--teal-tint); border: 1px solid #b5ddd7; border-radius: var(--radius); padding: 14px 18px; margin: 6px 0 4px; font-size: 15px; color: #134e48; }
.source.history { background: #eef1f5; border-color: var(--line); color: var(--text); }
.source-kind { flex: none; background: var(--teal); color: #fff; border-radius: 999px; padding: 2px 12px; font-size: 13px; font-weight: 700; white-space: nowrap; }
.source.history .source-kind { background: var(--navy-2); }
@media (max-width: 600px) { .source { flex-direction: column; } }
.actions { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; margin-top: 6px; }

.steps { display: grid; grid-template-columns: repeat(3, 1fr); gap: 16px; counter-reset: step; list-style: none; padding: 0; margin: 0; }
@media (max-width: 820px) { .steps { grid-template-columns: 1fr; } }
.steps li { background: var(--card); border: 1px solid var(--line); border-radius: var(--radius); padding: 18px 20px; }
.steps li::before { counter-increment: step; content: counter(step); display: inline-flex; width: 28px; height: 28px; border-radius: 50%; background: var(--navy); color: #fff; font-weight: 700; font-size: 14px; align-items: center; justify-content: center; margin-bottom: 8px; }

.trust { display: flex; gap: 12px; align-items: flex-start; background: var(--teal-tint); border-radius: var(--radius); padding: 14px 18px; margin-top: 18px; font-size: 14px; color: #134e48; }
.trust svg { flex: none; width: 20px; height: 20px; margin-top: 2px; }

.notice { border-radius: var(--radius); padding: 16px 20px; margin-bottom: 22px; border: 1px solid; }
.notice.ok { background: var(--good-tint); border-color: #b7dcc3; }
.notice.warn { background: var(--warn-tint); border-color: #ecd59a; }
.notice.bad { background: var(--bad-tint); border-color: #f1c0ba; }
.notice h2 { margin-bottom: 6px; }
code.code { background: #eef1f5; border-radius: 6px; padding: 2px 6px; font-size: 14px; }

.stats { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 14px; margin: 22px 0 8px; }
.stat { background: var(--card); border: 1px solid var(--line); border-radius: var(--radius); padding: 16px 18px; }
.stat .label { font-size: 13px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: .4px; }
.stat .value { font-size: 24px; font-weight: 700; color: var(--navy); margin-top: 4px; font-variant-numeric: tabular-nums; }
.stat .value.good { color: var(--good); }
.stat .value.bad { color: var(--bad); }
.stat .hint { font-size: 13px; color: var(--muted); margin-top: 2px; }

.verdict { display: flex; gap: 14px; align-items: center; background: var(--navy); color: #fff; border-radius: var(--radius); padding: 18px 22px; margin: 18px 0 4px; }
.verdict > div:first-child { flex: none; }
.verdict strong { font-size: 22px; font-variant-numeric: tabular-nums; white-space: nowrap; }
.verdict .muted { color: #b9c7d9; }

.chart { display: flex; align-items: flex-end; gap: 6px; height: 190px; padding: 8px 4px 0; border-bottom: 1px solid #c9d2de; margin: 6px 0 4px; }
.chart .col { flex: 1; display: flex; flex-direction: column; align-items: center; justify-content: flex-end; height: 100%; min-width: 0; }
.chart .bar { width: 100%; max-width: 42px; background: linear-gradient(180deg, #2a9d8f, var(--teal)); border-radius: 5px 5px 0 0; min-height: 2px; }
.chart .bar.neg { background: var(--bad); }
.chart .bar.partial { background: repeating-linear-gradient(135deg, #7cc4bc 0 6px, #5fb3aa 6px 12px); }
.chart-labels { display: flex; gap: 6px; padding: 0 4px; }
.chart-labels span { flex: 1; text-align: center; font-size: 12px; color: var(--muted); min-width: 0; overflow: hidden; white-space: nowrap; }
${steps.map((i) => `.h${i} { height: ${i}%; }`).join(' ')}

table.months { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 15px; }
table.months th, table.months td { padding: 8px 10px; border-bottom: 1px solid var(--line); text-align: right; }
table.months th:first-child, table.months td:first-child { text-align: left; }
table.months thead th { font-size: 13px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: .3px; }
table.months td.pos { color: var(--good); }
table.months td.neg { color: var(--bad); }
table.months tr.partial td { color: var(--muted); }
.table-wrap { overflow-x: auto; }

dl.shared { display: grid; grid-template-columns: 180px 1fr; gap: 10px 18px; margin: 0; }
dl.shared dt { color: var(--muted); font-weight: 600; font-size: 14px; }
dl.shared dd { margin: 0; }
ul.plain { margin: 0; padding: 0; list-style: none; }
.chips { display: flex; flex-wrap: wrap; gap: 6px; }
.chip { background: #eef1f5; border-radius: 999px; padding: 2px 10px; font-size: 14px; }

.two { display: grid; grid-template-columns: 1fr 1fr; gap: 20px; }
.two > .card + .card { margin-top: 0; }
@media (max-width: 600px) {
  .tag { display: none; }
  h1 { font-size: 26px; }
  .verdict { flex-direction: column; align-items: flex-start; }
  .chart { gap: 3px; }
  .chart-labels { gap: 3px; }
  .chart-labels span { font-size: 10px; }
  main { padding: 24px 16px 40px; }
  table.months { font-size: 13px; }
  table.months th, table.months td { padding: 7px 5px; }
  .card { padding: 18px 16px; }
  .stats { gap: 10px; }
  .stat { padding: 12px 12px; }
  .stat .value { font-size: 19px; }
}
@media (max-width: 820px) { .two { grid-template-columns: 1fr; } dl.shared { grid-template-columns: 1fr; } }
.center { max-width: 620px; margin: 24px auto 0; text-align: left; }
`
