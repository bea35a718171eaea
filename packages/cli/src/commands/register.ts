import { stat } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { ALLOWED_ALGS, type AllowedAlg, isSecureUrl } from '@consentry/core'
import { usage } from '../args.ts'
import { type AtomicFile, openAtomic } from '../files.ts'
import { type Command, UsageError } from '../io.ts'

/** Where the initial access token is read from when `--initial-access-token` is not given. */
export const TOKEN_ENV = 'CONSENTRY_INITIAL_ACCESS_TOKEN'

/**
 * `consentry register`: register a client (recipient) with a data holder by dynamic client
 * registration, with a freshly generated key, and keep the resulting config (private JWK included)
 * for `createConsentClient`. Exit 0 registered, 1 refused or failed, 2 usage error.
 */
export const register: Command = {
  name: ['register'],
  summary: 'register a client with a data holder; writes its config (with the private key)',
  usage: `Usage: consentry register --issuer <url> --name <name> --redirect-uri <uri> [--redirect-uri <uri>...]
                          [--initial-access-token <token>] [--webhook-uri <uri>]
                          [--alg ES256|PS256|EdDSA] [--out <file>]

  Generates a signing key, registers a private_key_jwt client with the holder (RFC 7591) and
  writes the config createConsentClient() takes: {"issuer", "clientId", "privateKey", ...}. It
  holds the private key: with --out it is written atomically with mode 0600 (an existing file is
  never replaced); without, it is printed to stdout.

  --issuer <url>                  the data holder's issuer (https, or http on loopback)
  --initial-access-token <token>  the registration token the holder gave you (default:
                                  $${TOKEN_ENV}, which keeps it out of the process list)
  --name <name>                   the client name people see on the consent page
  --redirect-uri <uri>            an exact redirect URI; repeat for more (the first is the default)
  --webhook-uri <uri>             where the holder pushes signed "grant ended" events
  --alg <alg>                     the key's algorithm (default ES256)
  --out <file>                    write the config here instead of stdout

  Exit status: 0 registered, 1 refused by the holder or failed, 2 usage error.
`,
  async run(args, io) {
    const { values, positionals } = usage(() =>
      parseArgs({
        args,
        options: {
          issuer: { type: 'string' },
          'initial-access-token': { type: 'string' },
          name: { type: 'string' },
          'redirect-uri': { type: 'string', multiple: true },
          'webhook-uri': { type: 'string' },
          alg: { type: 'string', default: 'ES256' },
          out: { type: 'string' },
        },
        strict: true,
        allowPositionals: true,
      }),
    )
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`)
    const issuer = values.issuer
    if (!issuer) throw new UsageError('--issuer <url> is required')
    if (!isSecureUrl(issuer)) throw new UsageError('--issuer must be an https URL (http only on loopback)')
    const token = values['initial-access-token'] || process.env[TOKEN_ENV] || ''
    if (!token) throw new UsageError(`--initial-access-token <token> or $${TOKEN_ENV} is required`)
    const name = values.name?.trim()
    if (!name) throw new UsageError('--name <name> is required')
    const redirectUris = values['redirect-uri'] ?? []
    if (redirectUris.length === 0) throw new UsageError('--redirect-uri <uri> is required')
    for (const uri of [...redirectUris, ...(values['webhook-uri'] ? [values['webhook-uri']] : [])]) {
      if (!isSecureUrl(uri)) throw new UsageError(`${uri} is not an https URL (http only on loopback)`)
    }
    const alg = values.alg as AllowedAlg
    if (!ALLOWED_ALGS.includes(alg)) throw new UsageError(`--alg must be one of ${ALLOWED_ALGS.join(', ')}`)

    // Before registering: the output must be writable and must not replace a config (and its key).
    let out: AtomicFile | undefined
    if (values.out !== undefined) {
      if (await stat(values.out).catch(() => null))
        throw new UsageError(`${values.out} exists; move it away first (it may hold a registered key)`)
      out = await openAtomic(values.out).catch((error: NodeJS.ErrnoException) => {
        throw new UsageError(`cannot write ${values.out}: ${error.code ?? error.message}`)
      })
    }
    try {
      const { registerClient } = await import('@consentry/client')
      const config = await registerClient({
        issuer,
        initialAccessToken: token,
        clientName: name,
        redirectUris,
        alg,
        ...(values['webhook-uri'] ? { webhookUri: values['webhook-uri'] } : {}),
      })
      const json = `${JSON.stringify(config, null, 2)}\n`
      if (!out) {
        io.stdout(json)
        return 0
      }
      await out.write(json)
      await out.commit()
      io.stdout(
        `registered "${config.clientName}" with ${config.issuer} as client ${config.clientId}\n` +
          `config written to ${values.out} (mode 0600; it holds the private key: keep it secret)\n`,
      )
      return 0
    } catch (error) {
      await out?.abort()
      // Nothing secret in what is printed: the token is scrubbed from any message that echoes it.
      const message = error instanceof Error ? error.message : String(error)
      throw error instanceof UsageError ? error : new Error(message.split(token).join('[redacted]'))
    }
  },
}
