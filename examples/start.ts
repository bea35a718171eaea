/**
 * `npm start`: the whole demo on one machine — Harbor Pay (the data holder, :4000) and Beacon Lending
 * (the recipient, :4001) — on embedded storage, no database to install.
 */
import { main as harborPay } from './payment-provider/src/main.ts'

const holder = await harborPay()
const stops = [holder.shutdown]
try {
  const { main: lender } = await import('./lender/src/main.ts')
  const l = await lender({ ...process.env, HARBOR_PAY_ISSUER: holder.holder.issuer })
  stops.push(l.shutdown)
} catch (e) {
  if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e
}
console.log('\nPress Ctrl+C to stop.')
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => void Promise.all(stops.map((s) => s())).then(() => process.exit(0)))
