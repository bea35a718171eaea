/**
 * `npm start`: the whole demo on one machine — Harbor Pay (the data holder, :4000) and Beacon Lending
 * (the recipient, :4001) — on embedded storage, no database to install.
 */
import { main as lender } from './lender/src/main.ts'
import { main as harborPay } from './payment-provider/src/main.ts'

const holder = await harborPay()
const recipient = await lender({ ...process.env, HARBOR_PAY_ISSUER: holder.holder.issuer })
console.log('\nPress Ctrl+C to stop.')
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(
    sig,
    () => void Promise.all([holder.shutdown(), recipient.shutdown()]).then(() => process.exit(0)),
  )
