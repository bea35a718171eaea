/**
 * C2SP tlog-tiles: the Merkle tree of the log as static "tiles", so that any standard tiled-log
 * client can compute proofs itself. The `n`-th tile at level `l` is the run of Merkle Tree Hashes
 * `MTH(D[(n·256 + i)·256^l : (n·256 + i + 1)·256^l])` for `i` in `0 … width-1`: in
 * {@link NodeId} terms, perfect subtrees at height `8·l`, indexes `n·256 + i`. A full tile holds 256
 * hashes; the rightmost tile of a level is partial (1–255 hashes), served as `<N>.p/<W>`.
 *
 * Only hash tiles are defined here: a log whose entries name people does not publish its entries.
 */
import type { NodeId } from './merkle.ts'

/** Hashes in a full tile (C2SP tlog-tiles: tile height 8). */
export const TILE_WIDTH = 256

/** One tile: `level` ≥ 0, `index` ≥ 0, `width` 1–256 (256 is a full tile). */
export interface Tile {
  /** Tile level: 0 holds leaf hashes, 1 the roots of full level-0 tiles, … */
  level: number
  /** The tile's position in its level, from the left. */
  index: number
  /** Hashes in the tile: 256 for a full tile, 1–255 for a partial one. */
  width: number
}

const MAX_LEVEL = 63
const GROUP = /^x[0-9]{3}$/
const LAST = /^[0-9]{3}$/
const SMALL = /^(0|[1-9][0-9]{0,2})$/

/**
 * The tile's path below the log's prefix: `tile/<L>/<N>[.p/<W>]`, with `<N>` in zero-padded
 * three-digit path elements, all but the last prefixed by `x`.
 *
 * @example
 * ```ts
 * formatTilePath({ level: 0, index: 1234067, width: 256 }) // 'tile/0/x001/x234/067'
 * formatTilePath({ level: 1, index: 0, width: 17 })        // 'tile/1/000.p/17'
 * ```
 */
export function formatTilePath(tile: Tile): string {
  const digits = String(tile.index)
  const padded = digits.padStart(Math.ceil(digits.length / 3) * 3, '0')
  const groups = padded.match(/.{3}/g)!
  const n = groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/')
  return `tile/${tile.level}/${n}${tile.width < TILE_WIDTH ? `.p/${tile.width}` : ''}`
}

/**
 * Parse a tile path (`tile/<L>/<N>[.p/<W>]`, as {@link formatTilePath} writes it). `null` for
 * anything else: leading zeros, a level above 63, a width outside 1–255, the `entries` bundles.
 *
 * @example
 * ```ts
 * parseTilePath('tile/0/x001/x234/067.p/8') // { level: 0, index: 1234067, width: 8 }
 * ```
 */
export function parseTilePath(path: string): Tile | null {
  const parts = path.split('/')
  if (parts.length < 3 || parts[0] !== 'tile' || !SMALL.test(parts[1]!)) return null
  const level = Number(parts[1])
  if (level > MAX_LEVEL) return null
  let rest = parts.slice(2)
  let width = TILE_WIDTH
  const partial = rest.length >= 2 && rest.at(-2)!.endsWith('.p')
  if (partial) {
    const w = rest.at(-1)!
    if (!SMALL.test(w) || w === '0' || Number(w) >= TILE_WIDTH) return null
    width = Number(w)
    rest = [...rest.slice(0, -2), rest.at(-2)!.slice(0, -2)]
  }
  const last = rest.at(-1)!
  if (!LAST.test(last) || !rest.slice(0, -1).every((g) => GROUP.test(g))) return null
  // `x000/…` would be a second spelling of a smaller index: C2SP paths have no leading zero groups.
  if (rest.length > 1 && rest[0] === 'x000') return null
  const index = Number(rest.map((g) => g.replace('x', '')).join(''))
  if (!Number.isSafeInteger(index)) return null
  return { level, index, width }
}

/** The perfect subtrees whose hashes a tile lists, left to right. @example `tileNodes({ level: 1, index: 0, width: 2 })` */
export function tileNodes(tile: Tile): NodeId[] {
  return Array.from({ length: tile.width }, (_, i) => ({
    level: 8 * tile.level,
    index: tile.index * TILE_WIDTH + i,
  }))
}

/**
 * Whether a tree of `size` leaves contains every hash of the tile (its last hash covers leaves up to
 * `(index·256 + width)·256^level`).
 *
 * @example
 * ```ts
 * tileWithin({ level: 0, index: 0, width: 256 }, 300) // true
 * tileWithin({ level: 1, index: 0, width: 2 }, 300)   // false: 512 leaves needed
 * ```
 */
export function tileWithin(tile: Tile, size: number): boolean {
  return (tile.index * TILE_WIDTH + tile.width) * TILE_WIDTH ** tile.level <= size
}
