import { DEMO_INITIAL_ACCESS_TOKEN, startBeaconLending } from './app.ts'

/**
 * Start Beacon Lending, the demo recipient, against a Harbor Pay at `HARBOR_PAY_ISSUER`
 * (default http://localhost:4000). Registers itself on first start and keeps its client, links and
 * sessions under `.consentry/beacon-lending` (or `BEACON_LENDING_DATA_DIR`).
 */
export async function main(env: NodeJS.ProcessEnv = process.env) {
  const port = Number(env.PORT ?? 4001)
  const holderIssuer = env.HARBOR_PAY_ISSUER ?? 'http://localhost:4000'
  const dataDir = env.BEACON_LENDING_DATA_DIR ?? '.consentry/beacon-lending'
  const lender = await startBeaconLending({
    port,
    holderIssuer,
    initialAccessToken: env.CONSENTRY_INITIAL_ACCESS_TOKEN ?? DEMO_INITIAL_ACCESS_TOKEN,
    dataDir,
    ...(env.BEACON_LENDING_PUBLIC_URL ? { publicUrl: env.BEACON_LENDING_PUBLIC_URL } : {}),
  })
  console.log(
    [
      '',
      `Beacon Lending (demo recipient) is running at ${lender.url}`,
      `  data holder:      ${holderIssuer} (registered as client ${lender.clientId()})`,
      `  storage:          ${dataDir} (client.json, links.json, sessions.json)`,
      '',
      `  Try it: open ${lender.url}, click "Share monthly totals only — recommended",`,
      '          sign in at Harbor Pay as alice / alice, and click Allow.',
      '',
    ].join('\n'),
  )
  return { lender, shutdown: () => lender.close() }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { shutdown } = await main()
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => void shutdown().then(() => process.exit(0)))
}
