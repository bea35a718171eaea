#!/usr/bin/env node
// The `consentry` binary. Runs the built CLI (dist/) when there is one. In a source checkout with no
// build, it re-runs itself under tsx with the "source" export condition, so the workspace packages
// resolve to their TypeScript sources.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { constants } from 'node:os'
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
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', tsx, fileURLToPath(import.meta.url), ...args],
    { stdio: 'inherit', env: { ...process.env, CONSENTRY_CLI_FROM_SOURCE: '1' } },
  )
  // `consentry serve` stops on SIGTERM: pass it on. Ctrl-C (SIGINT) and a closed terminal (SIGHUP)
  // reach the child from the terminal itself; here they only must not end this process first.
  process.on('SIGTERM', () => child.kill('SIGTERM'))
  process.on('SIGINT', () => {})
  process.on('SIGHUP', () => {})
  child.on('error', (error) => {
    console.error(`consentry: ${error.message}`)
    process.exitCode = 1
  })
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? 128 + (constants.signals[signal] ?? 0)
  })
}
