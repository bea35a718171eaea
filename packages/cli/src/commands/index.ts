import type { Command } from '../io.ts'
import { auditExport } from './audit-export.ts'
import { auditVerify } from './audit-verify.ts'
import { keysGenerate } from './keys-generate.ts'
import { keysPublic } from './keys-public.ts'
import { register } from './register.ts'
import { serve } from './serve.ts'

/**
 * Every command of `consentry`, in the order `consentry help` lists them. A command is selected by
 * its `name` words (the longest match wins).
 *
 * To add one: write `src/commands/<name>.ts` exporting a {@link Command} and list
 * it here — `main`, `help` and usage errors pick it up.
 */
export const commands: readonly Command[] = [
  auditExport,
  auditVerify,
  keysGenerate,
  keysPublic,
  register,
  serve,
]
