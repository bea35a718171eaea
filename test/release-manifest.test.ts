/**
 * Release hygiene that needs no build: what `npm pack` does with the `source` export condition
 * (scripts/manifest.mjs, run as prepack/postpack), and that what is shipped to npm links nowhere
 * relative. The tarballs themselves are checked by `npm run check:packages` (docs/releasing.md).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { relativeLinks } from '../scripts/check-packages.ts'
import { publicPackages, ROOT, run } from '../scripts/packages.ts'

const dir = mkdtempSync(join(tmpdir(), 'consentry-manifest-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const manifestScript = join(ROOT, 'scripts', 'manifest.mjs')
const repoManifest = `${JSON.stringify(
  {
    name: 'pack-me',
    version: '1.0.0',
    type: 'module',
    exports: {
      '.': {
        source: './src/index.ts',
        import: { types: './dist/index.d.ts', default: './dist/index.js' },
      },
      './extra': { source: './src/extra.ts', default: './dist/extra.js' },
      './package.json': './package.json',
    },
    files: ['dist'],
    scripts: {
      prepack: `node ${JSON.stringify(manifestScript)} prepack`,
      postpack: `node ${JSON.stringify(manifestScript)} postpack`,
    },
  },
  null,
  2,
)}\n`

function fixture(name: string): string {
  const pkg = join(dir, name)
  mkdirSync(join(pkg, 'dist'), { recursive: true })
  writeFileSync(join(pkg, 'package.json'), repoManifest)
  writeFileSync(join(pkg, 'dist', 'index.js'), 'export {}\n')
  writeFileSync(join(pkg, 'dist', 'extra.js'), 'export {}\n')
  return pkg
}

describe('npm pack strips the development-only "source" condition', () => {
  it('ships exports without it and leaves the repository manifest byte for byte as it was', async () => {
    const pkg = fixture('plain')
    const out = join(dir, 'out')
    mkdirSync(out)
    await run('npm', ['pack', '--pack-destination', out, '--loglevel=error'], pkg)
    const tarball = join(out, readdirSync(out).find((f) => f.endsWith('.tgz'))!)
    const shipped = JSON.parse(await run('tar', ['xzOf', tarball, 'package/package.json']))
    expect(shipped.exports).toEqual({
      '.': { import: { types: './dist/index.d.ts', default: './dist/index.js' } },
      './extra': { default: './dist/extra.js' },
      './package.json': './package.json',
    })
    expect(shipped.name).toBe('pack-me')
    expect(readFileSync(join(pkg, 'package.json'), 'utf8')).toBe(repoManifest)
    expect(existsSync(join(pkg, '.package.json.repo'))).toBe(false)
  })

  it('a pack that died before postpack is undone by the next prepack', async () => {
    const pkg = fixture('interrupted')
    await run('node', [manifestScript, 'prepack'], pkg)
    expect(readFileSync(join(pkg, 'package.json'), 'utf8')).not.toContain('"source"')
    expect(readFileSync(join(pkg, '.package.json.repo'), 'utf8')).toBe(repoManifest)
    // No postpack: the next pack's prepack starts from the repository's manifest again.
    await run('node', [manifestScript, 'prepack'], pkg)
    expect(readFileSync(join(pkg, '.package.json.repo'), 'utf8')).toBe(repoManifest)
    await run('node', [manifestScript, 'postpack'], pkg)
    expect(readFileSync(join(pkg, 'package.json'), 'utf8')).toBe(repoManifest)
  })

  it('refuses an unknown command', async () => {
    await expect(run('node', [manifestScript, 'publish'], fixture('unknown'))).rejects.toThrow(/exited 2/)
  })
})

describe('what is shipped to npm links absolutely', () => {
  it('finds relative links in Markdown and HTML, and lets absolute ones and anchors be', () => {
    expect(
      relativeLinks(
        [
          'See [the protocol](../../docs/protocol.md) and [audit](docs/audit.md "Audit").',
          '[ref]: ./CONTRIBUTING.md',
          '<a href="../README.md">up</a> <img src="logo.svg">',
          '[ok](https://github.com/consentry/consentry/blob/main/docs/protocol.md) [top](#install)',
          '[mail](mailto:security@example.com) <a href="https://example.com">x</a>',
        ].join('\n'),
      ),
    ).toEqual(['../../docs/protocol.md', 'docs/audit.md', './CONTRIBUTING.md', '../README.md', 'logo.svg'])
  })

  it.each(publicPackages().map((p) => [p.name, p.dir]))('%s: README and CHANGELOG', (_name, pkgDir) => {
    for (const file of ['README.md', 'CHANGELOG.md'])
      expect(relativeLinks(readFileSync(join(pkgDir, file), 'utf8')), file).toEqual([])
  })
})
