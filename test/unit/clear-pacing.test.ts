/**
 * BatchPacer: the batch size follows the chunk time from the median of recent batches (sustained
 * slowness shrinks it fast, a lone stall does not), grows back slowly, and the rest after a batch is
 * the nice ratio times its time plus the fixed pause.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BatchPacer, type PacingOptions } from '../../src/sessions/clear-pacing.ts';

const pacer = (options: Partial<PacingOptions> = {}): BatchPacer =>
  new BatchPacer({ maxBatchSize: 500, chunkTimeMs: 25, niceRatio: 0, pauseMs: 0, ...options });

/** Runs batches costing `msPerRow` each (plus `stallMs` on the ones listed); returns the sizes used. */
function drive(p: BatchPacer, batches: number, msPerRow: number, stalls: ReadonlyMap<number, number> = new Map()): number[] {
  const sizes: number[] = [];
  for (let i = 0; i < batches; i++) {
    sizes.push(p.batchSize);
    p.batchDone(p.batchSize * msPerRow + (stalls.get(i) ?? 0));
  }
  return sizes;
}

describe('BatchPacer', () => {
  it('keeps the batch size fixed with chunk time 0, however slow the batches', () => {
    const p = pacer({ chunkTimeMs: 0 });
    assert.deepEqual(drive(p, 5, 10), [500, 500, 500, 500, 500]);
    assert.equal(p.smallestBatchSize, 500);
  });

  it('stays at the most rows while batches are under the chunk time', () => {
    assert.deepEqual(drive(pacer(), 10, 0.01), Array(10).fill(500));
  });

  it('ignores a lone stall: it is not the batch size that caused it', () => {
    const p = pacer();
    const sizes = drive(p, 20, 0.01, new Map([[8, 300]]));
    assert.deepEqual(sizes, Array(20).fill(500));
  });

  it('shrinks within a few batches when batches keep running long, by at most a quarter a step', () => {
    const p = pacer();
    // 0.3 ms a row (a cold index walk): 500 rows take 150 ms; the fit is 83 rows.
    const sizes = drive(p, 6, 0.3);
    assert.equal(sizes[0], 500);
    for (let i = 1; i < sizes.length; i++) assert.ok(sizes[i]! >= Math.floor(sizes[i - 1]! / 4), `${sizes}`);
    assert.ok(sizes[2]! <= 125, `shrunk by the third batch: ${sizes}`);
    assert.equal(sizes.at(-1), 83);
    assert.equal(p.smallestBatchSize, 83);
  });

  it('never shrinks below a tenth of the most rows, however slow the batches', () => {
    const p = pacer();
    // 100 ms a batch whatever its size (a fixed cost: round trips on a starved CPU): fitting alone would go to 1.
    for (let i = 0; i < 30; i++) p.batchDone(100);
    assert.equal(p.batchSize, 50);
    assert.equal(p.smallestBatchSize, 50);
  });

  it('grows back slowly (a quarter a batch at most) and never past the most rows', () => {
    const p = pacer();
    drive(p, 8, 0.3);
    const sizes = drive(p, 20, 0.01);
    for (let i = 1; i < sizes.length; i++) assert.ok(sizes[i]! <= Math.max(sizes[i - 1]! + 1, sizes[i - 1]! * 1.25), `${sizes}`);
    assert.ok(sizes[3]! < 500, `not at once: ${sizes}`);
    assert.equal(sizes.at(-1), 500);
    assert.ok(sizes.every((n) => n <= 500));
  });

  it('grows from a batch of one', () => {
    const p = pacer({ maxBatchSize: 9 });
    drive(p, 12, 100);
    assert.equal(p.batchSize, 1);
    const sizes = drive(p, 12, 0.01);
    assert.ok(sizes[4]! > 1 && sizes.at(-1) === 9, `${sizes}`);
  });

  it('rests the nice ratio times the batch time, plus the pause', () => {
    assert.equal(pacer({ niceRatio: 1.5, pauseMs: 20 }).batchDone(40), 80);
    assert.equal(pacer({ niceRatio: 0, pauseMs: 0 }).batchDone(40), 0);
    assert.equal(pacer({ niceRatio: 0.5, chunkTimeMs: 0 }).batchDone(300), 150);
  });
});
