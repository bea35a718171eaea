#!/usr/bin/env node
// The published manifest differs from the repository's in one way: no `source` export condition.
//
// In the repository every `exports` entry has `"source": "./src/index.ts"`, so `npm start`, the
// benchmarks, tsc (`customConditions`) and the CLI shim run the TypeScript sources without a build.
// The tarball ships only `dist/`, so that condition would point at a file that is not there — and a
// consumer whose own tooling also uses a `source` condition would be sent to it. npm runs this as
// each package's `prepack` (strip the condition, keeping the original beside it) and `postpack`
// (put the original back), for `npm pack` and `npm publish` alike. See docs/releasing.md.
//
//   node ../../scripts/manifest.mjs prepack|postpack     (from a package directory)
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'

const MANIFEST = 'package.json'
const KEPT = '.package.json.repo' // the repository's manifest while a pack is under way (git-ignored)
const DEV_CONDITIONS = new Set(['source'])

/** `exports` without the development-only conditions, at any depth. */
function stripDevConditions(value) {
  if (Array.isArray(value)) return value.map(stripDevConditions)
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !DEV_CONDITIONS.has(key))
      .map(([key, inner]) => [key, stripDevConditions(inner)]),
  )
}

function prepack() {
  // A pack that died before its postpack left the repository's manifest aside: put it back first.
  if (existsSync(KEPT)) renameSync(KEPT, MANIFEST)
  const text = readFileSync(MANIFEST, 'utf8')
  const manifest = JSON.parse(text)
  if (manifest.exports === undefined) return
  writeFileSync(KEPT, text)
  writeFileSync(
    MANIFEST,
    `${JSON.stringify({ ...manifest, exports: stripDevConditions(manifest.exports) }, null, 2)}\n`,
  )
}

function postpack() {
  if (existsSync(KEPT)) renameSync(KEPT, MANIFEST)
}

const command = process.argv[2]
if (command === 'prepack') prepack()
else if (command === 'postpack') postpack()
else {
  console.error(`manifest.mjs: unknown command ${JSON.stringify(command)} (prepack | postpack)`)
  process.exit(2)
}
