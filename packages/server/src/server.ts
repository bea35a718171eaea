import { type AdapterLog, setAdapterLog } from './adapters/report.ts'
import type { AuditTrail } from './audit/trail.ts'
import { createAuditTrail } from './audit/trail.ts'
import { type ConsentServerConfig, resolveConfig } from './config.ts'
import { type Context, createContext, publishedKeys } from './context.ts'
import { remindExpiringGrants, sweepExpiredGrants } from './grants/lifecycle.ts'
import { deliverEvents } from './grants/notify.ts'
import type { ConnectionInfo } from './http/client-address.ts'
import { traceRequests } from './http/trace.ts'
import { createRouter } from './router.ts'
import type { Store } from './store/store.ts'

/** A running Consentry data-holder server. */
export interface ConsentServer {
  /**
   * The whole server — authorization server, pages and API — as a Web `fetch` handler. Pass the
   * connection's peer address as `info.clientAddress` (`nodeListener` does): sign-in throttling
   * counts per address, and requests without one share a single `unknown` bucket.
   */
  fetch(request: Request, info?: ConnectionInfo): Promise<Response>
  /** Only the transaction-history API and its RFC 9728 metadata, to mount on a separate host. */
  resource(request: Request, info?: ConnectionInfo): Promise<Response>
  /** The audit log, a transparency log (record, list, integrate/flush, proofs, access logs, export, verify). */
  audit: AuditTrail
  /** The store the server was created with. */
  store: Store
  /** Issuer, endpoints and the public signing JWKS. */
  urls: Context['urls']
  /** The public JWKS, as served at `urls.jwks`. */
  jwks(): {
    /** Public JWKs: the signing key, previous keys, the audit log key. */
    keys: Record<string, unknown>[]
  }
  /**
   * Start periodic maintenance: end expired grants (and tell recipients), remind recipients of
   * grants ending within `expiryReminderMs` (`grant-expiring`), deliver queued events
   * (including any a stopped instance left behind), drop expired single-use rows, and run the audit
   * sequencer (every 100 ms: integrate pending events, sign a checkpoint). Returns a function that stops it. Timers never keep the process alive.
   */
  startMaintenance(intervalMs?: number): () => void
  /** Run one maintenance pass now. */
  maintain(): Promise<void>
}

/**
 * Create a Consentry data-holder server from one configuration object (validated here; a bad one
 * throws `ConfigError` at start-up, never per request).
 *
 * @example
 * ```ts
 * import { createConsentServer, memoryStore } from '@consentry/server'
 * import { nodeListener } from '@consentry/server'
 * import { createServer } from 'node:http'
 *
 * const server = await createConsentServer({
 *   issuer: 'http://localhost:4000',
 *   store: memoryStore(),
 *   dataSource,
 *   accountHolders: { verifyPassword: (u, p) => users.check(u, p) },
 *   initialAccessToken: 'a-long-random-registration-token',
 * })
 * createServer(nodeListener(server.fetch)).listen(4000)
 * ```
 */
export async function createConsentServer(config: ConsentServerConfig): Promise<ConsentServer> {
  const resolved = resolveConfig(config)
  // The audit sink is wired after the keys are loaded; nothing is recorded before then.
  let audit: AuditTrail | undefined
  const ctx = await createContext(resolved, { record: (input) => audit!.record(input) })
  audit = createAuditTrail({
    store: ctx.store,
    logKey: ctx.auditLogKey,
    now: resolved.now,
    onError: (e) => resolved.onError(e, { area: 'audit', event: 'audit.integrate_failed' }),
    onCheckpoint: ({ size }) =>
      resolved
        .log('audit')
        .debug({ event: 'audit.checkpoint', size }, `audit checkpoint signed at size ${size}`),
  })
  ctx.auditLog = audit
  if (resolved.sandbox)
    resolved
      .log('server')
      .warn(
        { event: 'config.insecure', option: 'sandbox' },
        `SANDBOX IS ON (sandbox: true): any registered client can get a grant to any person's data at ${ctx.urls.sandboxLink} without their consent. For test holders with test people only.`,
      )
  const all = traceRequests(resolved, createRouter(ctx))
  const resourceOnly = traceRequests(resolved, createRouter(ctx, 'resource'))
  // Adapters given only `server.fetch` still log their own failures through the configured logger.
  const log: AdapterLog = {
    error: (e, { error: _described, ...fields }) =>
      resolved.onError(e, { area: 'http', event: 'adapter.failed', ...fields }),
    warn: (message, fields) => resolved.log('http').warn({ event: 'adapter.warning', ...fields }, message),
  }
  setAdapterLog(all, log)
  setAdapterLog(resourceOnly, log)
  const maintain = async () => {
    await sweepExpiredGrants(ctx)
    await remindExpiringGrants(ctx)
    await deliverEvents(ctx)
    await resolved.store.deleteExpired(ctx.now())
    await audit!.integrate()
  }
  resolved.log('server').info(
    {
      event: 'server.started',
      issuer: ctx.urls.issuer,
      signing_key: { kid: ctx.signingKey.kid, alg: ctx.signingKey.alg },
      audit_log: { origin: ctx.auditLogKey.origin },
      key_protection: resolved.secretProtection.mode,
      ...(resolved.sandbox ? { sandbox: true } : {}),
    },
    `consentry ready at ${ctx.urls.issuer}`,
  )
  return {
    fetch: all,
    resource: resourceOnly,
    audit,
    store: resolved.store,
    urls: ctx.urls,
    jwks: () => ({ keys: publishedKeys(ctx) as Record<string, unknown>[] }),
    maintain,
    startMaintenance(intervalMs = 60_000) {
      const timer = setInterval(
        () =>
          void maintain().catch((e) =>
            resolved.onError(e, { area: 'maintenance', event: 'maintenance.failed' }),
          ),
        intervalMs,
      )
      ;(timer as { unref?: () => void }).unref?.()
      // The audit sequencer runs on its own, faster beat: every event is integrated within ~1 s.
      const stopSequencer = audit!.startSequencer()
      return () => {
        clearInterval(timer)
        stopSequencer()
      }
    },
  }
}
