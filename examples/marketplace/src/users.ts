/**
 * Bazaar Market's demo sellers. Passwords are kept only as salted SHA-256 digests and compared in
 * constant time with Web Crypto (portable to any runtime). Demo only: a real marketplace uses its own login.
 */

export interface DemoUser {
  /** The subject Consentry sees: the holder's own user id. */
  subject: string
  username: string
  password: string
  name: string
}

export const DEMO_SELLERS: readonly DemoUser[] = [
  { subject: 'sam', username: 'sam', password: 'sam', name: 'Sam Whitfield' },
  { subject: 'kim', username: 'kim', password: 'kim', name: 'Kim Nakamura' },
]

export interface Users {
  /** The person, when the username and password match; `null` otherwise (same time either way). */
  verifyPassword(username: string, password: string): Promise<{ subject: string; name: string } | null>
  /** The person's display name, e.g. "Sam Whitfield". */
  displayName(subject: string): string | undefined
}

const encoder = new TextEncoder()

async function digest(salt: Uint8Array, password: string): Promise<Uint8Array> {
  const input = new Uint8Array(salt.length + encoder.encode(password).length)
  input.set(salt)
  input.set(encoder.encode(password), salt.length)
  return new Uint8Array(await crypto.subtle.digest('SHA-256', input))
}

/** Constant-time equality of two digests of the same length. */
function equalDigests(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}

export function createUsers(users: readonly DemoUser[] = DEMO_SELLERS): Users {
  const salt = crypto.getRandomValues(new Uint8Array(16))
  const records = new Map(
    users.map((u) => [u.username, { user: u, hash: digest(salt, u.password) }] as const),
  )
  // Compared against for unknown usernames, so they take as long as known ones.
  const dummy = digest(salt, crypto.randomUUID())
  const bySubject = new Map(users.map((u) => [u.subject, u]))
  return {
    async verifyPassword(username, password) {
      if (typeof username !== 'string' || typeof password !== 'string') return null
      const record = records.get(username)
      const expected = await (record?.hash ?? dummy)
      const ok = equalDigests(await digest(salt, password), expected)
      return ok && record ? { subject: record.user.subject, name: record.user.name } : null
    },
    displayName(subject) {
      return bySubject.get(subject)?.name
    },
  }
}
