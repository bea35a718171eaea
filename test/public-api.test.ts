import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

/**
 * Each package has one public entry, `src/index.ts`, and it exports by name: what is public is a
 * decision written there, never whatever a module happens to export (`export *`). Completeness of the
 * doc comments is checked by `npm run docs` (typedoc, undocumented exports are errors).
 */
const packages = readdirSync(new URL('../packages/', import.meta.url))

describe('public API', () => {
  it.each(packages)('@consentry/%s exports by name only', (name) => {
    const index = readFileSync(new URL(`../packages/${name}/src/index.ts`, import.meta.url), 'utf8')
    expect(index).toMatch(/^export /m)
    expect(index.match(/^\s*export\s*\*(\s*as\s+\w+)?\s*from\b.*$/gm) ?? []).toEqual([])
  })
})
