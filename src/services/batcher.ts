/**
 * Batches requests that arrive together (within one turn of the event loop) into one round trip,
 * with a bound on round trips in flight: requests arriving while every slot is taken wait and
 * share the next batch, so under load batches grow instead of round trips, and an idle server
 * still sends a lone request at once.
 *
 * A batch is shared by unrelated callers, so one caller's request must never fail another's: when
 * a batch fails for a reason that is not shared by all (the database is down), it is retried
 * member by member, and only the member that fails again sees the error.
 */

export interface BatcherOptions<Req, Res> {
  /** One round trip for `batch`; answers in the same order. */
  run(batch: readonly Req[]): Promise<ReadonlyArray<Res>>;
  /** Whether `err` fails every request alike (no point retrying members one by one). */
  failsAll(err: unknown): boolean;
  /** Most requests in one round trip. */
  maxBatch: number;
  /** Most round trips in flight. */
  maxInFlight: number;
  /** Called once per round trip (retries included). */
  onRun?: (() => void) | undefined;
}

export type Batcher<Req, Res> = (req: Req) => Promise<Res>;

interface Pending<Req, Res> {
  req: Req;
  resolve: (res: Res) => void;
  reject: (err: unknown) => void;
}

export function createBatcher<Req, Res>(opts: BatcherOptions<Req, Res>): Batcher<Req, Res> {
  const maxBatch = Math.max(1, opts.maxBatch);
  const maxInFlight = Math.max(1, opts.maxInFlight);
  let queue: Array<Pending<Req, Res>> = [];
  let scheduled = false;
  let inFlight = 0;

  const run = (batch: ReadonlyArray<Pending<Req, Res>>): Promise<ReadonlyArray<Res>> => {
    opts.onRun?.();
    return opts.run(batch.map((p) => p.req));
  };

  const settle = (batch: ReadonlyArray<Pending<Req, Res>>): Promise<void> =>
    run(batch).then(
      (answers) => {
        for (let i = 0; i < batch.length; i++) batch[i]!.resolve(answers[i]!);
      },
      async (err: unknown) => {
        if (batch.length === 1 || opts.failsAll(err)) {
          for (const p of batch) p.reject(err);
          return;
        }
        await Promise.all(batch.map((p) => run([p]).then((a) => p.resolve(a[0]!), p.reject)));
      },
    );

  function flush(): void {
    scheduled = false;
    while (queue.length > 0 && inFlight < maxInFlight) {
      const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch);
      queue = batch === queue ? [] : queue.slice(maxBatch);
      inFlight++;
      void settle(batch).finally(() => {
        inFlight--;
        // What queued up while every slot was taken goes now, as one batch.
        if (queue.length > 0 && !scheduled) flush();
      });
    }
  }

  return (req) =>
    new Promise<Res>((resolve, reject) => {
      queue.push({ req, resolve, reject });
      if (queue.length >= maxBatch && inFlight < maxInFlight) flush();
      else if (!scheduled && inFlight < maxInFlight) {
        scheduled = true;
        setImmediate(flush);
      }
    });
}
