import type { Command } from '../io.ts'
import { auditExport } from './audit-export.ts'
import { auditVerify } from './audit-verify.ts'
import { keysGenerate } from './keys-generate.ts'
import { register } from './register.ts'

/**
 * Every command of `consentry`, in the order `consentry help` lists them. A command is selected by
 * its `name` words (the longest match wins).
 *
 * To add one (`serve` is planned): write `src/commands/<name>.ts` exporting a {@link Command} and list
 * it here — `main`, `help` and usage errors pick it up.
 */
export const commands: readonly Command[] = [
  auditExport,
  auditVerify,
  keysGenerate,
  register,
  // serve      — run a data holder from a config file (to come)
]
