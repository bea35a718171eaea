import { DEMO_INITIAL_ACCESS_TOKEN, startTidewater } from './app.ts'

/**
 * Start Tidewater Payments, the demo processor, against a Bazaar Market at `BAZAAR_MARKET_ISSUER`
 * (default http://localhost:4002). Registers itself on first start and keeps its client, links and
 * sessions under `.consentry/tidewater-payments` (or `TIDEWATER_DATA_DIR`).
 */
export async function main(env: NodeJS.ProcessEnv = process.env) {
  const port = Number(env.PORT ?? 4003)
  const holderIssuer = env.BAZAAR_MARKET_ISSUER ?? 'http://localhost:4002'
  const dataDir = env.TIDEWATER_DATA_DIR ?? '.consentry/tidewater-payments'
  const processor = await startTidewater({
    port,
    holderIssuer,
    initialAccessToken: env.CONSENTRY_INITIAL_ACCESS_TOKEN ?? DEMO_INITIAL_ACCESS_TOKEN,
    dataDir,
    ...(env.TIDEWATER_PUBLIC_URL ? { publicUrl: env.TIDEWATER_PUBLIC_URL } : {}),
  })
  console.log(
    [
      '',
      `Tidewater Payments (demo processor) is running at ${processor.url}`,
      `  marketplace:      ${holderIssuer} (registered as client ${processor.clientId()})`,
      `  storage:          ${dataDir} (client.json, links.json, sessions.json)`,
      '',
      `  Try it: open ${processor.url}, click "Connect Bazaar Market",`,
      '          sign in at Bazaar Market as sam / sam (or kim / kim), and click Allow.',
      '',
    ].join('\n'),
  )
  return { processor, shutdown: () => processor.close() }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { shutdown } = await main()
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => void shutdown().then(() => process.exit(0)))
}
