import { parseArgs } from 'node:util'

/** The signature algorithms a generated key may use. */
const CHECKPOINT_ALGORITHMS = ['ES256', 'EdDSA', 'PS256'] as const
type CheckpointAlgorithm = (typeof CHECKPOINT_ALGORITHMS)[number]

import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose'
import { usage } from '../args.ts'
import { type Command, UsageError } from '../io.ts'

/**
 * `consentry keys generate [--alg ES256] [--kid <kid>]`: a new signing key pair as JWKs (for the audit
 * trail, tokens, receipts or a client's `private_key_jwt`).
 */
export const keysGenerate: Command = {
  name: ['keys', 'generate'],
  summary: 'generate a signing key pair (private and public JWK)',
  usage: `Usage: consentry keys generate [--alg ES256|EdDSA|PS256] [--kid <kid>]

  Prints {"private": <JWK>, "public": <JWK>} as JSON. Both carry the kid (default: the key's
  RFC 7638 thumbprint), alg and use "sig". Keep the private JWK secret; publish the public one.
`,
  async run(args, io) {
    const { values, positionals } = usage(() =>
      parseArgs({
        args,
        options: { alg: { type: 'string', default: 'ES256' }, kid: { type: 'string' } },
        strict: true,
        allowPositionals: true,
      }),
    )
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`)
    const alg = values.alg as CheckpointAlgorithm
    if (!CHECKPOINT_ALGORITHMS.includes(alg)) {
      throw new UsageError(`--alg must be one of ${CHECKPOINT_ALGORITHMS.join(', ')}`)
    }
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
    const publicJwk = await exportJWK(publicKey)
    const kid = values.kid ?? (await calculateJwkThumbprint(publicJwk))
    const meta = { kid, alg, use: 'sig' }
    const output = {
      private: { ...(await exportJWK(privateKey)), ...meta },
      public: { ...publicJwk, ...meta },
    }
    io.stdout(`${JSON.stringify(output, null, 2)}\n`)
    return 0
  },
}
