import { randomBytes } from 'node:crypto'
import { open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'

/** A file being written next to its final path, which appears there whole or not at all. */
export interface AtomicFile {
  /** Append text. */
  write(text: string): Promise<void>
  /** Flush to disk and rename over the final path. */
  commit(): Promise<void>
  /** Close and remove the temporary file (safe to call after a failed `commit`). */
  abort(): Promise<void>
}

/**
 * Start writing `path` atomically: a temporary file in the same directory (created exclusively, with
 * `mode`, default 0600), renamed over `path` on `commit`. Opening it first proves the directory is
 * writable before any work is done.
 *
 * @example
 * ```ts
 * const file = await openAtomic('audit.jsonl')
 * try {
 *   await file.write('…')
 *   await file.commit()
 * } catch (error) {
 *   await file.abort()
 *   throw error
 * }
 * ```
 */
export async function openAtomic(path: string, mode = 0o600): Promise<AtomicFile> {
  const target = resolve(path)
  const temp = join(
    dirname(target),
    `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  )
  const handle = await open(temp, 'wx', mode)
  let closed = false
  const close = async () => {
    if (closed) return
    closed = true
    await handle.close()
  }
  return {
    async write(text) {
      const bytes = Buffer.from(text, 'utf8')
      let offset = 0
      while (offset < bytes.length) {
        offset += (await handle.write(bytes, offset, bytes.length - offset)).bytesWritten
      }
    },
    async commit() {
      await handle.sync()
      await close()
      await rename(temp, target)
      // Make the rename itself durable; not every platform can fsync a directory.
      const dir = await open(dirname(target), 'r').catch(() => null)
      await dir?.sync().catch(() => {})
      await dir?.close()
    },
    async abort() {
      await close().catch(() => {})
      await rm(temp, { force: true })
    },
  }
}
