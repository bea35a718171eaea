/**
 * Signed notes and checkpoints as C2SP defines them (c2sp.org/signed-note, c2sp.org/tlog-checkpoint),
 * with Ed25519 note signatures (signature type 0x01):
 *
 * ```text
 * harbor.example/audit          ← origin (the log's name)
 * 42                            ← tree size, decimal
 * 3q2+7w…=                      ← root hash, standard base64 with padding
 *                               ← blank line
 * — harbor.example/audit AbCd…= ← "— " name " " base64(key id (4 bytes) ‖ Ed25519 signature (64))
 * ```
 *
 * The signed message is the note text (every line before the blank line, each ending in `\n`). The
 * verifier key string is `<name>+<key id, 8 hex>+<base64(0x01 ‖ 32-byte public key)>`, the key id the
 * first 4 bytes of `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)`.
 *
 * Pure: Ed25519 verification uses Web Crypto; no I/O.
 */
import { sha256 } from './sha256.ts'

/** Ed25519 note signature type (C2SP signed-note). */
export const NOTE_ED25519 = 0x01

/** A log's checkpoint: origin, tree size and root hash (plus optional extension lines). */
export interface LogCheckpoint {
  /** The log's origin line (its name, e.g. `pay.example/consentry-audit`). */
  origin: string
  /** Number of leaves in the tree. */
  size: number
  /** The tree's root hash (32 bytes). */
  root: Uint8Array
  /** Extension lines after the root (none by default). */
  extensions?: string[]
}

/** A parsed note: its text (the signed message) and its signature lines. */
export interface Note {
  /** The signed text, up to and including its final newline. */
  text: string
  /** Its signature lines: key name, 4-byte key id, signature bytes. */
  signatures: {
    /** The signing key's name. */
    name: string
    /** The signing key's 4-byte id. */
    keyId: Uint8Array
    /** The signature bytes (64 for Ed25519). */
    signature: Uint8Array
  }[]
}

/** A parsed verifier key. */
export interface NoteVerifier {
  /** The key's name (for a checkpoint key: the log's origin). */
  name: string
  /** The 4-byte key id (C2SP signed-note). */
  keyId: Uint8Array
  /** Raw 32-byte Ed25519 public key. */
  publicKey: Uint8Array
}

const encoder = new TextEncoder()
const MAX_NOTE = 1 << 20

/** Standard base64 with padding (RFC 4648 §4). */
export function toBase64(bytes: Uint8Array): string {
  let binary = ''
  for (const b of bytes) binary += String.fromCharCode(b)
  return btoa(binary)
}

/** Strict standard base64 (with padding) to bytes; `null` if not canonical base64. */
export function fromBase64(text: string): Uint8Array | null {
  if (typeof text !== 'string' || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null
  try {
    const binary = atob(text)
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0))
    return toBase64(bytes) === text ? bytes : null
  } catch {
    return null
  }
}

const toHex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')

/** A key name: non-empty, no whitespace, no `+` (C2SP signed-note). */
export function isValidKeyName(name: string): boolean {
  return typeof name === 'string' && name.length > 0 && !/[\s+]/u.test(name) && !hasControl(name)
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const hasControl = (text: string) => /[\u0000-\u0009\u000b-\u001f\u007f]/.test(text)

/**
 * The 4-byte key id of an Ed25519 note key: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4].
 *
 * @example
 * ```ts
 * noteKeyId('harbor.example/audit', publicKey) // Uint8Array(4)
 * ```
 */
export function noteKeyId(name: string, publicKey: Uint8Array): Uint8Array {
  const nameBytes = encoder.encode(name)
  const input = new Uint8Array(nameBytes.length + 2 + publicKey.length)
  input.set(nameBytes)
  input[nameBytes.length] = 0x0a
  input[nameBytes.length + 1] = NOTE_ED25519
  input.set(publicKey, nameBytes.length + 2)
  return sha256(input).slice(0, 4)
}

/**
 * The verifier key string of an Ed25519 note key: `<name>+<hex key id>+<base64(0x01 ‖ public key)>`.
 *
 * @example
 * ```ts
 * formatVerifierKey('harbor.example/audit', publicKey) // 'harbor.example/audit+1a2b3c4d+AcV…='
 * ```
 */
export function formatVerifierKey(name: string, publicKey: Uint8Array): string {
  if (!isValidKeyName(name)) throw new TypeError('a note key name is non-empty, without spaces or "+"')
  if (publicKey.length !== 32) throw new TypeError('an Ed25519 public key is 32 bytes')
  const typed = new Uint8Array(33)
  typed[0] = NOTE_ED25519
  typed.set(publicKey, 1)
  return `${name}+${toHex(noteKeyId(name, publicKey))}+${toBase64(typed)}`
}

/**
 * Parse a verifier key string; `null` if it is malformed, not Ed25519, or its key id does not match.
 *
 * @example
 * ```ts
 * const verifier = parseVerifierKey(metadata.audit_log.verifier_key)
 * ```
 */
export function parseVerifierKey(key: string): NoteVerifier | null {
  if (typeof key !== 'string') return null
  // The base64 key may itself contain "+": split at the first two only.
  const first = key.indexOf('+')
  const second = key.indexOf('+', first + 1)
  if (first < 0 || second < 0) return null
  const [name, hexId, encoded] = [key.slice(0, first), key.slice(first + 1, second), key.slice(second + 1)]
  if (!isValidKeyName(name) || !/^[0-9a-f]{8}$/.test(hexId)) return null
  const typed = fromBase64(encoded)
  if (!typed || typed.length !== 33 || typed[0] !== NOTE_ED25519) return null
  const publicKey = typed.slice(1)
  const keyId = noteKeyId(name, publicKey)
  if (toHex(keyId) !== hexId) return null
  return { name, keyId, publicKey }
}

/**
 * The checkpoint body (the note text): origin, size and base64 root, each ending in `\n`.
 *
 * @example
 * ```ts
 * formatCheckpoint({ origin: 'harbor.example/audit', size: 42, root }) // 'harbor.example/audit\n42\n…=\n'
 * ```
 */
export function formatCheckpoint(checkpoint: LogCheckpoint): string {
  const { origin, size, root, extensions = [] } = checkpoint
  if (typeof origin !== 'string' || origin === '' || origin.includes('\n') || hasControl(origin))
    throw new TypeError('a checkpoint origin is one non-empty line')
  if (!Number.isSafeInteger(size) || size < 0)
    throw new TypeError('a checkpoint size is a non-negative integer')
  if (!(root instanceof Uint8Array) || root.length !== 32)
    throw new TypeError('a checkpoint root is 32 bytes')
  for (const line of extensions)
    if (line === '' || line.includes('\n') || hasControl(line)) throw new TypeError('bad extension line')
  return [origin, String(size), toBase64(root), ...extensions].map((l) => `${l}\n`).join('')
}

/** Parse a checkpoint body (note text); `null` if malformed. */
export function parseCheckpoint(text: string): LogCheckpoint | null {
  if (typeof text !== 'string' || !text.endsWith('\n')) return null
  const lines = text.slice(0, -1).split('\n')
  if (lines.length < 3) return null
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]]
  if (origin === '' || !/^(0|[1-9][0-9]*)$/.test(sizeText)) return null
  const size = Number(sizeText)
  if (!Number.isSafeInteger(size)) return null
  const root = fromBase64(rootText)
  if (!root || root.length !== 32 || extensions.some((l) => l === '')) return null
  return { origin, size, root, ...(extensions.length ? { extensions } : {}) }
}

/**
 * Parse a signed note (C2SP signed-note): the text, a blank line, then one or more signature lines
 * `— <name> <base64(key id ‖ signature)>`. `null` if malformed (control characters, no signature,
 * a bad signature line, over 1 MiB).
 */
export function parseNote(note: string): Note | null {
  if (typeof note !== 'string' || note.length > MAX_NOTE || !note.endsWith('\n') || hasControl(note))
    return null
  const split = note.lastIndexOf('\n\n')
  if (split < 0) return null
  const text = note.slice(0, split + 1)
  const sigLines = note.slice(split + 2, -1).split('\n')
  if (sigLines.length === 0 || sigLines.length > 100) return null
  const signatures: Note['signatures'] = []
  for (const line of sigLines) {
    const match = /^\u2014 (\S+) (\S+)$/u.exec(line)
    if (!match) return null
    const [, name, encoded] = match as unknown as [string, string, string]
    const bytes = fromBase64(encoded)
    if (!isValidKeyName(name) || !bytes || bytes.length < 5) return null
    signatures.push({ name, keyId: bytes.slice(0, 4), signature: bytes.slice(4) })
  }
  return { text, signatures }
}

/**
 * Assemble a signed note from its text and Ed25519 signature (made over the UTF-8 text).
 *
 * @example
 * ```ts
 * const note = formatNote(body, [{ name: origin, keyId, signature }])
 * ```
 */
export function formatNote(
  text: string,
  signatures: { name: string; keyId: Uint8Array; signature: Uint8Array }[],
): string {
  if (!text.endsWith('\n') || hasControl(text))
    throw new TypeError('a note text ends in "\\n", no control characters')
  const lines = signatures.map(({ name, keyId, signature }) => {
    const bytes = new Uint8Array(keyId.length + signature.length)
    bytes.set(keyId)
    bytes.set(signature, keyId.length)
    return `\u2014 ${name} ${toBase64(bytes)}\n`
  })
  return `${text}\n${lines.join('')}`
}

/** Result of {@link verifyCheckpointNote}. */
export type CheckpointNoteVerification =
  | {
      /** The note is signed by the key and is a checkpoint of its log. */
      ok: true
      /** The verified checkpoint. */
      checkpoint: LogCheckpoint
      /** The signed text. */
      text: string
    }
  | {
      /** It did not verify. */
      ok: false
      /** Why: see docs/errors.md (audit verification). */
      reason: 'malformed' | 'unknown_key' | 'bad_signature' | 'wrong_origin'
      /** A sentence for a person. */
      message: string
    }

/**
 * Verify a signed checkpoint against the log's verifier key (`audit_log.verifier_key`): the note
 * parses, a signature line carries the key's name and id and verifies (Ed25519 over the text), the
 * body is a checkpoint whose origin is the key name. Signatures by other keys are ignored (C2SP).
 * Never throws.
 *
 * @example
 * ```ts
 * const check = await verifyCheckpointNote(await (await fetch(checkpointUrl)).text(), verifierKey)
 * if (check.ok) console.log(check.checkpoint.size)
 * ```
 */
export async function verifyCheckpointNote(
  note: string,
  verifierKey: string | NoteVerifier,
): Promise<CheckpointNoteVerification> {
  const verifier = typeof verifierKey === 'string' ? parseVerifierKey(verifierKey) : verifierKey
  if (!verifier) return { ok: false, reason: 'malformed', message: 'the verifier key is malformed' }
  const parsed = parseNote(note)
  if (!parsed) return { ok: false, reason: 'malformed', message: 'not a signed note' }
  const checkpoint = parseCheckpoint(parsed.text)
  if (!checkpoint) return { ok: false, reason: 'malformed', message: 'the note is not a checkpoint' }
  const ours = parsed.signatures.filter(
    (s) => s.name === verifier.name && toHex(s.keyId) === toHex(verifier.keyId),
  )
  if (ours.length === 0)
    return { ok: false, reason: 'unknown_key', message: `no signature by ${verifier.name}` }
  let valid = false
  try {
    const key = await crypto.subtle.importKey(
      'raw',
      new Uint8Array(verifier.publicKey),
      { name: 'Ed25519' },
      false,
      ['verify'],
    )
    for (const sig of ours) {
      if (sig.signature.length !== 64) continue
      if (
        await crypto.subtle.verify(
          { name: 'Ed25519' },
          key,
          new Uint8Array(sig.signature),
          encoder.encode(parsed.text),
        )
      ) {
        valid = true
        break
      }
    }
  } catch {
    valid = false
  }
  if (!valid)
    return { ok: false, reason: 'bad_signature', message: 'the checkpoint signature does not verify' }
  if (checkpoint.origin !== verifier.name)
    return {
      ok: false,
      reason: 'wrong_origin',
      message: `origin "${checkpoint.origin}" is not the key's name`,
    }
  return { ok: true, checkpoint, text: parsed.text }
}

/**
 * Sign a note text with an Ed25519 key (Web Crypto `CryptoKey`, algorithm `Ed25519`) and return the
 * signed note with one signature line by `name`.
 *
 * @example
 * ```ts
 * const note = await signNote(formatCheckpoint({ origin, size, root }), origin, privateKey, publicKey)
 * ```
 */
export async function signNote(
  text: string,
  name: string,
  privateKey: CryptoKey,
  publicKey: Uint8Array,
): Promise<string> {
  if (!isValidKeyName(name)) throw new TypeError('a note key name is non-empty, without spaces or "+"')
  const signature = new Uint8Array(
    await crypto.subtle.sign({ name: 'Ed25519' }, privateKey, encoder.encode(text)),
  )
  return formatNote(text, [{ name, keyId: noteKeyId(name, publicKey), signature }])
}
