/**
 * `@consentry/server` — the data holder's side of Consentry: a FAPI 2.0-profiled OAuth 2 authorization
 * server (PAR, PKCE, RAR, DPoP, private_key_jwt), the account holder's consent and dashboard pages, a
 * consent-enforcing transaction-history API and a tamper-evident audit trail, as one Web `fetch`
 * handler.
 *
 * @example
 * ```ts
 * import { createConsentServer, memoryStore, nodeListener } from '@consentry/server'
 * import { createServer } from 'node:http'
 *
 * const server = await createConsentServer({
 *   issuer: 'http://localhost:4000',
 *   store: memoryStore(),
 *   dataSource,                               // your accounts and transactions
 *   accountHolders: { verifyPassword },       // or your own session: { authenticate(request) }
 *   initialAccessToken: process.env.CONSENTRY_INITIAL_ACCESS_TOKEN,
 * })
 * createServer(nodeListener(server.fetch)).listen(4000)
 * ```
 */

export { issuerPath, type Mountable, servesPath, wellKnownPaths } from './adapters/mount.ts'
export { guardNodeServer, type NodeListenerOptions, nodeListener } from './adapters/node.ts'
export { type ExportAuditOptions, exportAuditLog } from './audit/export.ts'
export { type AuditLogKey, auditOrigin, loadAuditLogKey } from './audit/log-key.ts'
export {
  ACCESS_LOG_PAGE,
  AUDIT_BATCH_SIZE,
  AUDIT_SEQUENCE_INTERVAL_MS,
  type AuditTrail,
  type AuditTrailOptions,
  createAuditTrail,
} from './audit/trail.ts'
export {
  type AccountHolder,
  type AccountHolders,
  type ConsentServerConfig,
  DEFAULT_LIFETIMES,
  DEFAULT_PURPOSES,
  DEFAULT_SIGN_IN_LIMITS,
  type EgressConfig,
  type Lifetimes,
  type PrivateJwk,
  type Purpose,
  type RegistrationPolicy,
  type SignInLimits,
  type Theme,
  type TrustedProxy,
} from './config.ts'
export type { Urls as ServerUrls } from './context.ts'
export {
  AFFORDABILITY_SUMMARY_WORDS,
  affordabilitySummaryDataType,
  type InsightsOptions,
  prefersJwt,
} from './data-types/affordability-summary.ts'
export {
  type DataType,
  type DataTypeWords,
  type DateRange,
  type DetailOf,
  defineDataType,
  type EnforcedRead,
  type HolderTools,
  type ListHandler,
  type ListQuery,
  type ObjectHandler,
  type RouteHandler,
  type ScopeItem,
} from './data-types/define.ts'
export {
  ConfigError,
  type ConfigIssue,
  MountError,
  OAuthError,
  ProblemError,
  ResourceAuthError,
  StoreError,
  type StoreErrorCode,
} from './errors.ts'
export { GRANT_AMENDED_EVENT, GRANT_ENDED_EVENT, GRANT_EXPIRING_EVENT } from './grants/notify.ts'
export type { ConnectionInfo } from './http/client-address.ts'
export {
  type Categorize,
  defaultCategorize,
  type MonthlySummaryInput,
  monthlySummary,
  type TransactionKind,
} from './insights/monthly-summary.ts'
export {
  KEY_ENCRYPTION_KEY_ENV,
  type KeyProvider,
  keyEncryptionKeyProvider,
} from './key-encryption.ts'
export {
  debugMatcher,
  describeError,
  type JsonLinesLoggerOptions,
  jsonLinesLogger,
  LOG_AREAS,
  type LogArea,
  type LogFields,
  type Logger,
  redact,
} from './logger.ts'
export { EgressError, type EgressErrorCode, type EgressResolver } from './net/guarded-fetch.ts'
export type {
  DataSource,
  HolderAccount,
  HolderBalance,
  HolderTransaction,
  TransactionQuery,
} from './resource/data-source.ts'
export { type ConsentServer, createConsentServer } from './server.ts'
export { memoryStore } from './store/memory.ts'
export { type SqliteStoreOptions, sqliteStore } from './store/sqlite.ts'
export {
  type AuditBatch,
  type AuditLogCheckpoint,
  type AuditQuery,
  type AuditSeal,
  type AuthorizationCode,
  type AuthorizationRequest,
  type ClientLogo,
  CONSUMED_RECORD_RETENTION_MS,
  FAILURE_RETENTION_MS,
  type FailureWindow,
  type GrantManagementRequest,
  type GrantPatch,
  type GrantTransitionEffects,
  type Interaction,
  type OutboxEvent,
  type PushedRequest,
  type ReadClaim,
  type ReadQuotaResult,
  type RecordKind,
  type RefreshTokenRecord,
  type SessionRecord,
  type Store,
  type StoredRecord,
} from './store/store.ts'
