import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'

/**
 * Run a TypeScript script (a crash test's writer) in a child Node until it prints `committed`, i.e.
 * its writes were acknowledged. `kill()` then SIGKILLs it — no shutdown hook runs — and resolves
 * with the signal it died of.
 *
 * @example
 * ```ts
 * const writer = await startWriter(new URL('./store-sqlite-child.ts', import.meta.url), [path])
 * expect(await writer.kill()).toBe('SIGKILL')
 * ```
 */
export async function startWriter(script: URL, args: string[] = [], cwd?: string) {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
  const child = spawn(
    process.execPath,
    ['--conditions=source', `--import=${tsx}`, fileURLToPath(script), ...args],
    {
      ...(cwd ? { cwd } : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let stderr = ''
  child.stderr.on('data', (chunk) => {
    stderr += chunk
  })
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('exit', (_code, signal) => resolve(signal)),
  )
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk) => String(chunk).includes('committed') && resolve())
    child.on('exit', (code) => reject(new Error(`child exited early (${code}): ${stderr}`)))
  })
  return {
    kill() {
      child.kill('SIGKILL')
      return exited
    },
  }
}
