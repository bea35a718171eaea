import { join } from 'node:path'
import { sqliteStore } from '@consentry/server'
import { postgresStore } from '@consentry/store-postgres'
import { DEMO_INITIAL_ACCESS_TOKEN, startHarborPay } from './app.ts'

/**
 * Start Harbor Pay, the demo data holder: embedded SQLite (`node:sqlite`) in
 * `.consentry/harbor-pay/consentry.db` by default, a real PostgreSQL when `DATABASE_URL` is set.
 */
export async function main(env: NodeJS.ProcessEnv = process.env) {
  const port = Number(env.PORT ?? 4000)
  const database = join(env.CONSENTRY_DATA_DIR ?? '.consentry/harbor-pay', 'consentry.db')
  const store = env.DATABASE_URL
    ? await postgresStore({ connectionString: env.DATABASE_URL })
    : await sqliteStore({ path: database })
  const initialAccessToken = env.CONSENTRY_INITIAL_ACCESS_TOKEN ?? DEMO_INITIAL_ACCESS_TOKEN
  const holder = await startHarborPay({
    store,
    port,
    initialAccessToken,
    ...(env.HARBOR_PAY_ISSUER ? { issuer: env.HARBOR_PAY_ISSUER } : {}),
    // The sandbox is on unless HARBOR_PAY_SANDBOX=off (a public HARBOR_PAY_ISSUER refuses it).
    sandbox: env.HARBOR_PAY_SANDBOX !== 'off',
    ...(env.CONSENTRY_KEY_ENCRYPTION_KEY
      ? { overrides: { keyEncryptionKey: env.CONSENTRY_KEY_ENCRYPTION_KEY.split(',') } }
      : {}),
  })
  const demoToken = initialAccessToken === DEMO_INITIAL_ACCESS_TOKEN
  console.log(
    [
      '',
      `Harbor Pay (demo data holder) is running at ${holder.issuer}`,
      `  storage:          ${env.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : `embedded SQLite in ${database}`}`,
      `  server keys:      ${env.CONSENTRY_KEY_ENCRYPTION_KEY ? 'encrypted (CONSENTRY_KEY_ENCRYPTION_KEY)' : 'PLAINTEXT in the database (demo only: set CONSENTRY_KEY_ENCRYPTION_KEY)'}`,
      `  metadata:         ${holder.issuer}/.well-known/oauth-authorization-server`,
      `  connected apps:   ${holder.issuer}/consents`,
      '  account holders:  alice / alice (wallet + savings), bob / bob (wallet)',
      `  registration:     POST ${holder.issuer}/register with "Authorization: Bearer ${demoToken ? initialAccessToken : '<CONSENTRY_INITIAL_ACCESS_TOKEN>'}"`,
      demoToken
        ? '                    (a DEMO token: set CONSENTRY_INITIAL_ACCESS_TOKEN for anything real)'
        : '',
      holder.server.urls.sandboxLink
        ? `  sandbox:          POST ${holder.server.urls.sandboxLink} (subject=alice or bob, no page); HARBOR_PAY_SANDBOX=off turns it off`
        : '',
      '  egress:           DEMO ONLY: dangerouslyAllowLoopbackEgress is on (recipients may register',
      '                    http://localhost webhooks, jwks_uri and logos); never on a real holder',
      '',
    ]
      .filter((l) => l !== '')
      .join('\n'),
  )
  const shutdown = async () => {
    await holder.close()
    await store.close()
  }
  return { holder, shutdown }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { shutdown } = await main()
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => void shutdown().then(() => process.exit(0)))
}
