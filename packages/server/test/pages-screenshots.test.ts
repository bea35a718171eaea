/**
 * Renders every page with realistic view models to `test/artifacts/pages/*.html` (with the stylesheets
 * next to them) and screenshots each at 1280px and 375px wide with a real Chromium, so the look can be
 * reviewed. Skipped when /usr/bin/chromium is absent.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import {
  type ThConsentView as ConsentView,
  renderConsentPage,
  renderDashboard,
  renderGrantDetail,
} from './th-views.ts'

type DashboardView = Parameters<typeof renderDashboard>[0]
type GrantDetailView = Parameters<typeof renderGrantDetail>[0]

import {
  renderLoginPage,
  renderMessagePage,
  renderRevokeConfirm,
  STYLESHEET,
  type Theme,
  themeStylesheet,
} from '../src/pages/index.ts'

const CHROMIUM = '/usr/bin/chromium'
const outDir = fileURLToPath(new URL('./artifacts/pages/', import.meta.url))

const theme: Theme = { name: 'Harbor Pay' }
const branded: Theme = {
  name: 'Harbor Pay',
  colors: { primary: '#0b6e4f', background: '#f3f7f5', accent: '#8a4b08' },
}
const base = { theme, assetsUrl: '.', csrf: 'csrf-token-123' }

const consent: ConsentView = {
  ...base,
  action: '/authorize/consent',
  subjectName: 'Alice Martin',
  client: { name: 'Beacon Lending', uri: 'https://beacon-lending.example' },
  purpose: {
    id: 'credit_assessment',
    label: 'Assess a loan application',
    description: 'Beacon Lending checks your income and regular spending to decide on your loan application.',
  },
  request: {
    type: 'transaction_history',
    datatypes: ['accounts', 'balances', 'transactions'],
    fields: ['booked_at', 'amount', 'currency', 'description', 'counterparty', 'category'],
    accounts: ['acc_alice_wallet'],
    period: { lookback_days: 90 },
    purpose: 'credit_assessment',
    expires_in: 30 * 86400,
    max_reads_per_day: 4,
  },
  accounts: [
    { id: 'acc_alice_wallet', name: 'Everyday Wallet', type: 'wallet', currency: 'EUR', requested: true },
    {
      id: 'acc_alice_savings',
      name: 'Rainy Day Savings',
      type: 'savings',
      currency: 'EUR',
      requested: false,
    },
  ],
  periodText: 'the last 90 days, rolling',
  expiresAtText: '14 Mar 2027',
  maxReadsPerDay: 4,
}

const grants: DashboardView['grants'] = [
  {
    id: 'g1',
    clientName: 'Beacon Lending',
    purposeLabel: 'Assess a loan application',
    status: 'active',
    accountNames: ['Everyday Wallet'],
    datatypes: ['accounts', 'balances', 'transactions'],
    fields: ['booked_at', 'amount', 'currency', 'category'],
    periodText: 'the last 90 days, rolling',
    grantedOn: '12 Feb 2027',
    expiresOn: '14 Mar 2027',
    lastRead: '13 Feb 2027, 08:02',
    readsLast30Days: 6,
    detailUrl: '/consents/g1',
  },
  {
    id: 'g2',
    clientName: 'Northwind Payments',
    purposeLabel: 'Verify your payout history',
    status: 'revoked',
    accountNames: ['Everyday Wallet', 'Rainy Day Savings'],
    datatypes: ['accounts', 'transactions'],
    fields: ['booked_at', 'amount'],
    periodText: '1 Sep 2026 to 30 Nov 2026',
    grantedOn: '2 Dec 2026',
    expiresOn: '2 Jan 2027',
    readsLast30Days: 0,
    detailUrl: '/consents/g2',
  },
  {
    id: 'g3',
    clientName: 'Quill Budgeting',
    purposeLabel: 'Budgeting insights',
    status: 'expired',
    accountNames: ['Everyday Wallet'],
    datatypes: ['accounts'],
    fields: [],
    periodText: '',
    grantedOn: '1 Jan 2026',
    expiresOn: '1 Apr 2026',
    lastRead: '31 Mar 2026, 23:10',
    readsLast30Days: 0,
    detailUrl: '/consents/g3',
  },
]

const dashboard: DashboardView = {
  ...base,
  subjectName: 'Alice Martin',
  signOutAction: '/consents/logout',
  grants,
}

const detail: GrantDetailView = {
  ...base,
  subjectName: 'Alice Martin',
  grant: grants[0]!,
  accessLog: [
    {
      at: '13 Feb 2027, 08:02',
      accountName: 'Everyday Wallet',
      period: '15 Nov 2026 to 13 Feb 2027',
      records: 212,
    },
    {
      at: '12 Feb 2027, 16:40',
      accountName: 'Everyday Wallet',
      period: '14 Nov 2026 to 12 Feb 2027',
      records: 209,
    },
  ],
  history: [
    { at: '12 Feb 2027, 16:39', text: 'You allowed Beacon Lending to read Everyday Wallet.' },
    {
      at: '12 Feb 2027, 16:39',
      text: 'You narrowed the request: Description and Who paid or was paid not shared.',
    },
  ],
  receiptUrl: '/consents/g1/receipt',
  revokeUrl: '/consents/g1/revoke',
  backUrl: '/consents',
}

const pages: Record<string, string> = {
  login: renderLoginPage({ ...base, action: '/login', clientName: 'Beacon Lending' }),
  'login-error': renderLoginPage({
    ...base,
    action: '/login',
    username: 'alice',
    error: "That username and password don't match. Please try again.",
  }),
  consent: renderConsentPage(consent),
  'consent-choose': renderConsentPage({
    ...consent,
    theme: branded,
    request: { ...consent.request, accounts: undefined, datatypes: ['accounts', 'transactions'] },
    accounts: consent.accounts.map((a) => ({ ...a, requested: true })),
    periodText: '1 Sep 2026 to 30 Nov 2026',
  }),
  dashboard: renderDashboard(dashboard),
  'dashboard-flash': renderDashboard({
    ...dashboard,
    flash: 'Access revoked. Beacon Lending can no longer read your data.',
  }),
  'dashboard-empty': renderDashboard({ ...dashboard, grants: [] }),
  'grant-detail': renderGrantDetail(detail),
  'revoke-confirm': renderRevokeConfirm({
    ...base,
    subjectName: 'Alice Martin',
    clientName: 'Beacon Lending',
    action: '/consents/g1/revoke',
    cancelUrl: '/consents/g1',
    accountNames: ['Everyday Wallet'],
  }),
  message: renderMessagePage({
    ...base,
    title: 'This link has expired',
    message: 'Go back to the app you came from and start again.',
    status: 400,
  }),
}

describe.skipIf(!existsSync(CHROMIUM))('page screenshots (needs /usr/bin/chromium)', () => {
  it('renders every page and screenshots it at 1280px and 375px', async () => {
    mkdirSync(outDir, { recursive: true })
    writeFileSync(`${outDir}.gitignore`, '*\n')
    writeFileSync(`${outDir}consentry.css`, STYLESHEET)
    // The "consent-choose" page uses the branded theme: write its theme.css to a sibling folder.
    writeFileSync(`${outDir}theme.css`, themeStylesheet(theme))
    for (const [name, body] of Object.entries(pages)) writeFileSync(`${outDir}${name}.html`, body)
    mkdirSync(`${outDir}branded`, { recursive: true })
    writeFileSync(`${outDir}branded/consentry.css`, STYLESHEET)
    writeFileSync(`${outDir}branded/theme.css`, themeStylesheet(branded))
    writeFileSync(`${outDir}branded/consent-choose.html`, pages['consent-choose']!)

    // Serve the folder with the CSP the real server sends, so a violation shows up as a console error.
    const csp =
      "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self' https://beacon-lending.example; frame-ancestors 'none'; base-uri 'none'"
    const server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '')
      const file = `${outDir}${path}`
      if (path === 'favicon.ico') return res.writeHead(204).end()
      if (path.includes('..') || !existsSync(file)) return res.writeHead(404).end()
      const type = path.endsWith('.css') ? 'text/css' : 'text/html; charset=utf-8'
      res.writeHead(200, { 'content-type': type, 'content-security-policy': csp }).end(readFileSync(file))
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
    const { chromium } = await import('playwright-core')
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    })
    try {
      const shots: string[] = []
      const targets = [...Object.keys(pages).filter((n) => n !== 'consent-choose'), 'branded/consent-choose']
      for (const width of [1280, 375]) {
        const page = await browser.newPage({ viewport: { width, height: 900 } })
        const consoleErrors: string[] = []
        page.on('console', (m) => {
          if (m.type() === 'error') consoleErrors.push(m.text())
        })
        for (const name of targets) {
          await page.goto(`${origin}${name}.html`)
          // No horizontal scrolling at any width.
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
          expect(overflow, `${name} at ${width}px overflows`).toBeLessThanOrEqual(0)
          const file = `${outDir}${name.replace('/', '-')}-${width}.png`
          await page.screenshot({ path: file, fullPage: true })
          shots.push(file)
        }
        expect(consoleErrors).toEqual([])
        await page.close()
      }
      expect(shots.length).toBe(targets.length * 2)
    } finally {
      await browser.close()
      server.close()
    }
  }, 120_000)
})
