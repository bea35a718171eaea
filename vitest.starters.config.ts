import { defineConfig } from 'vitest/config'

/**
 * `npm run test:starters`: the starters installed from packed tarballs (test/starters.e2e.ts). Apart
 * from `npm test` because it builds, packs and installs; no aliases to the sources on purpose.
 */
export default defineConfig({
  test: {
    include: ['test/starters.e2e.ts'],
    testTimeout: 120_000,
    // Building (when turbo has no cached build), packing and two `npm install`s.
    hookTimeout: 900_000,
  },
})
