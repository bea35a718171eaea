#!/usr/bin/env node
// The `consentry` binary. Runs the built CLI (dist/) when there is one. In a source checkout with no
// build, it re-runs itself under tsx with the "source" export condition, so the workspace packages
// resolve to their TypeScript sources.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const built = new URL('../dist/index.js', import.meta.url)
const source = new URL('../src/index.ts', import.meta.url)
const args = process.argv.slice(2)

if (existsSync(fileURLToPath(built)) || process.env.CONSENTRY_CLI_FROM_SOURCE === '1') {
  const entry = existsSync(fileURLToPath(built)) ? built : source
  const { main } = await import(entry.href)
  process.exitCode = await main(args)
} else {
  const tsx = import.meta.resolve('tsx')
  const child = spawnSync(
    process.execPath,
    ['--conditions=source', '--import', tsx, fileURLToPath(import.meta.url), ...args],
    { stdio: 'inherit', env: { ...process.env, CONSENTRY_CLI_FROM_SOURCE: '1' } },
  )
  if (child.error) console.error(`consentry: ${child.error.message}`)
  process.exitCode = child.status ?? 1
}
