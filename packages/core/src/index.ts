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

export * from './audit/canonical.ts'
export * from './audit/leaf.ts'
export * from './audit/merkle.ts'
export * from './audit/note.ts'
export { sha256, sha256Hex } from './audit/sha256.ts'
export * from './audit/verify.ts'
export * from './audit-event.ts'
export * from './client-metadata.ts'
export * from './details/common.ts'
export * from './details/registry.ts'
export * from './details/transaction-history.ts'
export * from './errors.ts'
export * from './grant.ts'
export * from './metadata.ts'
export * from './oauth-responses.ts'
export * from './resource.ts'
