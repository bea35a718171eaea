/**
 * `@consentry/core` — the shared language of Consentry's server and client: zod schemas and types for
 * authorization details, grants, client metadata, audit events, resources, server metadata, and the
 * error-code catalogue. Pure: no I/O, runs on any runtime with Web APIs.
 *
 * @example
 * ```ts
 * import { parseAuthorizationDetails } from '@consentry/core'
 * const result = parseAuthorizationDetails(request.authorization_details)
 * if (!result.success) throw new Error(result.error)
 * ```
 */

export { canonicalize } from './audit/canonical.ts'
export { auditLeafBytes, auditLeafHash, auditLeafOf, parseAuditLeaf } from './audit/leaf.ts'
export {
  appendPlan,
  consistencyPlan,
  consistencyProof,
  EMPTY_ROOT,
  equalHashes,
  foldNodes,
  type Hash,
  inclusionPlan,
  inclusionProof,
  leafHash,
  type NodeId,
  type NodeSource,
  newNodes,
  nodeHash,
  type ProofPlan,
  planNodes,
  rangeNodes,
  resolvePlan,
  rootFromNodes,
  rootHash,
  rootPlan,
  splitPoint,
  verifyConsistency,
  verifyInclusion,
} from './audit/merkle.ts'
export {
  type CheckpointNoteVerification,
  formatCheckpoint,
  formatNote,
  formatVerifierKey,
  fromBase64,
  isValidKeyName,
  type LogCheckpoint,
  NOTE_ED25519,
  type Note,
  type NoteVerifier,
  noteKeyId,
  parseCheckpoint,
  parseNote,
  parseVerifierKey,
  signNote,
  toBase64,
  verifyCheckpointNote,
} from './audit/note.ts'
export { sha256, sha256Hex } from './audit/sha256.ts'
export { formatTilePath, parseTilePath, TILE_WIDTH, type Tile, tileNodes, tileWithin } from './audit/tiles.ts'
export {
  AUDIT_EXPORT_VERSION,
  AUDIT_PROBLEM_CODES,
  type AuditLogBundle,
  type AuditLogEntry,
  type AuditProblem,
  type AuditProblemCode,
  type AuditVerification,
  formatExportHeader,
  type Input as AuditExportInput,
  type VerifyAuditOptions,
  type VerifyBundleOptions,
  verifyAuditBundle,
  verifyAuditExport,
} from './audit/verify.ts'
export {
  AUDIT_EVENT_TYPES,
  type AuditActor,
  type AuditEvent,
  type AuditEventDraft,
  type AuditEventInput,
  type AuditEventType,
  type AuditLeaf,
  auditActor,
  auditEventSchema,
  auditLeafSchema,
  type Json,
} from './audit-event.ts'
export {
  ALLOWED_ALGS,
  type AllowedAlg,
  type ClientRecord,
  type ClientRegistrationRequest,
  type ClientRegistrationResponse,
  clientRegistrationRequest,
  clientRegistrationResponse,
  jwksSchema,
  MIN_RSA_BITS,
  UNSAFE_NAME_CHARS,
} from './client-metadata.ts'
export {
  AFFORDABILITY_METRICS,
  AFFORDABILITY_SUMMARY_JWT_TYPE,
  type AffordabilityMetric,
  type AffordabilityMonth,
  type AffordabilitySummary,
  type AffordabilitySummaryClaims,
  type AffordabilitySummaryDetail,
  type AffordabilitySummaryDetailInput,
  affordabilityMonthSchema,
  affordabilitySummaryClaimsSchema,
  affordabilitySummaryDetail,
  affordabilitySummarySchema,
  affordabilitySummaryType,
  decimalAmount,
  type IncomeRegularity,
  incomeRegularitySchema,
  MAX_AFFORDABILITY_DAYS,
} from './details/affordability-summary.ts'
export { isLoopbackHost, isoDate, isSecureUrl, secureUrl } from './details/common.ts'
export {
  type AuthorizationDetail,
  builtInDetailTypes,
  type DetailType,
  defineDetailType,
  describeIssues,
  type ListRouteName,
  MAX_DETAILS,
  type ObjectRouteName,
  type ParseDetailsResult,
  type PathParamNames,
  parseAuthorizationDetails,
  type RecordOf,
  type RouteContract,
  type RouteParams,
  type RoutesOf,
  routePath,
  transactionHistoryType,
} from './details/registry.ts'
export {
  DATATYPES,
  type Datatype,
  MAX_LOOKBACK_DAYS,
  type Period,
  periodSchema,
  TRANSACTION_FIELDS,
  type TransactionField,
  type TransactionHistoryDetail,
  type TransactionHistoryDetailInput,
  transactionHistoryDetail,
} from './details/transaction-history.ts'
export {
  OAUTH_ERRORS,
  type OAuthErrorBody,
  type OAuthErrorCode,
  PROBLEM_CODES,
  type ProblemCode,
  type ProblemDocument,
  problemType,
} from './errors.ts'
export {
  effectiveStatus,
  GRANT_STATUSES,
  type Grant,
  type GrantResponse,
  type GrantStatus,
  grantResponseSchema,
} from './grant.ts'
export {
  type ResourceMetadata,
  resourceMetadataSchema,
  type ServerMetadata,
  serverMetadataSchema,
} from './metadata.ts'
export {
  type IntrospectionResponse,
  introspectionResponseSchema,
  oauthErrorSchema,
  parResponseSchema,
  problemSchema,
  type TokenResponse,
  tokenResponseSchema,
} from './oauth-responses.ts'
export {
  type Account,
  accountListSchema,
  accountSchema,
  MAX_PAGE_SIZE,
  type Transaction,
  type TransactionPage,
  transactionPageSchema,
  transactionSchema,
} from './resource.ts'
