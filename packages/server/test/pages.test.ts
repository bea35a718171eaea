import { TRANSACTION_FIELDS } from '@consentry/core'
import { describe, expect, it } from 'vitest'
import {
  contrastRatio,
  DEFAULT_COLORS,
  escapeHtml,
  FIELD_LABELS,
  html,
  readableOn,
  renderLayout,
  renderLoginPage,
  renderMessagePage,
  renderRevokeConfirm,
  STYLESHEET,
  safeUrl,
  type Theme,
  themeStylesheet,
} from '../src/pages/index.ts'
import {
  type ThConsentView as ConsentView,
  renderConsentPage,
  renderDashboard,
  renderGrantDetail,
} from './th-views.ts'

const EVIL = `<script>alert(1)</script>"><img src=x onerror=alert(2)>'\`&`
const theme: Theme = { name: 'Harbor Pay' }
const base = { theme, assetsUrl: '/consents/assets', csrf: 'tok"en<' }

function consentView(over: Partial<ConsentView> = {}): ConsentView {
  return {
    ...base,
    action: '/authorize/consent',
    subjectName: 'Alice Martin',
    client: { name: 'Beacon Lending', uri: 'https://beacon.example' },
    purpose: { id: 'credit_assessment', label: 'Assess a loan', description: 'To decide on your loan.' },
    request: {
      type: 'transaction_history',
      datatypes: ['accounts', 'balances', 'transactions'],
      fields: ['amount', 'booked_at', 'category'],
      accounts: ['acc_w'],
      period: { lookback_days: 90 },
      purpose: 'credit_assessment',
      expires_in: 86400 * 30,
      max_reads_per_day: 4,
    },
    accounts: [
      { id: 'acc_w', name: 'Everyday Wallet', type: 'wallet', currency: 'EUR', requested: true },
      { id: 'acc_s', name: 'Rainy Day Savings', type: 'savings', currency: 'EUR', requested: false },
    ],
    periodText: 'the last 90 days, rolling',
    expiresAtText: '14 Mar 2027',
    maxReadsPerDay: 4,
    ...over,
  }
}

const grant = {
  id: 'g1',
  clientName: 'Beacon Lending',
  purposeLabel: 'Assess a loan',
  status: 'active',
  accountNames: ['Everyday Wallet'],
  datatypes: ['accounts', 'transactions'],
  fields: ['booked_at', 'counterparty', 'balance_after'],
  periodText: '1 Sep 2026 to 30 Nov 2026',
  grantedOn: '1 Dec 2026',
  expiresOn: '1 Jan 2027',
  readsLast30Days: 3,
  detailUrl: '/consents/g1',
}

/** Every render function fed hostile text in every string slot. */
function hostilePages(): Record<string, string> {
  const t: Theme = {
    name: EVIL,
    logoUrl: 'javascript:alert(1)',
    colors: { primary: 'red;}</style><script>' },
  }
  const evilGrant = {
    ...grant,
    clientName: EVIL,
    purposeLabel: EVIL,
    accountNames: [EVIL],
    periodText: EVIL,
    grantedOn: EVIL,
    expiresOn: EVIL,
    lastRead: EVIL,
    detailUrl: 'javascript:alert(1)',
  }
  return {
    layout: renderLayout({
      theme: t,
      title: EVIL,
      assetsUrl: EVIL,
      body: html`<p>${EVIL}</p>`,
      subjectName: EVIL,
    }),
    login: renderLoginPage({
      theme: t,
      assetsUrl: '/a',
      action: EVIL,
      csrf: EVIL,
      clientName: EVIL,
      error: EVIL,
      username: EVIL,
    }),
    consent: renderConsentPage(
      consentView({
        theme: t,
        csrf: EVIL,
        action: 'javascript:alert(1)',
        subjectName: EVIL,
        client: { name: EVIL, uri: 'javascript:alert(1)', logoUrl: 'javascript:alert(1)' },
        purpose: { id: EVIL, label: EVIL, description: EVIL },
        request: { ...consentView().request, accounts: undefined },
        accounts: [{ id: EVIL, name: EVIL, type: EVIL, currency: EVIL, requested: true }],
        periodText: EVIL,
        expiresAtText: EVIL,
        otherDetails: [{ type: EVIL, lines: [EVIL] }],
      }),
    ),
    dashboard: renderDashboard({
      ...base,
      theme: t,
      csrf: EVIL,
      subjectName: EVIL,
      signOutAction: EVIL,
      flash: EVIL,
      grants: [evilGrant, { ...evilGrant, status: EVIL }],
    }),
    detail: renderGrantDetail({
      ...base,
      theme: t,
      subjectName: EVIL,
      flash: EVIL,
      grant: evilGrant,
      accessLog: [{ at: EVIL, accountName: EVIL, period: EVIL, records: 3 }],
      history: [{ at: EVIL, text: EVIL }],
      receiptUrl: 'javascript:alert(1)',
      revokeUrl: `/consents/g1/revoke?x=${encodeURIComponent(EVIL)}`,
      backUrl: 'javascript:alert(1)',
    }),
    revoke: renderRevokeConfirm({
      ...base,
      theme: t,
      csrf: EVIL,
      subjectName: EVIL,
      clientName: EVIL,
      action: EVIL,
      cancelUrl: 'javascript:alert(1)',
      accountNames: [EVIL],
    }),
    message: renderMessagePage({
      theme: t,
      assetsUrl: '/a',
      title: EVIL,
      message: EVIL,
      status: 400,
      link: { href: 'javascript:x', text: EVIL },
    }),
  }
}

/** Every tag in the document, for checking attributes and elements. */
const tags = (page: string) => page.match(/<[a-zA-Z][^>]*>/g) ?? []

describe('escapeHtml', () => {
  it('escapes the HTML-significant characters for text and quoted attributes', () => {
    expect(escapeHtml(`<a href="x" title='y'>&\`</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&#96;&lt;/a&gt;',
    )
    expect(escapeHtml(undefined)).toBe('')
    expect(escapeHtml(42)).toBe('42')
  })

  it('html`` escapes interpolations but not nested fragments', () => {
    expect(html`<p>${'<b>'}${html`<i>${'&'}</i>`}${['<', html`<br>`]}${null}${false}</p>`.toString()).toBe(
      '<p>&lt;b&gt;<i>&amp;</i>&lt;<br></p>',
    )
  })

  it('safeUrl admits http(s) and relative references only', () => {
    expect(safeUrl('https://a.example/x?y=1')).toBe('https://a.example/x?y=1')
    expect(safeUrl('/consents/g1')).toBe('/consents/g1')
    expect(safeUrl('.')).toBe('.')
    for (const bad of [
      'javascript:alert(1)',
      'JaVaScRiPt:x',
      ' javascript:x',
      'java\tscript:x',
      '//evil.example',
      'data:text/html,x',
      'vbscript:x',
    ])
      expect(safeUrl(bad), bad).toBeUndefined()
    expect(safeUrl('data:image/png;base64,AAAA')).toBeUndefined()
    expect(safeUrl('data:image/png;base64,AAAA', { allowDataImage: true })).toBe('data:image/png;base64,AAAA')
  })
})

describe('hostile input in every page', () => {
  const pages = hostilePages()
  for (const [name, page] of Object.entries(pages)) {
    it(`${name}: nothing unescaped, no script, no inline style, no javascript: URL`, () => {
      expect(page).not.toMatch(/<script/i)
      expect(page).not.toMatch(/<img src=x/i)
      expect(page).not.toMatch(/ style=/i)
      expect(page).not.toMatch(/<style/i)
      expect(page).not.toMatch(/javascript:/i)
      expect(page).not.toContain(EVIL)
      // Every tag's attributes are well-formed name="value" pairs: no attribute was broken out of.
      for (const tag of tags(page)) {
        expect(tag.replace(/"[^"]*"/g, '""'), tag).not.toMatch(/\son[a-z]+=/i)
        const attrs = tag.replace(/^<[a-zA-Z0-9-]+/, '').replace(/\/?>$/, '')
        expect(attrs, tag).toMatch(/^(\s+[a-zA-Z-]+(="[^"]*")?)*\s*$/)
      }
      // The hostile text is there, escaped.
      expect(page).toContain(
        '&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;&#39;&#96;&amp;',
      )
    })
  }
})

describe('layout', () => {
  const page = renderLayout({
    theme,
    title: 'T',
    assetsUrl: '/consents/assets/',
    body: html`<p>x</p>`,
    subjectName: 'Alice',
  })
  it('is an accessible, responsive document linking both stylesheets', () => {
    expect(page.startsWith('<!doctype html>')).toBe(true)
    expect(page).toContain('<html lang="en">')
    expect(page).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">')
    expect(page).toContain('<link rel="stylesheet" href="/consents/assets/consentry.css">')
    expect(page).toContain('<link rel="stylesheet" href="/consents/assets/theme.css">')
    expect(page).toContain('<title>T · Harbor Pay</title>')
    expect(page).toContain('Signed in as <strong>Alice</strong>')
    expect(page).toContain('<main id="main"')
  })
})

describe('login page', () => {
  const page = renderLoginPage({
    ...base,
    action: '/login',
    clientName: 'Beacon Lending',
    error: 'Wrong password',
    username: 'alice',
  })
  it('has labelled Username and Password, a hidden csrf, "Sign in", the context and an alert', () => {
    expect(page).toMatch(/<form method="post" action="\/login">/)
    expect(page).toContain('<input type="hidden" name="csrf" value="tok&quot;en&lt;">')
    expect(page).toContain('<label for="username">Username</label>')
    expect(page).toMatch(/<input id="username" name="username"[^>]*value="alice"/)
    expect(page).toContain('<label for="password">Password</label>')
    expect(page).toMatch(/<input id="password" name="password" type="password"/)
    expect(page).toMatch(/<button type="submit"[^>]*>Sign in<\/button>/)
    expect(page).toContain('to connect <strong>Beacon Lending</strong>')
    expect(page).toContain('role="alert">Wrong password</div>')
    expect(page.match(/<h1/g)).toHaveLength(1)
  })
  it('shows no alert without an error', () => {
    expect(renderLoginPage({ ...base, action: '/login' })).not.toContain('role="alert"')
  })
})

describe('consent page', () => {
  it('says who, why, what, which period, until when, how often, and how to revoke', () => {
    const page = renderConsentPage(consentView())
    expect(page).toMatch(/Beacon Lending<\/span> is asking to see/)
    expect(page).toContain('Assess a loan')
    expect(page).toContain('To decide on your loan.')
    expect(page).toContain('the last 90 days, rolling')
    expect(page).toContain('14 Mar 2027')
    expect(page).toContain('at most 4 times a day without you')
    expect(page).toContain('revoke this at any time')
    expect(page).toContain('Connected apps')
    expect(page.match(/<h1/g)).toHaveLength(1)
  })

  it('offers only requested accounts, checked', () => {
    const page = renderConsentPage(consentView())
    expect(page).toMatch(/<input type="checkbox" id="account-0" name="account" value="acc_w" checked/)
    expect(page).toContain('<label for="account-0">Everyday Wallet</label>')
    expect(page).not.toContain('value="acc_s"')
    expect(page).toContain('Not included (not requested): Rainy Day Savings')
    expect(page.match(/name="account"/g)).toHaveLength(1)
  })

  it('does not offer an account the request did not name even if marked requested', () => {
    const page = renderConsentPage(
      consentView({
        accounts: [{ id: 'acc_x', name: 'X', type: 'wallet', currency: 'EUR', requested: true }],
      }),
    )
    expect(page).not.toContain('name="account"')
  })

  it('lets the person choose among all accounts when the request names none', () => {
    const page = renderConsentPage(
      consentView({
        request: { ...consentView().request, accounts: undefined },
        accounts: consentView().accounts.map((a) => ({ ...a, requested: false })),
      }),
    )
    expect(page).toContain('Choose the accounts to share')
    expect(page).toMatch(/name="account" value="acc_w" checked/)
    expect(page).toMatch(/name="account" value="acc_s" checked/)
  })

  it('shows one checked box per requested field, in plain words, and nothing else', () => {
    const page = renderConsentPage(consentView())
    const values = [...page.matchAll(/name="field" value="([a-z_]+)" checked/g)].map((m) => m[1])
    expect(values).toEqual(['booked_at', 'amount', 'category'])
    expect(page).toContain('<label for="field-booked_at">Date</label>')
    expect(page).toContain('<label for="field-amount">Amount</label>')
    expect(page).toContain('<label for="field-category">Category</label>')
    expect(page).not.toContain('Running balance')
    const all = renderConsentPage(
      consentView({ request: { ...consentView().request, fields: [...TRANSACTION_FIELDS] } }),
    )
    for (const f of TRANSACTION_FIELDS)
      expect(all).toContain(`<label for="field-${f}">${escapeHtml(FIELD_LABELS[f])}</label>`)
    expect(FIELD_LABELS.counterparty).toBe('Who paid or was paid')
    expect(FIELD_LABELS.balance_after).toBe('Running balance')
  })

  it('offers balances only when asked', () => {
    expect(renderConsentPage(consentView())).toMatch(/name="datatype" value="balances" checked/)
    const noBalances = renderConsentPage(
      consentView({ request: { ...consentView().request, datatypes: ['accounts', 'transactions'] } }),
    )
    expect(noBalances).not.toContain('value="balances"')
  })

  it('has a hidden csrf and Allow before Deny in one form', () => {
    const page = renderConsentPage(consentView())
    expect(page.match(/<form /g)).toHaveLength(1)
    expect(page).toContain('<input type="hidden" name="csrf" value="tok&quot;en&lt;">')
    const allow = page.search(/<button type="submit" name="decision" value="allow"[^>]*>Allow<\/button>/)
    const deny = page.search(/<button type="submit" name="decision" value="deny"[^>]*>Deny<\/button>/)
    expect(allow).toBeGreaterThan(0)
    expect(deny).toBeGreaterThan(allow)
  })

  it('words the frequency for once a day and never', () => {
    expect(renderConsentPage(consentView({ maxReadsPerDay: 1 }))).toContain('at most once a day without you')
    expect(renderConsentPage(consentView({ maxReadsPerDay: 0 }))).toContain(
      'may only read while you are using it',
    )
  })

  it('groups checkboxes in fieldsets with legends', () => {
    const page = renderConsentPage(consentView())
    expect(page.match(/<fieldset>/g)?.length).toBe(page.match(/<legend>/g)?.length)
    expect(page.match(/<fieldset>/g)?.length).toBeGreaterThanOrEqual(3)
  })
})

describe('dashboard', () => {
  const revoked = { ...grant, id: 'g2', clientName: 'Old App', status: 'revoked' }
  const page = renderDashboard({
    ...base,
    subjectName: 'Alice',
    signOutAction: '/logout',
    flash: 'Access revoked.',
    grants: [revoked, grant],
  })
  it('lists active grants first, then history, with all the facts', () => {
    expect(page).toContain('<h1>Connected apps</h1>')
    expect(page.indexOf('Beacon Lending')).toBeLessThan(page.indexOf('Old App'))
    expect(page.indexOf('>History<')).toBeLessThan(page.indexOf('Old App'))
    expect(page).toContain('>Active</span>')
    expect(page).toContain('>Revoked</span>')
    expect(page).toContain('Date, Who paid or was paid, Running balance')
    expect(page).toContain('Never')
    expect(page).toContain('1 Sep 2026 to 30 Nov 2026')
    expect(page).toMatch(/href="\/consents\/g1"[^>]*>Details<\/a>/)
    expect(page).toContain('role="status">Access revoked.</div>')
    expect(page).toMatch(
      /<form method="post" action="\/logout">\s*<input type="hidden" name="csrf"[^>]*>\s*<button[^>]*>Sign out<\/button>/,
    )
  })
  it('has an empty state', () => {
    const empty = renderDashboard({ ...base, subjectName: 'A', signOutAction: '/logout', grants: [] })
    expect(empty).toContain('No connected apps')
  })
})

describe('grant detail and revoke confirmation', () => {
  const view = {
    ...base,
    subjectName: 'Alice',
    grant: { ...grant, lastRead: '2 Dec 2026, 09:00' },
    accessLog: [
      {
        at: '2 Dec 2026, 09:00',
        accountName: 'Everyday Wallet',
        period: '1 Sep 2026 to 30 Nov 2026',
        records: 42,
      },
    ],
    history: [{ at: '1 Dec 2026', text: 'You allowed Beacon Lending.' }],
    receiptUrl: '/consents/g1/receipt',
    revokeUrl: '/consents/g1/revoke?step=confirm',
    backUrl: '/consents',
  }
  it('shows the facts, an access log table, history, receipt and Revoke', () => {
    const page = renderGrantDetail(view)
    expect(page).toContain('<caption>')
    for (const h of ['When', 'Account', 'Period', 'Records'])
      expect(page).toMatch(new RegExp(`<th scope="col"[^>]*>${h}</th>`))
    expect(page).toMatch(/<td[^>]*>42<\/td>/)
    expect(page).toContain('You allowed Beacon Lending.')
    expect(page).toMatch(/href="\/consents\/g1\/receipt"[^>]*>Download receipt<\/a>/)
    expect(page).toMatch(
      /<form method="get" action="\/consents\/g1\/revoke">\s*<input type="hidden" name="step" value="confirm">\s*<button[^>]*>Revoke<\/button>/,
    )
    expect(page.match(/<h1/g)).toHaveLength(1)
  })
  it('offers no Revoke when not active', () => {
    const page = renderGrantDetail({ ...view, grant: { ...view.grant, status: 'revoked' } })
    expect(page).not.toContain('>Revoke<')
    expect(page).toContain('>Revoked</span>')
  })
  it('confirms with a POST "Revoke access" and a Cancel link', () => {
    const page = renderRevokeConfirm({
      ...base,
      subjectName: 'Alice',
      clientName: 'Beacon Lending',
      action: '/consents/g1/revoke',
      cancelUrl: '/consents/g1',
    })
    expect(page).toContain('Revoke Beacon Lending?')
    expect(page).toContain('Beacon Lending will immediately lose access')
    expect(page).toMatch(
      /<form method="post" action="\/consents\/g1\/revoke">\s*<input type="hidden" name="csrf"/,
    )
    expect(page).toMatch(/<button type="submit"[^>]*>Revoke access<\/button>/)
    expect(page).toMatch(/href="\/consents\/g1">Cancel<\/a>/)
  })
})

describe('message page', () => {
  it('shows the title and message, escaped, and the status code', () => {
    const page = renderMessagePage({
      ...base,
      title: 'This link has expired',
      message: 'Start again <here>',
      status: 410,
    })
    expect(page).toContain('<h1>This link has expired</h1>')
    expect(page).toContain('Start again &lt;here&gt;')
    expect(page).toContain('Error code 410')
  })
})

describe('theme', () => {
  it('emits only strictly valid hex colours', () => {
    expect(
      themeStylesheet({
        name: 'x',
        colors: { primary: '#0B5394', background: '#fff', text: '#123', accent: '#abcdef' },
      }),
    ).toBe(
      ':root{--c-primary:#0b5394;--c-on-primary:#ffffff;--c-bg:#ffffff;--c-text:#112233;--c-accent:#abcdef;}\n',
    )
    for (const bad of [
      'red',
      '#12',
      '#1234',
      '#12345g',
      '#fff;} body{display:none',
      '#fff}</style><script>',
      'url(javascript:x)',
      '#fff\n',
      'expression(alert(1))',
      ' #fff',
    ]) {
      const css = themeStylesheet({
        name: 'x',
        colors: { primary: bad, background: bad, text: bad, accent: bad },
      })
      expect(css, bad).toBe('/* default theme */\n')
    }
    expect(themeStylesheet({ name: 'x', colors: { primary: 42 as unknown as string } })).toBe(
      '/* default theme */\n',
    )
  })

  it('picks readable text on the primary colour', () => {
    expect(readableOn('#ffee00')).toBe('#111827')
    expect(readableOn('#0b5394')).toBe('#ffffff')
  })

  it('default colours meet 4.5:1', () => {
    expect(contrastRatio(DEFAULT_COLORS.text, DEFAULT_COLORS.background)).toBeGreaterThanOrEqual(4.5)
    expect(contrastRatio(DEFAULT_COLORS.text, '#ffffff')).toBeGreaterThanOrEqual(4.5)
    expect(contrastRatio(DEFAULT_COLORS.primary, '#ffffff')).toBeGreaterThanOrEqual(4.5)
    expect(contrastRatio(DEFAULT_COLORS.primary, DEFAULT_COLORS.background)).toBeGreaterThanOrEqual(4.5)
    expect(contrastRatio(DEFAULT_COLORS.accent, '#ffffff')).toBeGreaterThanOrEqual(4.5)
    // Muted text, danger button, badge and alert pairs from the stylesheet.
    for (const [fg, bg] of [
      ['#4b5567', '#ffffff'],
      ['#4b5567', DEFAULT_COLORS.background],
      ['#4b5567', '#f7f9fc'],
      ['#ffffff', '#b42318'],
      ['#11633a', '#ecfdf3'],
      ['#8a1c12', '#fef3f2'],
      ['#344054', '#f2f4f7'],
      ['#1d3f99', '#eff4ff'],
    ] as const)
      expect(contrastRatio(fg, bg), `${fg} on ${bg}`).toBeGreaterThanOrEqual(4.5)
  })

  it('the stylesheet has visible focus styles and a narrow-screen layout', () => {
    expect(STYLESHEET).toContain(':focus-visible')
    expect(STYLESHEET).toContain('@media (max-width: 560px)')
  })
})

describe('consent page errors', () => {
  it('shows why an answer was refused, escaped, in an alert', async () => {
    const page = renderConsentPage({
      theme: { name: 'Harbor Pay' },
      assetsUrl: '/assets',
      action: '/authorize/x',
      csrf: 'c',
      subjectName: 'Alice',
      client: { name: 'Beacon' },
      purpose: { id: 'credit_assessment', label: 'Credit assessment', description: 'd' },
      request: {
        type: 'transaction_history',
        datatypes: ['accounts'],
        purpose: 'credit_assessment',
        expires_in: 60,
        max_reads_per_day: 1,
      },
      accounts: [],
      periodText: 'p',
      expiresAtText: 'e',
      maxReadsPerDay: 1,
      error: 'Choose at least one account <b>',
    })
    expect(page).toContain('role="alert"')
    expect(page).toContain('Choose at least one account &lt;b&gt;')
  })
})
