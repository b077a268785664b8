/**
 * Group commit per key, in one process: the first item for a key runs at once; items for the same key that
 * arrive while a run is in flight wait, and the next run takes them together (at most `maxBatch`, in arrival
 * order). There is no timer: an idle key never waits. Correctness must not rest on this (other processes
 * write the same rows); it only turns many writes of one hot row into few.
 */

/** What a run answers for one item: its own value or its own error. */
export type Outcome<O> = { readonly ok: true; readonly value: O } | { readonly ok: false; readonly error: unknown };

/** Runs a batch of items of one key, answering one outcome per item, in order; a throw fails every item. */
export type BatchRun<I, O> = (items: readonly I[]) => Promise<ReadonlyArray<Outcome<O>>>;

/** Queues of items per key, run in batches. */
export interface GroupCommit<I, O> {
  /** Runs `item` in the next batch of `key`; `run` serves the key while it has items queued or in flight. */
  submit(key: string, item: I, run: BatchRun<I, O>): Promise<O>;
}

interface Waiting<I, O> {
  readonly item: I;
  readonly resolve: (value: O) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Per-key group commit taking at most `maxBatch` items per run; an item that
 * finds `maxWaiting` items of its key already waiting is refused with `full()`.
 */
export function createGroupCommit<I, O>(
  maxBatch: number,
  maxWaiting = Number.POSITIVE_INFINITY,
  full: () => unknown = () => new RangeError("group commit: too many items waiting"),
): GroupCommit<I, O> {
  if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError("maxBatch must be a positive integer");
  const lanes = new Map<string, Waiting<I, O>[]>();

  async function drain(key: string, queue: Waiting<I, O>[], run: BatchRun<I, O>): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.splice(0, maxBatch);
      try {
        const outcomes = await run(batch.map((waiting) => waiting.item));
        batch.forEach((waiting, i) => {
          const outcome = outcomes[i];
          if (outcome === undefined) waiting.reject(new Error("group commit: a run answered too few outcomes"));
          else if (outcome.ok) waiting.resolve(outcome.value);
          else waiting.reject(outcome.error);
        });
      } catch (err) {
        for (const waiting of batch) waiting.reject(err);
      }
    }
    // Nothing awaits between the empty check and this, so no item can be left behind in a deleted lane.
    lanes.delete(key);
  }

  return {
    submit(key, item, run) {
      return new Promise<O>((resolve, reject) => {
        const queued = lanes.get(key);
        if (queued !== undefined) {
          if (queued.length >= maxWaiting) {
            reject(full());
            return;
          }
          queued.push({ item, resolve, reject });
          return;
        }
        const queue: Waiting<I, O>[] = [{ item, resolve, reject }];
        lanes.set(key, queue);
        void drain(key, queue, run);
      });
    },
  };
}
