import { base64url } from 'jose'
import { OAuthError } from '../errors.ts'

const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/
const CHALLENGE = /^[A-Za-z0-9_-]{43}$/

/** check_pkce (at PAR): a S256 code challenge is required; `plain` is refused. */
export function checkPkceChallenge(challenge: string | undefined, method: string | undefined): string {
  if (!challenge) throw new OAuthError('invalid_request', 'code_challenge is required')
  if (method !== 'S256') throw new OAuthError('invalid_request', 'code_challenge_method must be S256')
  if (!CHALLENGE.test(challenge)) throw new OAuthError('invalid_request', 'code_challenge is malformed')
  return challenge
}

/**
 * check_pkce (at the token endpoint, before the code is consumed): a well-formed `code_verifier`
 * (RFC 7636 §4.1) is present. A request without one is refused and leaves the code unused.
 */
export function requirePkceVerifier(verifier: string | undefined): string {
  if (!verifier) throw new OAuthError('invalid_request', 'code_verifier is required')
  if (!VERIFIER.test(verifier)) throw new OAuthError('invalid_request', 'code_verifier is malformed')
  return verifier
}

/** check_pkce (at the token endpoint): the verifier must hash to the challenge. */
export async function checkPkceVerifier(verifier: string | undefined, challenge: string): Promise<void> {
  if (!verifier || !VERIFIER.test(verifier))
    throw new OAuthError('invalid_grant', 'code_verifier is missing or malformed')
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))
  if (base64url.encode(new Uint8Array(digest)) !== challenge)
    throw new OAuthError('invalid_grant', 'code_verifier does not match the code challenge')
}
