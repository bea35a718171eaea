/**
 * The publishable packages and how they become tarballs: shared by `npm run check:packages` and the
 * starters test (`npm run test:starters`), so both look at exactly what `npm publish` would upload.
 */
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

export const ROOT = resolve(import.meta.dirname, '..')

export interface PublicPackage {
  name: string
  version: string
  dir: string
  manifest: Record<string, unknown>
}

export interface PackedPackage extends PublicPackage {
  /** Absolute path of the `.tgz`. */
  tarball: string
  /** Paths inside the tarball, as `npm pack` reports them (relative to `package/`). */
  files: string[]
  size: number
}

/** Every package under packages/ that is not private, in directory order. */
export function publicPackages(): PublicPackage[] {
  return readdirSync(join(ROOT, 'packages'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => join(ROOT, 'packages', d.name))
    .flatMap((dir) => {
      let manifest: Record<string, unknown>
      try {
        manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
      } catch {
        return []
      }
      if (manifest.private === true) return []
      return [{ name: String(manifest.name), version: String(manifest.version), dir, manifest }]
    })
}

/**
 * Run a command; its standard output, or an error carrying all its output when it fails. Never
 * synchronous: a test worker that blocks its event loop for minutes loses its line to vitest.
 */
export function run(command: string, args: string[], cwd = ROOT): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    child.once('error', reject)
    child.once('close', (code) => {
      if (code === 0) resolve(stdout)
      else reject(new Error(`${command} ${args.join(' ')} (in ${cwd}) exited ${code}\n${stdout}\n${stderr}`))
    })
  })
}

/** `turbo run build` for the public packages (a no-op replay when nothing changed since the last build). */
export async function buildPackages(): Promise<void> {
  await run('npx', [
    'turbo',
    'run',
    'build',
    '--output-logs=errors-only',
    ...publicPackages().map((p) => `--filter=${p.name}`),
  ])
}

/**
 * `npm pack` each public package into `outDir`, as `npm publish` would pack it: in the package's
 * directory, so its `prepack`/`postpack` (scripts/manifest.mjs) run.
 */
export async function packPackages(outDir: string): Promise<PackedPackage[]> {
  const packed: PackedPackage[] = []
  for (const pkg of publicPackages()) {
    const out = await run('npm', ['pack', '--json', '--pack-destination', outDir], pkg.dir)
    // npm prints the lifecycle scripts' output before the JSON.
    const json = JSON.parse(out.slice(out.indexOf('[')))[0] as {
      filename: string
      files: { path: string }[]
      size: number
    }
    packed.push({
      ...pkg,
      tarball: join(outDir, json.filename),
      files: json.files.map((f) => f.path),
      size: json.size,
    })
  }
  return packed
}
