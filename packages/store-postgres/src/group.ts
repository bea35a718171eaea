/**
 * Group commit: calls made while `flights` batches are in flight (default 1) queue and go together
 * in the next one (at most `max` a batch); a lone call goes at once. `run` answers the batch's inputs
 * in order, each with a value or with an `Error` for that input alone; if `run` throws, every input
 * of the batch is rejected with what it threw.
 *
 * @example
 * ```ts
 * const append = grouped(1000, (drafts: Draft[]) => insertAll(drafts)) // one INSERT per batch
 * const event = await append(draft)
 * ```
 */
export function grouped<I, O>(
  max: number,
  run: (batch: I[]) => Promise<(O | Error)[]>,
  flights = 1,
): (input: I) => Promise<O> {
  type Queued = { input: I; resolve: (output: O) => void; reject: (error: unknown) => void }
  let queue: Queued[] = []
  let flying = 0
  const flush = async () => {
    flying++
    try {
      while (queue.length > 0) {
        const batch = queue.slice(0, max)
        queue = queue.slice(batch.length)
        try {
          const outputs = await run(batch.map((q) => q.input))
          for (const [i, q] of batch.entries()) {
            const output = outputs[i]
            if (output === undefined) q.reject(new Error('a grouped call got no answer'))
            else if (output instanceof Error) q.reject(output)
            else q.resolve(output)
          }
        } catch (error) {
          for (const q of batch) q.reject(error)
        }
      }
    } finally {
      flying--
    }
  }
  return (input) =>
    new Promise<O>((resolve, reject) => {
      queue.push({ input, resolve, reject })
      if (flying < flights) void flush()
    })
}
