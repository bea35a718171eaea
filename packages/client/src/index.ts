/**
 * `@consentry/client` — the recipient's (lender's, processor's) side of Consentry. Link a person's
 * account with PAR + PKCE + DPoP, read their transaction history within what they consented to,
 * refresh and revoke, and receive signed "grant ended" events. Web APIs only (fetch + Web Crypto):
 * Node 20+, Deno, Bun, workers.
 *
 * @example
 * ```ts
 * import { createConsentClient } from '@consentry/client'
 *
 * const client = createConsentClient(savedConfig)
 * const { url, pending } = await client.startLink({ authorizationDetails: [detail] })
 * // … person consents, browser comes back to your redirect URI …
 * const link = await client.completeLink(callbackUrl, pending)
 * for await (const tx of link.transactions({ accountId: link.grant.accounts[0]! })) console.log(tx)
 * ```
 */

export type {
  Account,
  AffordabilityMonth,
  AffordabilitySummary,
  AffordabilitySummaryClaims,
  AuthorizationDetail,
  Transaction,
  TransactionPage,
} from '@consentry/core'
export {
  type VerifiedAffordabilitySummary,
  type VerifyAffordabilitySummaryOptions,
  verifyAffordabilitySummary,
} from './affordability.ts'
export type {
  AmendAction,
  AmendOptions,
  AmendResult,
  PendingAmend,
  StartAmendResult,
} from './amend.ts'
export {
  type ConsentClient,
  type ConsentClientOptions,
  createConsentClient,
  type PendingLink,
  type StartLinkOptions,
  type StartLinkResult,
} from './client.ts'
export {
  CallbackError,
  CLIENT_ERROR_CODES,
  ClientAuthenticationError,
  type ClientErrorCode,
  type ClientErrorOf,
  ConfigurationError,
  ConsentryClientError,
  type ConsentryClientErrorConstructor,
  type ErrorDetails,
  type GrantEndedDetails,
  GrantExpiredError,
  GrantRevokedError,
  InvalidEventError,
  InvalidRequestError,
  InvalidSignatureError,
  type IssuerMismatchDetails,
  IssuerMismatchError,
  isConsentryClientError,
  LinkDeniedError,
  LinkNotFoundError,
  NetworkError,
  NotFoundError,
  OutsideConsentError,
  ProtocolError,
  RateLimitedError,
  RequestRejectedError,
  ServerError,
  StateMismatchError,
  UnauthorizedError,
} from './errors.ts'
export {
  type ConsentEvent,
  type ConsentEventBase,
  createWebhookHandler,
  GRANT_AMENDED_EVENT,
  GRANT_ENDED_EVENT,
  GRANT_EXPIRING_EVENT,
  type GrantAmendedEvent,
  type GrantEndedEvent,
  type GrantExpiringEvent,
  parseEvent,
  type VerifyEventOptions,
  verifyEvent,
  type WebhookHandlerOptions,
} from './events.ts'
export type {
  AccessLogVerification,
  AffordabilitySummaryOptions,
  GrantStatusInfo,
  Link,
  LinkGrant,
  ListOptions,
  ReadOptions,
  RecordPage,
  SignedAffordabilitySummary,
  TransactionsOptions,
} from './link.ts'
export { type RegisterClientOptions, type RegisteredClient, registerClient } from './register.ts'
export type { Sandbox, SandboxLinkOptions, SandboxRevocation } from './sandbox.ts'
export {
  type DPoPKeyJwks,
  type EndedLink,
  type LinkState,
  memoryTokenStore,
  type TokenStore,
} from './token-store.ts'
