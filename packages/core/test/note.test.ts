import { describe, expect, it } from 'vitest'
import {
  formatCheckpoint,
  formatVerifierKey,
  fromBase64,
  leafHash,
  parseCheckpoint,
  parseNote,
  parseVerifierKey,
  signNote,
  toBase64,
  verifyCheckpointNote,
} from '../src/index.ts'

// The golang.org/x/mod/sumdb/note reference vector (C2SP signed-note's origin).
const GO_VERIFIER = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'
const GO_SIGNER = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz'
const GO_TEXT =
  "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
const GO_NOTE = `${GO_TEXT}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url')

async function goKeys() {
  const seed = fromBase64(GO_SIGNER.split('+').slice(4).join('+'))!.slice(1)
  const publicKey = parseVerifierKey(GO_VERIFIER)!.publicKey
  const privateKey = await crypto.subtle.importKey(
    'jwk',
    { kty: 'OKP', crv: 'Ed25519', d: b64url(seed), x: b64url(publicKey) },
    { name: 'Ed25519' },
    false,
    ['sign'],
  )
  return { privateKey, publicKey }
}

describe('signed notes (C2SP signed-note, Ed25519)', () => {
  it('reads the Go reference verifier key and recomputes its key id', () => {
    const verifier = parseVerifierKey(GO_VERIFIER)!
    expect(verifier.name).toBe('PeterNeumann')
    expect(Buffer.from(verifier.keyId).toString('hex')).toBe('c74f20a3')
    expect(formatVerifierKey('PeterNeumann', verifier.publicKey)).toBe(GO_VERIFIER)
  })

  it('signs the reference note byte for byte (Ed25519 is deterministic)', async () => {
    const { privateKey, publicKey } = await goKeys()
    expect(await signNote(GO_TEXT, 'PeterNeumann', privateKey, publicKey)).toBe(GO_NOTE)
  })

  it('reads a verifier key whose base64 contains "+" (transparency-dev/formats vector)', () => {
    const plus = 'TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6'
    const verifier = parseVerifierKey(plus)!
    expect(verifier.name).toBe('TEST')
    expect(formatVerifierKey('TEST', verifier.publicKey)).toBe(plus)
  })

  it('refuses malformed verifier keys', () => {
    for (const bad of [
      '',
      'PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', // wrong id
      'PeterNeumann+c74f20a3+ApRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T', // wrong type / bytes
      'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T', // not base64
      'Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
      'PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
      GO_VERIFIER.slice(0, -1),
    ])
      expect(parseVerifierKey(bad), bad).toBeNull()
  })

  it('parses notes and refuses malformed ones', () => {
    const note = parseNote(GO_NOTE)!
    expect(note.text).toBe(GO_TEXT)
    expect(note.signatures).toHaveLength(1)
    for (const bad of [
      GO_TEXT, // no signature block
      GO_NOTE.slice(0, -1), // no final newline
      GO_NOTE.replace('— ', '-- '),
      GO_NOTE.replace('x08go', 'x08g'), // not base64
      GO_NOTE.replace('If', 'I\u0007f'), // control character
      `${GO_TEXT}\n`,
    ])
      expect(parseNote(bad)).toBeNull()
  })
})

describe('checkpoints (C2SP tlog-checkpoint)', () => {
  const root = leafHash(new Uint8Array(0))

  it('formats origin, decimal size and padded base64 root, each line ending in \\n', () => {
    const body = formatCheckpoint({ origin: 'harbor.example/audit', size: 42, root })
    expect(body).toBe(`harbor.example/audit\n42\n${toBase64(root)}\n`)
    expect(toBase64(root).endsWith('=')).toBe(true)
    expect(parseCheckpoint(body)).toEqual({ origin: 'harbor.example/audit', size: 42, root })
    for (const bad of [
      'harbor.example/audit\n042\nbad\n',
      `harbor.example/audit\n-1\n${toBase64(root)}\n`,
      `harbor.example/audit\n1\n${toBase64(root).replace(/=+$/, '')}\n`,
      `harbor.example/audit\n1\n${toBase64(root)}`,
      `\n1\n${toBase64(root)}\n`,
      `harbor.example/audit\n1\n${toBase64(root.slice(1))}\n`,
    ])
      expect(parseCheckpoint(bad), JSON.stringify(bad)).toBeNull()
  })

  it('verifies a signed checkpoint and refuses forged, re-signed and foreign ones', async () => {
    const { privateKey, publicKey } = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair
    const raw = new Uint8Array(await crypto.subtle.exportKey('raw', publicKey))
    const origin = 'harbor.example/audit'
    const verifierKey = formatVerifierKey(origin, raw)
    const note = await signNote(formatCheckpoint({ origin, size: 7, root }), origin, privateKey, raw)
    const ok = await verifyCheckpointNote(note, verifierKey)
    expect(ok.ok && ok.checkpoint.size).toBe(7)

    const forged = note.replace('\n7\n', '\n8\n')
    expect(await verifyCheckpointNote(forged, verifierKey)).toMatchObject({
      ok: false,
      reason: 'bad_signature',
    })
    expect(await verifyCheckpointNote(GO_NOTE, verifierKey)).toMatchObject({ ok: false, reason: 'malformed' })
    const other = formatVerifierKey('someone.else/log', raw)
    expect(await verifyCheckpointNote(note, other)).toMatchObject({ ok: false, reason: 'unknown_key' })
    expect(await verifyCheckpointNote(note, 'garbage')).toMatchObject({ ok: false, reason: 'malformed' })
    // An extra signature by an unknown key is ignored (C2SP), ours still verifies.
    const cosigned = `${note}— witness.example AAAAAAAA${'A'.repeat(84)}\n`
    expect((await verifyCheckpointNote(cosigned, verifierKey)).ok).toBe(true)
  })
})
