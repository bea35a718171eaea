import type { ClientRecord } from '@consentry/core'
import { OAuthError } from '../errors.ts'

/** check_redirect_uri: exact string match against a registered redirect URI (no patterns, no prefix). */
export function checkRedirectUri(client: ClientRecord, redirectUri: string | undefined): string {
  if (!redirectUri) throw new OAuthError('invalid_request', 'redirect_uri is required')
  if (!client.redirectUris.includes(redirectUri))
    throw new OAuthError('invalid_request', 'redirect_uri is not registered for this client')
  return redirectUri
}
