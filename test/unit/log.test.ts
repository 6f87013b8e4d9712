/**
 * src/log.ts: the JSON line format and the buffered mode `serve` turns on (one write per event-loop
 * turn, order kept, nothing lost when buffering is turned off or the process exits).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { afterEach, describe, it } from 'node:test';
import { flushLog, formatLogLine, getLogger, setLogBuffering } from '../../src/log.ts';

const log = getLogger('test.log');

/** Capture process.stderr.write calls (each call one entry) while `work` runs. */
async function captureStderr(work: (writes: readonly string[]) => Promise<void> | void): Promise<string[]> {
  const writes: string[] = [];
  const original = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    writes.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    await work(writes);
  } finally {
    process.stderr.write = original;
  }
  return writes;
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('log', () => {
  afterEach(() => setLogBuffering(false));

  it('formats one JSON object per record: time, level, logger, message, then the fields', () => {
    const line = formatLogLine({ logger: 'django.server', level: 'warning', message: '"GET /x" 404', fields: { status: 404, path: '/x' } });
    const parsed = JSON.parse(line) as Record<string, unknown>;
    assert.deepEqual(Object.keys(parsed), ['time', 'level', 'logger', 'message', 'status', 'path']);
    assert.match(String(parsed.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(parsed.level, 'warning');
    assert.equal(line.includes('\n'), false);
  });

  it('unbuffered (the default): every record is written at once, one write each', async () => {
    const writes = await captureStderr(() => {
      log.info('one');
      log.info('two');
    });
    assert.deepEqual(writes.map((w) => (JSON.parse(w) as { message: string }).message), ['one', 'two']);
  });

  it('buffered: the records of one turn leave in one write, in order, on the next turn', async () => {
    const writes = await captureStderr(async (sofar) => {
      setLogBuffering(true);
      log.info('a');
      log.warning('b');
      log.error('c');
      assert.equal(sofar.length, 0, 'nothing written synchronously');
      await turn();
      log.info('d');
      await turn();
    });
    assert.equal(writes.length, 2, 'one write per turn');
    const lines = writes.join('').trimEnd().split('\n');
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as { message: string }).message), ['a', 'b', 'c', 'd']);
    assert.equal(writes[0]!.split('\n').length - 1, 3);
  });

  it('buffered: flushLog() and turning buffering off write what is pending at once', async () => {
    const writes = await captureStderr((sofar) => {
      setLogBuffering(true);
      log.info('x');
      assert.equal(sofar.length, 0, 'nothing written synchronously');
      flushLog();
      assert.equal(sofar.length, 1);
      log.info('y');
      setLogBuffering(false);
      assert.equal(sofar.length, 2);
    });
    assert.deepEqual(writes.map((w) => (JSON.parse(w) as { message: string }).message), ['x', 'y']);
  });

  it('buffered: lines still pending when the process exits are written', () => {
    const script = `
      import { getLogger, setLogBuffering } from ${JSON.stringify(new URL('../../src/log.ts', import.meta.url).href)};
      setLogBuffering(true);
      getLogger('test.exit').info('last words');
      process.exit(3);
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(child.status, 3);
    assert.match(child.stderr, /"message":"last words"/);
  });
});
