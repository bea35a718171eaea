import { readFileSync } from 'node:fs'
import { CLIENT_ERROR_CODES } from '@consentry/client'
import { AUDIT_PROBLEM_CODES, OAUTH_ERRORS, PROBLEM_CODES } from '@consentry/core'
import { ConfigError } from '@consentry/server'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

/**
 * docs/errors.md has one entry (a `### \`code\`` heading) per code of every catalogue, in the section
 * whose heading names that catalogue. A code added to a catalogue without its entry fails here.
 */
const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8')

/** The `### \`code\`` headings of the `## ` section whose heading contains `marker`. */
function entries(marker: string): string[] {
  const sections = doc.split(/^## /m).slice(1)
  const matching = sections.filter((s) => s.split('\n', 1)[0]!.includes(marker))
  expect(matching, `one "## …${marker}…" section in docs/errors.md`).toHaveLength(1)
  return [...matching[0]!.matchAll(/^### `([a-z_]+)`$/gm)].map((m) => m[1]!)
}

/** The string literals of a union type written in a source file (for catalogues that are only types). */
function literalUnion(file: string, find: (node: ts.Node) => ts.TypeNode | undefined): string[] {
  const path = new URL(`../packages/${file}`, import.meta.url)
  const source = ts.createSourceFile(file, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true)
  let type: ts.TypeNode | undefined
  const visit = (node: ts.Node) => {
    type ??= find(node)
    ts.forEachChild(node, visit)
  }
  visit(source)
  if (!type || !ts.isUnionTypeNode(type)) throw new Error(`no union type found in ${file}`)
  return type.types.map((t) => {
    if (!ts.isLiteralTypeNode(t) || !ts.isStringLiteral(t.literal)) throw new Error(`non-literal in ${file}`)
    return t.literal.text
  })
}

const egressCodes = literalUnion('server/src/net/guarded-fetch.ts', (node) =>
  ts.isTypeAliasDeclaration(node) && node.name.text === 'EgressErrorCode' ? node.type : undefined,
)
const storeCodes = literalUnion('server/src/errors.ts', (node) =>
  ts.isTypeAliasDeclaration(node) && node.name.text === 'StoreErrorCode' ? node.type : undefined,
)
/** The codes `ResourceAuthError`'s constructor accepts (its `WWW-Authenticate` errors). */
const resourceAuthCodes = literalUnion('server/src/errors.ts', (node) =>
  ts.isParameter(node) &&
  ts.isIdentifier(node.name) &&
  node.name.text === 'code' &&
  ts.isConstructorDeclaration(node.parent) &&
  ts.isClassDeclaration(node.parent.parent) &&
  node.parent.parent.name?.text === 'ResourceAuthError'
    ? node.type
    : undefined,
)

const catalogues: [section: string, codes: readonly string[]][] = [
  ['`OAUTH_ERRORS`', [...OAUTH_ERRORS, ...resourceAuthCodes]],
  ['`PROBLEM_CODES`', Object.keys(PROBLEM_CODES)],
  ['`ConfigError`', [new ConfigError('x').code]],
  ['`EgressErrorCode`', egressCodes],
  ['`StoreErrorCode`', storeCodes],
  ['`AUDIT_PROBLEM_CODES`', AUDIT_PROBLEM_CODES],
  ['`CLIENT_ERROR_CODES`', Object.keys(CLIENT_ERROR_CODES)],
]

describe('docs/errors.md', () => {
  it.each(catalogues)('has an entry for every code of %s', (section, codes) => {
    expect(codes.length).toBeGreaterThan(0)
    const documented = entries(section)
    const missing = [...new Set(codes)].filter((code) => !documented.includes(code))
    expect(missing, `codes of ${section} without an entry in docs/errors.md`).toEqual([])
  })

  it('documents no code twice within a catalogue, and every entry says cause, fix and what to tell', () => {
    for (const [section] of catalogues) {
      const documented = entries(section)
      expect(new Set(documented).size, section).toBe(documented.length)
    }
    for (const entry of doc.split(/^### /m).slice(1)) {
      const name = entry.split('\n', 1)[0]
      if (name === '`invalid_config`') continue // one entry, two catalogues: written as two paragraphs
      expect(entry, name).toContain('**Cause:**')
      expect(entry, name).toContain('**Fix:**')
      expect(entry, name).toContain('**Tell the person:**')
    }
  })
})
