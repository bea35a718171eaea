/**
 * `npm start`: all four demos on one machine, on embedded storage, no database to install:
 * Harbor Pay (a payment provider, data holder, :4000) and Beacon Lending (a lender, recipient, :4001);
 * Bazaar Market (a marketplace, data holder, :4002) and Tidewater Payments (a processor, recipient, :4003).
 */
import { main as lender } from './lender/src/main.ts'
import { main as bazaarMarket } from './marketplace/src/main.ts'
import { main as harborPay } from './payment-provider/src/main.ts'
import { main as tidewater } from './processor/src/main.ts'

const holder = await harborPay()
const recipient = await lender({ ...process.env, HARBOR_PAY_ISSUER: holder.holder.issuer })
// The marketplace is a second holder: its own port and database (never Harbor Pay's DATABASE_URL).
const { PORT: _port, CONSENTRY_DATA_DIR: _dir, DATABASE_URL: _db, ...env } = process.env
const market = await bazaarMarket({
  ...env,
  ...(env.BAZAAR_MARKET_DATABASE_URL ? { DATABASE_URL: env.BAZAAR_MARKET_DATABASE_URL } : {}),
})
const processor = await tidewater({ ...env, BAZAAR_MARKET_ISSUER: market.market.issuer })
console.log(
  [
    '',
    'Two stories to try:',
    `  1. A loan check:   open ${recipient.lender.url}, click "Connect Harbor Pay", sign in as alice / alice,`,
    `                     Allow; then revoke at ${holder.holder.issuer}/consents and reload the summary.`,
    `  2. Seller payouts: open ${processor.processor.url}, click "Connect Bazaar Market", sign in as sam / sam,`,
    `                     Allow; see the upcoming payout and the settlement that does not add up; then`,
    `                     revoke at ${market.market.issuer}/consents and reload Tidewater.`,
    '',
    'Press Ctrl+C to stop.',
  ].join('\n'),
)
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(
    sig,
    () =>
      void Promise.all([
        holder.shutdown(),
        recipient.shutdown(),
        market.shutdown(),
        processor.shutdown(),
      ]).then(() => process.exit(0)),
  )
