/**
 * zlib throughput on session-sized JSON: our compressors (native system zlib, pako) and Node's
 * built-in (different bytes, shown for scale) against CPython's zlib.compress measured in the same
 * run, and the decompressors (native, Node's inflateSync, pako) against zlib.decompress.
 * Each figure is the best of several rounds timed in CPU time (user + system) of the measuring
 * process, which other load on the machine skews far less than wall time. For Node that includes
 * its GC and compiler threads, so it errs against us.
 *
 * Run: npx tsx bench/zlib.ts
 *   DSB_BENCH_ROUNDS=n          rounds per figure (default 5)
 *   DSB_BENCH_SIZES=150,10240   session JSON sizes in bytes (the default)
 *
 * CPython is measured twice. "python" is the interpreter as Django runs it. "python, no trim" sets
 * MALLOC_TRIM_THRESHOLD_ so glibc keeps freed memory: each zlib.compress allocates and frees ~270 KB
 * of deflate state, and with glibc's default settings that memory goes back to the kernel (brk) and
 * page-faults in again on every call, which on some VMs costs more than the compression itself.
 */
import { spawnSync } from 'node:child_process';
import { deflateSync, inflateSync } from 'node:zlib';
import pako from 'pako';
import { zlibCompress, zlibDecompress, zlibImplementation } from '../src/zlib/index.ts';
import { loadNativeZlib } from '../src/zlib/native-zlib.ts';
import { pakoCompress } from '../src/zlib/pako-deflate.ts';

const ROUNDS = Number(process.env.DSB_BENCH_ROUNDS ?? 5);
const ROUND_SECONDS = 0.25;

/** A Django auth session, grown with shopping-cart entries to about `size` bytes of compact JSON. */
function sessionJson(size: number): Buffer {
  const session: Record<string, unknown> = {
    _auth_user_id: '4821',
    _auth_user_backend: 'django.contrib.auth.backends.ModelBackend',
    _auth_user_hash: '9f3c2a7b1e5d4c8a0b6f2e9d7c1a3b5e8f0d2c4a6b8e1f3d5c7a9b0e2d4f6a8c',
  };
  const cart: unknown[] = [];
  for (let i = 0; JSON.stringify(session).length < size; i++) {
    cart.push({ sku: `SKU-${(i * 7919) % 100000}`, qty: 1 + (i % 4), price: ((i * 3779) % 100000) / 100, title: `Product ${(i * 104729) % 9973} colour ${i % 7}` });
    session.cart = cart;
  }
  return Buffer.from(JSON.stringify(session));
}

/** CPU seconds (user + system) used by this process: unlike wall time, not inflated by other load. */
function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** Best ops/s over ROUNDS rounds of about ROUND_SECONDS of CPU time each. */
function measure(fn: () => unknown): number {
  let iterations = 1;
  for (;;) {
    const start = cpuSeconds();
    for (let i = 0; i < iterations; i++) fn();
    const seconds = cpuSeconds() - start;
    if (seconds >= ROUND_SECONDS / 4) {
      iterations = Math.max(1, Math.round((iterations * ROUND_SECONDS) / seconds));
      break;
    }
    iterations *= 4;
  }
  let best = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const start = cpuSeconds();
    for (let i = 0; i < iterations; i++) fn();
    best = Math.max(best, iterations / (cpuSeconds() - start));
  }
  return best;
}

const PY_BENCH = `
import base64, json, sys, time, zlib
rounds, round_seconds = int(sys.argv[1]), float(sys.argv[2])
def measure(fn, arg):
    n = 1
    while True:
        t = time.process_time()
        for _ in range(n): fn(arg)
        dt = time.process_time() - t
        if dt >= round_seconds / 4:
            n = max(1, round(n * round_seconds / dt)); break
        n *= 4
    best = 0.0
    for _ in range(rounds):
        t = time.process_time()
        for _ in range(n): fn(arg)
        best = max(best, n / (time.process_time() - t))
    return best
out = {}
for line in sys.stdin:
    data = base64.b64decode(line)
    packed = zlib.compress(data)
    out[len(data)] = {"compress": measure(zlib.compress, data), "decompress": measure(zlib.decompress, packed)}
print(json.dumps(out))
`;

type PythonResults = Record<string, { compress: number; decompress: number }>;

function measurePython(docs: readonly Buffer[], env: Record<string, string>): PythonResults {
  const result = spawnSync('/usr/bin/python3', ['-c', PY_BENCH, String(ROUNDS), String(ROUND_SECONDS)], {
    input: docs.map((doc) => doc.toString('base64')).join('\n') + '\n',
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  if (result.status !== 0) throw new Error(`python benchmark failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as PythonResults;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(10);
const ratio = (ours: number, theirs: number) => `${(ours / theirs).toFixed(2)}×`.padStart(9);

const docs = (process.env.DSB_BENCH_SIZES ?? '150,10240').split(',').map((size) => sessionJson(Number(size)));
const native = loadNativeZlib();
console.log(`zlibCompress uses: ${zlibImplementation.compress}, zlibDecompress: ${zlibImplementation.decompress} (${zlibImplementation.libraryVersion})` +
  (zlibImplementation.fallbackReason ? `, because ${zlibImplementation.fallbackReason}` : ''));
console.log(`best of ${ROUNDS} rounds of ~${ROUND_SECONDS}s CPU time; ratios are ours / CPython's ops/s\n`);

const python = measurePython(docs, {});
const pythonNoTrim = measurePython(docs, { MALLOC_TRIM_THRESHOLD_: String(1 << 30) });

for (const doc of docs) {
  const packed = zlibCompress(doc);
  const py = python[doc.length] as { compress: number; decompress: number };
  const pyNoTrim = pythonNoTrim[doc.length] as { compress: number; decompress: number };
  console.log(`${doc.length} B session JSON -> ${packed.length} B`);
  console.log(`  ${'ops/s'.padStart(48)} ${'vs python'.padStart(9)} ${'vs no-trim'.padStart(9)}`);
  const row = (name: string, opsPerSecond: number, op: 'compress' | 'decompress') =>
    console.log(`  ${name.padEnd(38)}${fmt(opsPerSecond)} ${ratio(opsPerSecond, py[op])} ${ratio(opsPerSecond, pyNoTrim[op])}`);

  row('compress  python zlib.compress', py.compress, 'compress');
  row('compress  python, no trim', pyNoTrim.compress, 'compress');
  if (native.ok) row('compress  native (system zlib)', measure(() => native.zlib.compress(doc)), 'compress');
  row('compress  pako', measure(() => pakoCompress(doc)), 'compress');
  row('compress  zlibCompress (public API)', measure(() => zlibCompress(doc)), 'compress');
  row('compress  node:zlib (other bytes!)', measure(() => deflateSync(doc)), 'compress');
  row('inflate   python zlib.decompress', py.decompress, 'decompress');
  row('inflate   python, no trim', pyNoTrim.decompress, 'decompress');
  if (native.ok) row('inflate   native (system zlib)', measure(() => native.zlib.decompress(packed, 1 << 20)), 'decompress');
  row('inflate   node:zlib inflateSync', measure(() => inflateSync(packed)), 'decompress');
  row('inflate   pako', measure(() => pako.inflate(packed)), 'decompress');
  row('inflate   zlibDecompress (public API)', measure(() => zlibDecompress(packed, 1 << 20)), 'decompress');
  console.log('');
}
