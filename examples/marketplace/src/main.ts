import { join } from 'node:path'
import { sqliteStore } from '@consentry/server'
import { postgresStore } from '@consentry/store-postgres'
import { DEMO_INITIAL_ACCESS_TOKEN, startBazaarMarket } from './app.ts'

/**
 * Start Bazaar Market, the demo marketplace (a data holder): embedded SQLite (`node:sqlite`) in
 * `.consentry/bazaar-market/consentry.db` by default, a real PostgreSQL when `DATABASE_URL` is set.
 */
export async function main(env: NodeJS.ProcessEnv = process.env) {
  const port = Number(env.PORT ?? 4002)
  const database = join(env.CONSENTRY_DATA_DIR ?? '.consentry/bazaar-market', 'consentry.db')
  const store = env.DATABASE_URL
    ? await postgresStore({ connectionString: env.DATABASE_URL })
    : await sqliteStore({ path: database })
  const initialAccessToken = env.CONSENTRY_INITIAL_ACCESS_TOKEN ?? DEMO_INITIAL_ACCESS_TOKEN
  const market = await startBazaarMarket({
    store,
    port,
    initialAccessToken,
    ...(env.BAZAAR_MARKET_ISSUER ? { issuer: env.BAZAAR_MARKET_ISSUER } : {}),
    // The sandbox is on unless BAZAAR_MARKET_SANDBOX=off (a public BAZAAR_MARKET_ISSUER refuses it).
    sandbox: env.BAZAAR_MARKET_SANDBOX !== 'off',
    ...(env.CONSENTRY_KEY_ENCRYPTION_KEY
      ? { overrides: { keyEncryptionKey: env.CONSENTRY_KEY_ENCRYPTION_KEY.split(',') } }
      : {}),
  })
  const demoToken = initialAccessToken === DEMO_INITIAL_ACCESS_TOKEN
  console.log(
    [
      '',
      `Bazaar Market (demo marketplace, data holder) is running at ${market.issuer}`,
      `  storage:          ${env.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : `embedded SQLite in ${database}`}`,
      `  server keys:      ${env.CONSENTRY_KEY_ENCRYPTION_KEY ? 'encrypted (CONSENTRY_KEY_ENCRYPTION_KEY)' : 'PLAINTEXT in the database (demo only: set CONSENTRY_KEY_ENCRYPTION_KEY)'}`,
      `  metadata:         ${market.issuer}/.well-known/oauth-authorization-server`,
      `  connected apps:   ${market.issuer}/consents`,
      "  sellers:          sam / sam (Sam's Outdoor Gear, EUR; Sam's Outdoor Gear UK, GBP),",
      "                    kim / kim (Kim's Clay Studio, USD)",
      `  registration:     POST ${market.issuer}/register with "Authorization: Bearer ${demoToken ? initialAccessToken : '<CONSENTRY_INITIAL_ACCESS_TOKEN>'}"`,
      demoToken
        ? '                    (a DEMO token: set CONSENTRY_INITIAL_ACCESS_TOKEN for anything real)'
        : '',
      market.server.urls.sandboxLink
        ? `  sandbox:          POST ${market.server.urls.sandboxLink} (subject=sam or kim, no page); BAZAAR_MARKET_SANDBOX=off turns it off`
        : '',
      '  egress:           DEMO ONLY: dangerouslyAllowLoopbackEgress is on (recipients may register',
      '                    http://localhost webhooks, jwks_uri and logos); never on a real holder',
      '',
    ]
      .filter((l) => l !== '')
      .join('\n'),
  )
  const shutdown = async () => {
    await market.close()
    await store.close()
  }
  return { market, shutdown }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { shutdown } = await main()
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => void shutdown().then(() => process.exit(0)))
}
