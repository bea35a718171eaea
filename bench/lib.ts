/** Measurement helpers: timers, percentiles, a bounded closed-loop load runner. */

export const now = (): number => performance.now()

/** The `--pg` option (parseArgs) of the benches: the database a `postgres` run makes its schema in. */
export const PG_OPTION = {
  type: 'string',
  default:
    process.env.CONSENTRY_TEST_DATABASE_URL ??
    process.env.DATABASE_URL ??
    'postgres://postgres@127.0.0.1:5432/test',
} as const

export interface Summary {
  n: number
  mean: number
  p50: number
  p95: number
  p99: number
  max: number
}

/** Nearest-rank percentiles over milliseconds. */
export function summarize(samples: readonly number[]): Summary {
  const s = [...samples].sort((a, b) => a - b)
  const at = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : 0)
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : 0
  return { n: s.length, mean, p50: at(50), p95: at(95), p99: at(99), max: s.at(-1) ?? 0 }
}

export interface RunOptions {
  /** Operations counted after warm-up (an operation is one request, or one paging walk). */
  ops: number
  /** Operations run (at the same concurrency) and discarded first. */
  warmup: number
  concurrency: number
  /** Stop early after this long (measured part only). */
  maxMs: number
}

export interface RunResult {
  concurrency: number
  ops: number
  /** HTTP requests sampled (more than `ops` when an operation is a paging walk). */
  requests: number
  elapsedMs: number
  /** Requests per second over the measured part. */
  throughput: number
  latency: Summary
  errors: number
  firstError?: string
  /** Stopped by `maxMs` before `requests` were done. */
  timedOut: boolean
}

/**
 * One unit of work. It issues one or more HTTP requests and reports each one's latency through
 * `sample`; it throws on an unexpected answer (counted as an error, the run goes on).
 */
export type Op = (sample: (ms: number) => void) => Promise<void>

/**
 * Closed loop: `concurrency` workers each run `op` back to back until the request budget or the
 * time budget is spent. Warm-up runs the same way and is thrown away.
 */
export async function run(op: Op, o: RunOptions): Promise<RunResult> {
  const phase = async (budget: number, maxMs: number) => {
    const samples: number[] = []
    let done = 0
    let errors = 0
    let firstError: string | undefined
    let started = 0
    const t0 = now()
    const worker = async () => {
      while (started < budget && now() - t0 < maxMs) {
        started++
        try {
          await op((ms) => samples.push(ms))
          done++
        } catch (e) {
          errors++
          firstError ??= e instanceof Error ? e.message : String(e)
        }
      }
    }
    await Promise.all(Array.from({ length: o.concurrency }, worker))
    return { samples, done, errors, firstError, elapsedMs: now() - t0 }
  }
  if (o.warmup > 0) await phase(o.warmup, o.maxMs)
  const m = await phase(o.ops, o.maxMs)
  const requests = m.samples.length
  return {
    concurrency: o.concurrency,
    ops: m.done,
    requests,
    elapsedMs: m.elapsedMs,
    throughput: (requests / m.elapsedMs) * 1000,
    latency: summarize(m.samples),
    errors: m.errors,
    ...(m.firstError ? { firstError: m.firstError } : {}),
    timedOut: m.done + m.errors < o.ops && m.elapsedMs >= o.maxMs,
  }
}

export const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2))
