import { main } from '../../src/index.ts'

/** Run `main` and capture what it prints. */
export async function run(...argv: string[]) {
  let stdout = ''
  let stderr = ''
  const code = await main(argv, {
    stdout(text: string) {
      stdout += text
    },
    stderr(text: string) {
      stderr += text
    },
  })
  return { code, stdout, stderr }
}
