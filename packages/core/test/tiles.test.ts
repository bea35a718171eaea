import { describe, expect, it } from 'vitest'
import { formatTilePath, parseTilePath, TILE_WIDTH, tileNodes, tileWithin } from '../src/audit/tiles.ts'

describe('C2SP tlog-tiles paths', () => {
  it('writes the index in three-digit groups, x-prefixed but the last, and .p/<W> for partial tiles', () => {
    expect(formatTilePath({ level: 0, index: 1234067, width: 256 })).toBe('tile/0/x001/x234/067')
    expect(formatTilePath({ level: 0, index: 0, width: 256 })).toBe('tile/0/000')
    expect(formatTilePath({ level: 2, index: 1000, width: 1 })).toBe('tile/2/x001/000.p/1')
    expect(formatTilePath({ level: 1, index: 0, width: 17 })).toBe('tile/1/000.p/17')
  })

  it('parses what it writes, and only that', () => {
    for (const tile of [
      { level: 0, index: 1234067, width: 256 },
      { level: 0, index: 0, width: 255 },
      { level: 63, index: 999, width: 1 },
      { level: 1, index: 1000, width: 256 },
    ])
      expect(parseTilePath(formatTilePath(tile))).toEqual(tile)
    for (const bad of [
      'tile/0/67', // not three digits
      'tile/0/x000/067', // a leading zero group: a second spelling of 67
      'tile/00/000', // leading zero in the level
      'tile/64/000', // level above 63
      'tile/0/000.p/0', // empty tile
      'tile/0/000.p/256', // a full tile is never partial
      'tile/0/000.p/017', // leading zero in the width
      'tile/0/x001', // the last group has no x
      'tile/0/001/067', // all but the last group have an x
      'tile/entries/000', // entry bundles are not tiles
      'tile/0/',
      'tile/0/0a0',
      'tiles/0/000',
    ])
      expect(parseTilePath(bad), bad).toBeNull()
  })
})

describe('tile contents', () => {
  it('lists the perfect subtrees at height 8·level, 256 per full tile', () => {
    expect(tileNodes({ level: 0, index: 2, width: 3 })).toEqual([
      { level: 0, index: 512 },
      { level: 0, index: 513 },
      { level: 0, index: 514 },
    ])
    expect(tileNodes({ level: 1, index: 0, width: TILE_WIDTH })).toHaveLength(256)
    expect(tileNodes({ level: 1, index: 0, width: 2 })[1]).toEqual({ level: 8, index: 1 })
  })

  it('is within a tree when the tree holds its last hash (the spec’s size-70,000 example)', () => {
    const size = 70_000
    // 273 full level-0 tiles and a partial one of width 112.
    expect(tileWithin({ level: 0, index: 272, width: 256 }, size)).toBe(true)
    expect(tileWithin({ level: 0, index: 273, width: 256 }, size)).toBe(false)
    expect(tileWithin({ level: 0, index: 273, width: 112 }, size)).toBe(true)
    expect(tileWithin({ level: 0, index: 273, width: 113 }, size)).toBe(false)
    // One full level-1 tile, a partial one of width 17, a partial level-2 tile of width 1.
    expect(tileWithin({ level: 1, index: 0, width: 256 }, size)).toBe(true)
    expect(tileWithin({ level: 1, index: 1, width: 17 }, size)).toBe(true)
    expect(tileWithin({ level: 1, index: 1, width: 18 }, size)).toBe(false)
    expect(tileWithin({ level: 2, index: 0, width: 1 }, size)).toBe(true)
    expect(tileWithin({ level: 2, index: 0, width: 2 }, size)).toBe(false)
    expect(tileWithin({ level: 3, index: 0, width: 1 }, size)).toBe(false)
  })
})
