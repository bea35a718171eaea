/**
 * Summarise a V8 .cpuprofile (from `npm run bench -- --profile DIR`, which runs the server child with
 * `--cpu-prof`): top functions by self time, self time by origin (package / server module / node
 * internals), and inclusive time of the hot-path functions (synchronous stacks only: an async function
 * is charged only for the slices it runs before each await).
 *
 *   node --import tsx bench/profile.ts bench/results/profile/CPU.….cpuprofile [top=25]
 */
import { readFileSync } from 'node:fs'

interface Node {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: Node[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

const [file, topArg] = process.argv.slice(2)
if (!file) throw new Error('usage: bench/profile.ts FILE.cpuprofile [top]')
const top = Number(topArg ?? 25)
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile
const byId = new Map(p.nodes.map((n) => [n.id, n]))
const parent = new Map<number, number>()
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)

/** The checkout this script runs from (any worktree), stripped from source URLs. */
const ROOT = `${new URL('..', import.meta.url).pathname}`
const short = (url: string) =>
  url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, '')
    .replace(ROOT, '')
const key = (n: Node) => {
  const f = n.callFrame
  return `${f.functionName || '(anonymous)'} ${f.url ? `${short(f.url)}:${f.lineNumber + 1}` : ''}`.trim()
}
function origin(n: Node): string {
  const url = n.callFrame.url
  const name = n.callFrame.functionName
  if (!url) return name.startsWith('(') ? name : '(native / V8 builtins)'
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/').slice(0, 3).join('/')}`
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (m) return m[1]!
  const s = /^(packages\/[^/]+\/src\/[^/]+|examples\/[^/]+|[^/]+)/.exec(
    url.replace(/^file:\/\//, '').replace(ROOT, ''),
  )
  return s ? s[1]! : url
}

const self = new Map<string, number>()
const byOrigin = new Map<string, number>()
const inclusive = new Map<string, number>()
let total = 0
for (let i = 0; i < p.samples.length; i++) {
  const dt = (p.timeDeltas[i] ?? 0) / 1000 // ms
  total += dt
  const leaf = byId.get(p.samples[i]!)!
  self.set(key(leaf), (self.get(key(leaf)) ?? 0) + dt)
  byOrigin.set(origin(leaf), (byOrigin.get(origin(leaf)) ?? 0) + dt)
  const seen = new Set<string>()
  for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
    const k = key(byId.get(id)!)
    if (seen.has(k)) continue
    seen.add(k)
    inclusive.set(k, (inclusive.get(k) ?? 0) + dt)
  }
}
const idle = self.get('(idle)') ?? 0
const busy = total - idle
const pct = (ms: number) => `${((ms / busy) * 100).toFixed(1)}%`
const rows = (m: Map<string, number>, n: number, filter: (k: string) => boolean = () => true) =>
  [...m.entries()]
    .filter(([k]) => k !== '(idle)' && filter(k))
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, ms]) => `| ${k} | ${ms.toFixed(0)} | ${pct(ms)} |`)

console.log(
  [
    `profile: ${file}`,
    `wall ${(total / 1000).toFixed(1)} s, busy ${(busy / 1000).toFixed(1)} s (${((busy / total) * 100).toFixed(0)}%), idle ${(idle / 1000).toFixed(1)} s; percentages are of busy time`,
    '',
    '| self time by origin | ms | % busy |',
    '|---|---:|---:|',
    ...rows(byOrigin, 20),
    '',
    `| top ${top} functions by self time | ms | % busy |`,
    '|---|---:|---:|',
    ...rows(self, top),
    '',
    '| inclusive (synchronous) time, Consentry code | ms | % busy |',
    '|---|---:|---:|',
    ...rows(inclusive, top, (k) => /packages\/|examples\//.test(k)),
  ].join('\n'),
)
