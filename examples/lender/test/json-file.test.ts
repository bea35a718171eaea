import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { fileTokenStore } from '../src/json-file.ts'

const dir = mkdtempSync(join(tmpdir(), 'lender-links-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('fileTokenStore', () => {
  it('keeps links and ended-link tombstones across a restart, in owner-only files', async () => {
    const path = join(dir, 'links.json')
    const first = await fileTokenStore(path)
    const state = { grantId: 'gr_1' } as never
    await first.set('gr_1', state)
    const ended = { version: 1 as const, grantId: 'gr_2', status: 'revoked' as const, endedAt: 1 }
    await first.setEnded!('gr_2', ended)
    await first.delete('gr_2')
    await first.settled()

    const again = await fileTokenStore(path)
    expect(await again.get('gr_1')).toEqual(state)
    expect(await again.get('gr_2')).toBeUndefined()
    expect(await again.getEnded!('gr_2')).toEqual(ended)
    expect(await again.getEnded!('gr_1')).toBeUndefined()
    expect(statSync(join(dir, 'links-ended.json')).mode & 0o777).toBe(0o600)
  })
})
