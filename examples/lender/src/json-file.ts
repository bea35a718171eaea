/**
 * Small, durable JSON files for the demo: every write goes to a temporary file in the same directory,
 * is flushed to disk, then renamed over the target (atomic on POSIX), so a crash never leaves half a
 * file. Writes to one file are serialised. Files are created readable by the owner only: they hold
 * private keys and tokens.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { open, readFile, rename, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { EndedLink, LinkState, TokenStore } from '@consentry/client'

/** Read a JSON file; `undefined` if it does not exist. */
export async function readJsonFile<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/** Write JSON atomically: temp file (mode 0600) + fsync + rename. */
export async function writeJsonFileAtomic(path: string, value: unknown): Promise<void> {
  const dir = dirname(path)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const tmp = join(dir, `.${randomBytes(6).toString('hex')}.tmp`)
  const fh = await open(tmp, 'wx', 0o600)
  try {
    await fh.writeFile(`${JSON.stringify(value, null, 2)}\n`)
    await fh.sync()
  } finally {
    await fh.close()
  }
  try {
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
}

/** A JSON object kept in memory and mirrored to one file; each change is durable when its promise resolves. */
export class JsonFileMap<V> {
  #path: string
  #map = new Map<string, V>()
  #queue: Promise<void> = Promise.resolve()

  private constructor(path: string) {
    this.#path = path
  }

  static async open<V>(path: string): Promise<JsonFileMap<V>> {
    const m = new JsonFileMap<V>(path)
    const data = await readJsonFile<Record<string, V>>(path)
    if (data && typeof data === 'object') for (const [k, v] of Object.entries(data)) m.#map.set(k, v)
    return m
  }

  get(key: string): V | undefined {
    const v = this.#map.get(key)
    return v === undefined ? undefined : structuredClone(v)
  }

  entries(): Array<[string, V]> {
    return [...this.#map.entries()].map(([k, v]) => [k, structuredClone(v)])
  }

  get size(): number {
    return this.#map.size
  }

  set(key: string, value: V): Promise<void> {
    this.#map.set(key, structuredClone(value))
    return this.#flush()
  }

  delete(key: string): Promise<void> {
    if (!this.#map.delete(key)) return this.#queue
    return this.#flush()
  }

  /** Apply several changes with one write. */
  update(change: (map: Map<string, V>) => void): Promise<void> {
    change(this.#map)
    return this.#flush()
  }

  #flush(): Promise<void> {
    // Each write snapshots the whole map at the time it runs, so the last one always wins.
    const run = this.#queue.then(() => writeJsonFileAtomic(this.#path, Object.fromEntries(this.#map)))
    this.#queue = run.catch(() => {})
    return run
  }

  /** Wait for pending writes. */
  settled(): Promise<void> {
    return this.#queue
  }
}

/**
 * A `TokenStore` in one JSON file (`links.json`): links survive restarts, and a rotated refresh token
 * is on disk before the SDK uses the new access token. Ended links are kept as tombstones in a second
 * file (`links-ended.json`), so a revoked link is still `GrantRevokedError` after a restart.
 * (Also used by the processor demo, Tidewater.)
 */
export async function fileTokenStore(path: string): Promise<TokenStore & { settled(): Promise<void> }> {
  const file = await JsonFileMap.open<LinkState>(path)
  const ended = await JsonFileMap.open<EndedLink>(path.replace(/(\.json)?$/, '-ended.json'))
  return {
    get: (grantId) => file.get(grantId),
    set: (grantId, state) => file.set(grantId, state),
    delete: (grantId) => file.delete(grantId),
    setEnded: (grantId, record) => ended.set(grantId, record),
    getEnded: (grantId) => ended.get(grantId),
    settled: async () => {
      await Promise.all([file.settled(), ended.settled()])
    },
  }
}
