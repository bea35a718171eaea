import { mkdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose'
import { usage } from '../args.ts'
import { openAtomic } from '../files.ts'
import { type Command, UsageError } from '../io.ts'
import { publicJwk } from '../jwk.ts'

/** The signature algorithms a generated key may use. EdDSA first: the default. */
const ALGORITHMS = ['EdDSA', 'ES256', 'PS256'] as const
type Algorithm = (typeof ALGORITHMS)[number]

/** The file names `--out <dir>` writes for `--name <name>`. */
export const keyFiles = (dir: string, name: string) => ({
  private: join(dir, `${name}.private.jwk.json`),
  public: join(dir, `${name}.public.jwks.json`),
})

/**
 * `consentry keys generate [--alg EdDSA] [--kid <kid>] [--out <dir> [--name <name>]]`: a new signing
 * key, as the files (or the JWK) the server's `signingKey` / `auditSigningKey`, `CONSENTRY_SIGNING_JWK`
 * and `consentry audit verify --key` take as they are.
 */
export const keysGenerate: Command = {
  name: ['keys', 'generate'],
  summary: 'generate a signing key (private JWK file + public JWKS file, or the private JWK on stdout)',
  usage: `Usage: consentry keys generate [--alg EdDSA|ES256|PS256] [--kid <kid>] [--out <dir> [--name <name>]]

  A new signing key: a JWK with kid (default: its RFC 7638 thumbprint), alg and use "sig".

  --out <dir>     write two files (the directory is created, mode 0700; existing files are never
                  replaced):
                    <dir>/<name>.private.jwk.json   the private JWK, mode 0600: the value of
                                                    signingKey: JSON.parse(file), of
                                                    CONSENTRY_SIGNING_JWK, or (EdDSA) of auditSigningKey
                    <dir>/<name>.public.jwks.json   {"keys": [the public JWK]}, mode 0644: publish it;
                                                    consentry audit verify --key takes it (audit keys)
                  and print their paths and the kid.
  --name <name>   the files' base name (default signing-key; e.g. audit-key for the audit log)
  --alg <alg>     EdDSA (Ed25519, the default: what the server generates, and the only kind that
                  signs audit checkpoints), ES256 or PS256
  --kid <kid>     the key id (default: the RFC 7638 thumbprint)

  Without --out, the private JWK alone is printed to stdout (one JSON object: redirect it to a
  file with mode 0600); its public half: consentry keys public <file>.

Examples:
  consentry keys generate --out ./keys                      # keys/signing-key.{private.jwk,public.jwks}.json
  consentry keys generate --out ./keys --name audit-key     # the audit log's Ed25519 key
  CONSENTRY_SIGNING_JWK="$(cat keys/signing-key.private.jwk.json)" consentry serve --config consentry.config.mjs
`,
  async run(args, io) {
    const { values, positionals } = usage(() =>
      parseArgs({
        args,
        options: {
          alg: { type: 'string', default: 'EdDSA' },
          kid: { type: 'string' },
          out: { type: 'string' },
          name: { type: 'string' },
        },
        strict: true,
        allowPositionals: true,
      }),
    )
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`)
    const alg = values.alg as Algorithm
    if (!ALGORITHMS.includes(alg)) throw new UsageError(`--alg must be one of ${ALGORITHMS.join(', ')}`)
    if (values.kid !== undefined && !/^[\w.:-]{1,128}$/.test(values.kid))
      throw new UsageError('--kid may hold letters, digits and _ . : - (at most 128)')
    if (values.name !== undefined && values.out === undefined)
      throw new UsageError('--name needs --out <dir>')
    const name = values.name ?? 'signing-key'
    if (!/^[\w.-]{1,64}$/.test(name) || name.startsWith('.'))
      throw new UsageError('--name may hold letters, digits and _ . - (a file name, not a path)')

    const files = values.out === undefined ? undefined : keyFiles(values.out, name)
    if (files) {
      for (const file of [files.private, files.public])
        if (await stat(file).catch(() => null))
          throw new UsageError(`${file} exists: keys are never replaced (choose another --out or --name)`)
    }

    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
    const pub = await exportJWK(publicKey)
    const kid = values.kid ?? (await calculateJwkThumbprint(pub))
    const meta = { kid, alg, use: 'sig' }
    const privateJwk: JWK = { ...(await exportJWK(privateKey)), ...meta }

    if (!files) {
      io.stdout(`${JSON.stringify(privateJwk, null, 2)}\n`)
      return 0
    }
    try {
      await mkdir(values.out!, { recursive: true, mode: 0o700 })
    } catch (error) {
      throw new UsageError(`cannot create ${values.out}: ${(error as NodeJS.ErrnoException).code ?? error}`)
    }
    await writeWhole(files.private, `${JSON.stringify(privateJwk, null, 2)}\n`, 0o600)
    await writeWhole(files.public, `${JSON.stringify({ keys: [publicJwk(privateJwk)] }, null, 2)}\n`, 0o644)
    io.stdout(
      [
        `${files.private}  private JWK (mode 0600): keep it secret`,
        `${files.public}  public JWKS: publish it`,
        `kid ${kid}, alg ${alg}`,
        '',
        'Use it:',
        `  signingKey: JSON.parse(readFileSync('${files.private}', 'utf8'))`,
        `  CONSENTRY_SIGNING_JWK="$(cat ${files.private})"`,
        ...(alg === 'EdDSA'
          ? [
              `  or as the audit log's key: auditSigningKey (verify exports: consentry audit verify <export> --key ${files.public})`,
            ]
          : []),
        '',
      ].join('\n'),
    )
    return 0
  },
}

/** Write `text` atomically with `mode` (the temporary file is created with it, then renamed). */
async function writeWhole(path: string, text: string, mode: number) {
  let file: Awaited<ReturnType<typeof openAtomic>>
  try {
    file = await openAtomic(path, mode)
  } catch (error) {
    throw new UsageError(`cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`)
  }
  try {
    await file.write(text)
    await file.commit()
  } catch (error) {
    await file.abort()
    throw error
  }
}
