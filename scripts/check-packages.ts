/**
 * `npm run check:packages`: build, `npm pack` every public package, and check the tarballs — what
 * npm would publish, not the working tree — with publint, Are the Types Wrong, and the rules below.
 * Then install all tarballs into a fresh app outside the repository and load every package with
 * `import` and `require` under the running Node. Exits 1 on any error (see docs/releasing.md).
 *
 *   node --import tsx scripts/check-packages.ts [--no-build] [--keep] [--node <path to node>]…
 *   node --import tsx scripts/check-packages.ts --tarballs <dir>     (check tarballs packed already,
 *                                     e.g. by `changeset pack --out-dir <dir>`; no build, no pack)
 *
 * `--node` (repeatable) loads the installed packages under that Node too: CI passes the oldest Node
 * that `engines` allows, so the claim is tested (the CommonJS build needs require(esm), 22.12+, and
 * `sqliteStore` needs `node:sqlite` unflagged, 22.13+).
 */
import { spawnSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { publint } from 'publint'
import { formatMessage } from 'publint/utils'
import { buildPackages, type PackedPackage, packPackages, publicPackages, run } from './packages.ts'

const REPOSITORY = 'git+https://github.com/consentry/consentry.git'
const REQUIRED_FILES = ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md']
/** Export conditions that only make sense inside this repository (scripts/manifest.mjs strips them). */
const DEV_CONDITIONS = ['source']

const argv = process.argv.slice(2)
const args = new Set(argv)
const values = (flag: string) => argv.flatMap((a, i) => (a === flag && argv[i + 1] ? [argv[i + 1]!] : []))
const nodes = [process.execPath, ...values('--node')]
const tarballDir = values('--tarballs')[0]
const problems: string[] = []
const problem = (pkg: string, message: string) => problems.push(`${pkg}: ${message}`)

/** Every string target in an `exports` value, with the conditions leading to it. */
function targets(value: unknown, path: string[] = []): { path: string[]; target: string }[] {
  if (typeof value === 'string') return [{ path, target: value }]
  if (Array.isArray(value)) return value.flatMap((v) => targets(v, path))
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => targets(v, [...path, k]))
  return []
}

/** Relative links in Markdown (`[x](docs/a.md)`, `<a href="../x">`): dead once the file is on npm. */
export function relativeLinks(markdown: string): string[] {
  const links = [
    ...[...markdown.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!),
    ...[...markdown.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]!),
    ...[...markdown.matchAll(/\b(?:href|src)="([^"]+)"/g)].map((m) => m[1]!),
  ]
  return links.filter((l) => !/^(?:[a-z][a-z0-9+.-]*:|#)/i.test(l))
}

function checkManifest(
  pkg: PackedPackage,
  manifest: Record<string, unknown>,
  unpacked: string,
  release: string,
) {
  const name = pkg.name
  for (const { path, target } of targets(manifest.exports)) {
    const dev = path.find((c) => DEV_CONDITIONS.includes(c))
    if (dev) problem(name, `exports ${path.join(' → ')} uses the development-only "${dev}" condition`)
    else if (!target.includes('*') && !existsSync(join(unpacked, target)))
      problem(name, `exports ${path.join(' → ')} points at ${target}, which is not in the tarball`)
  }
  for (const field of ['main', 'module', 'types'] as const) {
    const target = manifest[field]
    if (typeof target === 'string' && !existsSync(join(unpacked, target)))
      problem(name, `"${field}" points at ${target}, which is not in the tarball`)
  }
  for (const target of Object.values((manifest.bin as Record<string, string> | undefined) ?? {}))
    if (!existsSync(join(unpacked, target))) problem(name, `bin ${target} is not in the tarball`)

  const repository = manifest.repository as { url?: string; directory?: string } | undefined
  if (repository?.url !== REPOSITORY) problem(name, `repository.url must be ${REPOSITORY}`)
  const directory = `packages/${pkg.dir.split('/').pop()}`
  if (repository?.directory !== directory) problem(name, `repository.directory must be ${directory}`)
  if (typeof manifest.homepage !== 'string' || !manifest.homepage.startsWith('https://'))
    problem(name, 'no https homepage')
  if (!(manifest.bugs as { url?: string } | undefined)?.url) problem(name, 'no bugs.url')
  if (!Array.isArray(manifest.keywords) || manifest.keywords.length === 0) problem(name, 'no keywords')
  if (manifest.license !== 'Apache-2.0') problem(name, `license is ${manifest.license}, not Apache-2.0`)
  if (!(manifest.engines as { node?: string } | undefined)?.node) problem(name, 'no engines.node')
  if ((manifest.publishConfig as { access?: string } | undefined)?.access !== 'public')
    problem(name, 'publishConfig.access must be "public" (a scoped package is private by default)')
  for (const [dep, range] of Object.entries((manifest.dependencies as Record<string, string>) ?? {})) {
    if (/^(?:file|link|workspace|portal):/.test(range)) problem(name, `dependency ${dep} is ${range}`)
    if (dep.startsWith('@consentry/') && range !== release)
      problem(name, `dependency ${dep}@${range}: the @consentry packages are released together at ${release}`)
  }
}

function checkFiles(pkg: PackedPackage, unpacked: string) {
  for (const file of REQUIRED_FILES)
    if (!pkg.files.includes(file)) problem(pkg.name, `${file} is not in the tarball`)
  for (const file of pkg.files) {
    if (/^(?:src|test)\//.test(file) || /\.test\.[cm]?[jt]s$/.test(file))
      problem(pkg.name, `${file} should not be published`)
    if (file.endsWith('.md'))
      for (const link of relativeLinks(readFileSync(join(unpacked, file), 'utf8')))
        problem(pkg.name, `${file} links to ${link}: a relative link is dead on npm, use an absolute URL`)
    if (file.endsWith('.map')) {
      const map = JSON.parse(readFileSync(join(unpacked, file), 'utf8')) as {
        sources: string[]
        sourcesContent?: (string | null)[]
      }
      if (map.sources.length !== map.sourcesContent?.filter((s) => typeof s === 'string').length)
        problem(pkg.name, `${file} lacks sourcesContent: its sources are not shipped`)
    }
  }
}

async function checkPublint(pkg: PackedPackage) {
  const data = readFileSync(pkg.tarball)
  const tarball = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer
  const { messages, pkg: manifest } = await publint({ pack: { tarball }, level: 'warning', strict: true })
  for (const m of messages) problem(pkg.name, `publint ${m.code}: ${formatMessage(m, manifest) ?? ''}`)
}

function checkTypes(pkg: PackedPackage) {
  const require = createRequire(import.meta.url)
  const cli = join(require.resolve('@arethetypeswrong/cli/package.json'), '..', 'dist', 'index.js')
  const result = spawnSync(
    process.execPath,
    [cli, pkg.tarball, '--format', 'table', '--no-definitely-typed', '--no-color', '--no-emoji'],
    { encoding: 'utf8' },
  )
  if (result.status !== 0)
    problem(pkg.name, `Are the Types Wrong found problems:\n${result.stdout}${result.stderr}`)
}

/** Install every tarball into a fresh app and load each package both ways, like a new user would. */
async function checkInstall(packed: PackedPackage[], dir: string) {
  const app = join(dir, 'app')
  mkdirSync(app)
  const dependencies = Object.fromEntries(packed.map((p) => [p.name, `file:${p.tarball}`]))
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, dependencies }))
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], app)
  const names = JSON.stringify(packed.map((p) => p.name))
  const load = async (kind: string, code: string) => {
    for (const node of nodes) {
      const version = (await run(node, ['--version'])).trim()
      const result = spawnSync(node, ['--input-type=module', '-e', code], { cwd: app, encoding: 'utf8' })
      if (result.status !== 0) problem('install', `${kind} failed under Node ${version}:\n${result.stderr}`)
      else console.log(`  ${kind} (Node ${version}): ${result.stdout.trim()}`)
    }
  }
  await load(
    'import',
    `const n = []; for (const p of ${names}) n.push(p + ' (' + Object.keys(await import(p)).length + ')'); console.log(n.join(', '))`,
  )
  await load(
    'require',
    `import { createRequire } from 'node:module'; const r = createRequire(process.cwd() + '/'); const n = []; for (const p of ${names}) n.push(p + ' (' + Object.keys(r(p)).length + ')'); console.log(n.join(', '))`,
  )
  if (packed.some((p) => p.name === '@consentry/cli')) {
    const help = spawnSync(join(app, 'node_modules', '.bin', 'consentry'), ['help'], { encoding: 'utf8' })
    if (help.status !== 0 || !help.stdout.includes('audit verify'))
      problem('@consentry/cli', `the installed "consentry help" failed: ${help.stdout}${help.stderr}`)
    else console.log('  bin: consentry help ok')
  }
}

/** Tarballs packed before (`changeset pack` puts them in `<dir>/packages`), as `packPackages` describes them. */
async function existingTarballs(from: string): Promise<PackedPackage[]> {
  const byName = new Map(publicPackages().map((p) => [p.name, p]))
  const packed: PackedPackage[] = []
  for (const folder of [from, join(from, 'packages')].filter((d) => existsSync(d)))
    for (const file of readdirSync(folder).filter((f) => f.endsWith('.tgz'))) {
      const tarball = resolve(folder, file)
      const manifest = JSON.parse(await run('tar', ['xzOf', tarball, 'package/package.json']))
      const pkg = byName.get(manifest.name)
      if (!pkg)
        throw new Error(`${tarball} is ${manifest.name}, not one of this repository's public packages`)
      const files = (await run('tar', ['tzf', tarball])).split('\n').filter(Boolean)
      packed.push({
        ...pkg,
        version: manifest.version,
        manifest,
        tarball,
        files: files.map((f) => f.replace(/^package\//, '')),
        size: statSync(tarball).size,
      })
    }
  if (packed.length === 0) throw new Error(`no .tgz in ${from}`)
  return packed
}

async function main() {
  const started = Date.now()
  if (!args.has('--no-build') && !tarballDir) await buildPackages()
  const dir = mkdtempSync(join(tmpdir(), 'consentry-packages-'))
  try {
    const packed = tarballDir ? await existingTarballs(tarballDir) : await packPackages(dir)
    const versions = new Set(packed.map((p) => p.version))
    if (versions.size !== 1)
      problem('packages', `versions differ (${[...versions].join(', ')}): they are released together`)
    const release = packed[0]!.version
    for (const pkg of packed) {
      const unpacked = join(dir, 'unpacked', pkg.name)
      mkdirSync(unpacked, { recursive: true })
      await run('tar', ['xzf', pkg.tarball, '-C', unpacked, '--strip-components=1'])
      const manifest = JSON.parse(readFileSync(join(unpacked, 'package.json'), 'utf8'))
      checkManifest(pkg, manifest, unpacked, release)
      checkFiles(pkg, unpacked)
      await checkPublint(pkg)
      checkTypes(pkg)
      console.log(
        `${pkg.name}@${pkg.version}: ${pkg.files.length} files, ${(pkg.size / 1024).toFixed(0)} KiB packed`,
      )
    }
    await checkInstall(packed, dir)
  } finally {
    if (args.has('--keep')) console.log(`tarballs kept in ${dir}`)
    else rmSync(dir, { recursive: true, force: true })
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(0)
  if (problems.length > 0) {
    console.error(
      `\n${problems.map((p) => `✗ ${p}`).join('\n')}\n\ncheck:packages: ${problems.length} problem(s) (${seconds} s)`,
    )
    process.exit(1)
  }
  console.log(
    `check:packages: every tarball is clean (publint, attw, manifest, files, install) (${seconds} s)`,
  )
}

// Imported by its own test for `relativeLinks`; run as a script otherwise.
if (process.argv[1] && import.meta.filename === process.argv[1]) await main()
