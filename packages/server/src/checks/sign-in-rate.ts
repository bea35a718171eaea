import type { Context } from '../context.ts'
import { clientAddress } from '../http/client-address.ts'
import { hmac } from '../tokens/random.ts'

/**
 * check_sign_in_rate: password guessing against the built-in form, without letting a stranger lock
 * the owner out. Only failures count, under two keys:
 *
 * - the (username, client address) pair: `freeFailures` free, then each attempt must wait
 *   `baseDelayMs · 2^(failures − freeFailures)`, at most `maxDelayMs`, after the pair's last
 *   failure; a success resets the pair. Another address has its own pair, so the owner signing in
 *   from their own address is never slowed by someone else's guesses.
 * - the client address: at most `maxFailuresPerAddress` failures per `windowMs`, whatever the
 *   usernames (password spraying).
 *
 * Usernames count case- and space-insensitively (NFKC, trimmed, inner whitespace collapsed,
 * lowercased), and only as an HMAC. Every attempt that passes is counted *before* the password is
 * checked (atomically, in the store), so a burst of parallel attempts cannot slip through one free
 * slot; a success then clears its pair and takes its address count back.
 */
export type SignInGate = { allowed: false; retryAfterMs: number } | { allowed: true; attempt: SignInAttempt }

/** An attempt let through the gate: what {@link signInSucceeded} / {@link signInFailed} need. */
export interface SignInAttempt {
  pairKey: string
  addressKey: string
  usernameHash: string
  addressHash: string
  /** Failures of the pair in its window, this attempt included. */
  failures: number
  /** Failures of the address in its window, this attempt included. */
  addressFailures: number
}

/** Trimmed, inner whitespace collapsed, NFKC, lowercase: `' Alice  M '` and `'alice m'` are one name. */
export function normalizeUsername(username: string): string {
  return username.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase()
}

/** How long the pair must wait after its `failures`-th failure before the next attempt. */
export function delayAfter(ctx: Context, failures: number): number {
  const { freeFailures, baseDelayMs, maxDelayMs } = ctx.config.signIn
  if (failures < freeFailures) return 0
  return Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(failures - freeFailures, 40))
}

export async function checkSignInRate(ctx: Context, request: Request, username: string): Promise<SignInGate> {
  const limits = ctx.config.signIn
  const address = clientAddress(ctx, request)
  const usernameHash = await hmac(ctx.secrets.cookie, `sign-in-username:${normalizeUsername(username)}`)
  const addressHash = await hmac(ctx.secrets.cookie, `sign-in-address:${address}`)
  const pairKey = `signin:pair:${usernameHash}:${addressHash}`
  const addressKey = `signin:address:${addressHash}`
  const now = ctx.now()

  // A cheap look first: a throttled attempt is answered without being counted.
  const [pair, byAddress] = await Promise.all([
    ctx.store.getFailures(pairKey, now, limits.pairWindowMs),
    ctx.store.getFailures(addressKey, now, limits.windowMs),
  ])
  const pairWait = pair ? pair.lastAt + delayAfter(ctx, pair.count) - now : 0
  const addressWait =
    byAddress && byAddress.count >= limits.maxFailuresPerAddress
      ? byAddress.firstAt + limits.windowMs - now
      : 0
  if (pairWait > 0 || addressWait > 0)
    return { allowed: false, retryAfterMs: Math.max(pairWait, addressWait) }

  // Count it up front, atomically: parallel attempts that all passed the look see each other here.
  const a = await ctx.store.recordFailure(addressKey, now, limits.windowMs)
  if (a.count > limits.maxFailuresPerAddress)
    return { allowed: false, retryAfterMs: Math.max(1, a.firstAt + limits.windowMs - now) }
  const p = await ctx.store.recordFailure(pairKey, now, limits.pairWindowMs)
  const raced = p.previousAt === undefined ? 0 : p.previousAt + delayAfter(ctx, p.count - 1) - now
  if (raced > 0) return { allowed: false, retryAfterMs: raced }
  return {
    allowed: true,
    attempt: { pairKey, addressKey, usernameHash, addressHash, failures: p.count, addressFailures: a.count },
  }
}

/** The password checked out: the pair starts afresh, and the address gets its attempt back. */
export async function signInSucceeded(ctx: Context, attempt: SignInAttempt): Promise<void> {
  await Promise.all([ctx.store.clearFailures(attempt.pairKey), ctx.store.forgiveFailure(attempt.addressKey)])
}

/**
 * The password did not check out (it was already counted): record the audit event — the username
 * and address only as HMACs, never the password.
 */
export async function signInFailed(ctx: Context, attempt: SignInAttempt): Promise<void> {
  const wait = delayAfter(ctx, attempt.failures)
  await ctx.audit.record({
    type: 'subject.sign_in_failed',
    actor: { type: 'subject' },
    data: {
      reason: 'invalid_credentials',
      username_hash: attempt.usernameHash,
      address_hash: attempt.addressHash,
      failures: attempt.failures,
      address_failures: attempt.addressFailures,
      ...(wait > 0 ? { next_attempt_after_ms: wait } : {}),
    },
  })
}
