/**
 * How fast a cleanup goes: the rows of the next batch and the rest after each one, from the times
 * the batches took. The two controls online-schema-change tools use:
 *
 *   chunk time   the batch size adapts so a batch takes about `chunkTimeMs` (pt-online-schema-change's
 *                --chunk-time): from the median time per row of the last RECENT batches, so a run of
 *                slow batches (cold pages, a slow index walk) cuts the size within two or three
 *                batches, down to a quarter per batch, while a single stall (a log flush, a busy
 *                CPU) changes nothing: a stall is not the batch's doing, and a smaller batch would not
 *                have missed it. Growth is slower (a quarter per batch), up to `maxBatchSize`. Never
 *                below a tenth of `maxBatchSize`: a batch also has a fixed cost (round trips, the
 *                commit's log flush) that no size takes away, and on a machine so busy that this cost
 *                alone exceeds the target, fitting would shrink the batches to one row, multiplying
 *                that cost (measured without this floor: 500-row batches fell to batches of 1 and the
 *                working time doubled, on a 2-CPU machine at load 5). Slowing down there is the nice
 *                ratio's job.
 *   nice ratio   after each batch, rest `niceRatio` ms per ms the batch took (gh-ost's --nice-ratio,
 *                pt-archiver's --sleep-coef): the cleanup keeps the database busy at most
 *                1 / (1 + niceRatio) of the time, and a slow batch (the database is struggling) buys
 *                a longer rest. InnoDB's purge and page flushing of the rows deleted, and the site's
 *                own queries, get the database in between.
 *
 * Plus `pauseMs`, a fixed rest after every batch (e.g. for replicas).
 */

export interface PacingOptions {
  /** The first batch's rows and the most any batch gets. */
  readonly maxBatchSize: number;
  /** Target time of one batch in ms; 0 keeps every batch at maxBatchSize. */
  readonly chunkTimeMs: number;
  /** Rest after a batch, in ms per ms the batch took. */
  readonly niceRatio: number;
  /** Rest after every batch, in ms, on top of the nice ratio's. */
  readonly pauseMs: number;
}

/** Batches whose time per row the size is fitted to (their median). */
const RECENT = 5;
/** The smallest batch, as a share of the largest. */
const SMALLEST_SHARE = 0.1;
/** The most a batch shrinks by at once, and grows by. */
const MOST_SHRINK = 0.25;
const MOST_GROWTH = 1.25;

export class BatchPacer {
  private size: number;
  private smallest: number;
  /** ms per row of the last RECENT batches, oldest first. */
  private readonly msPerRow: number[] = [];

  private readonly floor: number;

  constructor(readonly options: PacingOptions) {
    this.size = options.maxBatchSize;
    this.smallest = options.maxBatchSize;
    this.floor = Math.max(1, Math.ceil(options.maxBatchSize * SMALLEST_SHARE));
  }

  /** Rows for the next batch. */
  get batchSize(): number {
    return this.size;
  }

  /** The smallest batch size used so far. */
  get smallestBatchSize(): number {
    return this.smallest;
  }

  /** Record that the last batch, of `batchSize` rows, took `ms`; returns the rest (ms) to take before the next one. */
  batchDone(ms: number): number {
    const { chunkTimeMs, maxBatchSize, niceRatio, pauseMs } = this.options;
    if (chunkTimeMs > 0) {
      this.msPerRow.push(ms / this.size);
      if (this.msPerRow.length > RECENT) this.msPerRow.shift();
      const perRow = median(this.msPerRow);
      let next = perRow > 0 ? chunkTimeMs / perRow : Infinity;
      // At least one row more when growing, or a batch of 1 would stay at 1.
      if (next > this.size) next = Math.min(next, Math.max(this.size + 1, this.size * MOST_GROWTH));
      next = Math.max(next, this.size * MOST_SHRINK);
      this.size = Math.min(maxBatchSize, Math.max(this.floor, Math.floor(next)));
      if (this.size < this.smallest) this.smallest = this.size;
    }
    return niceRatio * ms + pauseMs;
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
