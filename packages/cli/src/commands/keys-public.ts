import { parseArgs } from 'node:util'
import { usage } from '../args.ts'
import { type Command, UsageError } from '../io.ts'
import { publicJwk, readJwks } from '../jwk.ts'

/**
 * `consentry keys public <private.jwk.json>`: the public half of a private JWK (or of every key of a
 * JWKS), as a JWKS — what `consentry keys generate --out` writes as `<name>.public.jwks.json`.
 */
export const keysPublic: Command = {
  name: ['keys', 'public'],
  summary: 'print the public JWKS of a private JWK file',
  usage: `Usage: consentry keys public <private.jwk.json>

  Prints {"keys": [<public JWK>]}: the key with its private members (d, p, q, dp, dq, qi) removed,
  kid, alg and use kept. For a key printed by consentry keys generate without --out, or the value
  of CONSENTRY_SIGNING_JWK saved to a file.
`,
  async run(args, io) {
    const { positionals } = usage(() =>
      parseArgs({ args, options: {}, strict: true, allowPositionals: true }),
    )
    if (positionals.length !== 1) throw new UsageError('expected one JWK file')
    const file = positionals[0]!
    if (file.trimStart().startsWith('{'))
      throw new UsageError('give a file, not the key itself (it would show in the process list)')
    const { keys } = await readJwks(file)
    io.stdout(`${JSON.stringify({ keys: keys.map(publicJwk) }, null, 2)}\n`)
    return 0
  },
}
