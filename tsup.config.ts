import { defineConfig } from 'tsup'

/** Shared build: every package ships ESM + CJS with type declarations from src/index.ts. */
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node22',
  treeshake: true,
})
