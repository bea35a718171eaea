import { base64url } from 'jose'
import { ConfigError } from './errors.ts'
import type { AreaLog } from './logger.ts'
import type { Store } from './store/store.ts'

/**
 * Encrypts the keys and secrets the server generates and keeps in the store (the token signing key,
 * the DPoP-nonce, cursor and cookie HMAC keys, …) — e.g. with a cloud KMS. `name` is the secret's
 * name: bind it to the ciphertext (as additional authenticated data or an encryption context), so a
 * ciphertext cannot be swapped for another secret's. `decrypt` must throw when it cannot decrypt.
 *
 * @example
 * ```ts
 * import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms'
 * const kms = new KMSClient({})
 * const KeyId = process.env.CONSENTRY_KMS_KEY_ARN
 * const keyProvider: KeyProvider = {
 *   async encrypt(name, plaintext) {
 *     const out = await kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from(plaintext),
 *       EncryptionContext: { consentry_secret: name } }))
 *     return Buffer.from(out.CiphertextBlob!).toString('base64url')
 *   },
 *   async decrypt(name, ciphertext) {
 *     const out = await kms.send(new DecryptCommand({ KeyId, CiphertextBlob: Buffer.from(ciphertext, 'base64url'),
 *       EncryptionContext: { consentry_secret: name } }))
 *     return Buffer.from(out.Plaintext!).toString()
 *   },
 * }
 * createConsentServer({ ...config, keyProvider })
 * ```
 */
export interface KeyProvider {
  /** Encrypt `plaintext`; `name` identifies the secret (use it as associated data). Returns text to store. */
  encrypt(name: string, plaintext: string): Promise<string>
  /** Decrypt what `encrypt` returned for the same `name`; throw if it does not authenticate. */
  decrypt(name: string, ciphertext: string): Promise<string>
  /** Optional: `true` when `ciphertext` was made under a retired key and should be re-encrypted. */
  needsRewrap?(ciphertext: string): boolean
}

/** The environment variable holding the key-encryption key (32 random bytes, base64url). */
export const KEY_ENCRYPTION_KEY_ENV = 'CONSENTRY_KEY_ENCRYPTION_KEY'

/** Stored values that are encrypted start with this; anything else is plaintext. */
const ENCRYPTED = 'enc:'
const ENVELOPE = 'v1'
const enc = new TextEncoder()

/** Decode a key-encryption key: 32 bytes, base64url (standard base64 with padding is accepted too). */
function decodeKek(value: string): Uint8Array {
  let bytes: Uint8Array | undefined
  try {
    bytes = base64url.decode(value.trim().replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''))
  } catch {}
  if (bytes?.length !== 32)
    throw new ConfigError(
      `keyEncryptionKey (${KEY_ENCRYPTION_KEY_ENV}) must be 32 random bytes, base64url-encoded ` +
        `(e.g. node -e "console.log(crypto.randomBytes(32).toString('base64url'))")`,
    )
  return bytes
}

/**
 * The built-in {@link KeyProvider}: AES-256-GCM (Web Crypto) under a key-encryption key, a random
 * 96-bit IV per value, the secret's name as additional authenticated data. Ciphertexts are
 * `v1:<kid>:<iv>:<ciphertext>` (stored as `enc:v1:…`), where `kid` names the key-encryption key (a
 * truncated SHA-256 of it). Pass several keys to rotate: the first encrypts, every one decrypts, and
 * values under an older key are re-encrypted under the first at start.
 *
 * @example
 * ```ts
 * const keyProvider = keyEncryptionKeyProvider(process.env.CONSENTRY_KEY_ENCRYPTION_KEY!)
 * ```
 */
export function keyEncryptionKeyProvider(keys: string | readonly string[]): KeyProvider {
  const raws = [keys].flat().map(decodeKek)
  if (!raws.length) throw new ConfigError('keyEncryptionKey: give at least one key')
  // Known once the keys are imported, which every encrypt/decrypt awaits first.
  let currentKid: string | undefined
  const loaded = Promise.all(
    raws.map(async (raw) => {
      const digest = new Uint8Array(
        await crypto.subtle.digest('SHA-256', Uint8Array.from([...enc.encode('consentry-kek:'), ...raw])),
      )
      const key = await crypto.subtle.importKey('raw', raw as Uint8Array<ArrayBuffer>, 'AES-GCM', false, [
        'encrypt',
        'decrypt',
      ])
      return { kid: base64url.encode(digest.slice(0, 6)), key }
    }),
  ).then((keys) => {
    currentKid = keys[0]!.kid
    return keys
  })
  return {
    async encrypt(name, plaintext) {
      const { kid, key } = (await loaded)[0]!
      const iv = crypto.getRandomValues(new Uint8Array(12))
      const ct = new Uint8Array(
        await crypto.subtle.encrypt(
          { name: 'AES-GCM', iv, additionalData: enc.encode(name) },
          key,
          enc.encode(plaintext),
        ),
      )
      return `${ENVELOPE}:${kid}:${base64url.encode(iv)}:${base64url.encode(ct)}`
    },
    async decrypt(name, ciphertext) {
      const [version, kid, iv, ct] = ciphertext.split(':')
      if (version !== ENVELOPE || !kid || !iv || !ct) throw new Error('unknown envelope')
      const entry = (await loaded).find((k) => k.kid === kid)
      if (!entry) throw new Error(`encrypted under key-encryption key ${kid}, which is not configured`)
      const plain = await crypto.subtle.decrypt(
        {
          name: 'AES-GCM',
          iv: base64url.decode(iv) as Uint8Array<ArrayBuffer>,
          additionalData: enc.encode(name),
        },
        entry.key,
        base64url.decode(ct) as Uint8Array<ArrayBuffer>,
      )
      return new TextDecoder().decode(plain)
    },
    needsRewrap(ciphertext) {
      return currentKid !== undefined && ciphertext.split(':')[1] !== currentKid
    },
  }
}

/** How the server keeps its generated secrets, decided once at start from the configuration. */
export type SecretProtection =
  | { mode: 'encrypted'; provider: KeyProvider }
  /** The store keeps nothing past the process (memoryStore), or the holder said so loudly. */
  | { mode: 'plaintext'; reason: 'ephemeral' | 'dangerous' }

/**
 * Decide how secrets are kept: a configured `keyProvider`, else `keyEncryptionKey`, else the
 * `CONSENTRY_KEY_ENCRYPTION_KEY` environment variable; without any, plaintext only on a store that
 * keeps nothing (memoryStore) or under `dangerouslyStoreKeysInPlaintext`, otherwise a ConfigError.
 */
export function secretProtection(config: {
  store: Store
  keyProvider?: KeyProvider | undefined
  keyEncryptionKey?: string | readonly string[] | undefined
  dangerouslyStoreKeysInPlaintext?: boolean | undefined
}): SecretProtection {
  if (config.keyProvider && config.keyEncryptionKey)
    throw new ConfigError('give keyProvider or keyEncryptionKey, not both')
  if (config.keyProvider) {
    if (typeof config.keyProvider.encrypt !== 'function' || typeof config.keyProvider.decrypt !== 'function')
      throw new ConfigError('keyProvider needs encrypt(name, plaintext) and decrypt(name, ciphertext)')
    return { mode: 'encrypted', provider: config.keyProvider }
  }
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[
    KEY_ENCRYPTION_KEY_ENV
  ]
  const kek = config.keyEncryptionKey ?? (env ? env.split(',') : undefined)
  if (kek !== undefined) return { mode: 'encrypted', provider: keyEncryptionKeyProvider(kek) }
  if (config.store.ephemeral) return { mode: 'plaintext', reason: 'ephemeral' }
  if (config.dangerouslyStoreKeysInPlaintext) return { mode: 'plaintext', reason: 'dangerous' }
  throw new ConfigError(
    `server keys must be encrypted at rest: set ${KEY_ENCRYPTION_KEY_ENV} (32 random bytes, base64url), ` +
      'or pass keyEncryptionKey or keyProvider (a KMS) — or dangerouslyStoreKeysInPlaintext: true for a demo',
  )
}

const WRONG_KEK = 'cannot decrypt stored keys: wrong key-encryption key'

/**
 * The store with `getOrCreateSecret` encrypting what it stores and decrypting what it returns, so
 * every secret the server keeps — whoever asks for it — is encrypted at rest. A plaintext value
 * found under encryption (stored before encryption was configured) is encrypted in place; a value
 * that does not decrypt is a {@link ConfigError} naming the cause, never a garbage key.
 */
export function protectSecrets(
  store: Store,
  protection: SecretProtection,
  logger: Pick<AreaLog, 'warn' | 'info'>,
): Store {
  const getOrCreateSecret = async (name: string, create: () => string): Promise<string> => {
    if (protection.mode === 'plaintext') {
      const value = await store.getOrCreateSecret(name, create)
      if (value.startsWith(ENCRYPTED))
        throw new ConfigError(
          `stored keys are encrypted: configure the key-encryption key (${KEY_ENCRYPTION_KEY_ENV}) or keyProvider`,
        )
      return value
    }
    const { provider } = protection
    let candidate: string | undefined
    const created = async () => {
      candidate = create()
      return `${ENCRYPTED}${await provider.encrypt(name, candidate)}`
    }
    // create() must be synchronous for the store: encrypt a candidate first.
    const sealed = await created()
    const stored = await store.getOrCreateSecret(name, () => sealed)
    if (stored === sealed) return candidate!
    if (!stored.startsWith(ENCRYPTED)) {
      // Kept in plaintext by an earlier version or under dangerouslyStoreKeysInPlaintext: seal it now.
      const resealed = `${ENCRYPTED}${await provider.encrypt(name, stored)}`
      if (await store.replaceSecret(name, stored, resealed))
        logger.warn(
          { event: 'secret.encrypted', secret: name },
          'a server secret stored in plaintext was encrypted in place',
        )
      return stored
    }
    const ciphertext = stored.slice(ENCRYPTED.length)
    let plaintext: string
    try {
      plaintext = await provider.decrypt(name, ciphertext)
    } catch (cause) {
      const detail = cause instanceof Error ? ` (${cause.message})` : ''
      throw new ConfigError(`${WRONG_KEK}${detail}`, { cause })
    }
    if (provider.needsRewrap?.(ciphertext)) {
      const rewrapped = `${ENCRYPTED}${await provider.encrypt(name, plaintext)}`
      if (await store.replaceSecret(name, stored, rewrapped))
        logger.info(
          { event: 'secret.rewrapped', secret: name },
          'a server secret was re-encrypted under the current key-encryption key',
        )
    }
    return plaintext
  }
  return new Proxy(store, {
    get(target, key) {
      if (key === 'getOrCreateSecret') return getOrCreateSecret
      const value = Reflect.get(target, key, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}
