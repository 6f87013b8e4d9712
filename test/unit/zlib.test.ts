/**
 * src/zlib against the real thing: every compressed byte is compared with what Debian's CPython
 * (/usr/bin/python3, the interpreter Django runs on) returns from `zlib.compress(data)`, and every
 * decompression verdict with `zlib.decompress`. Both compressors are checked in one run: the native
 * addon (system zlib) and the pako fallback.
 *
 * The corpus is random but seeded; a failure prints the seed. Re-run one with ZLIB_TEST_SEED=<seed>.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { deflateSync, constants as zc } from 'node:zlib';
import { describe, test } from 'node:test';
import { zlibCompress, zlibDecompress, zlibImplementation, ZlibError } from '../../src/zlib/index.ts';
import { loadNativeZlib } from '../../src/zlib/native-zlib.ts';
import { pakoCompress } from '../../src/zlib/pako-deflate.ts';
import { nodeInflate, outputLimit, toZlibError } from '../../src/zlib/inflate.ts';
import { mulberry32 } from '../support/prng.ts';

const PYTHON = '/usr/bin/python3';
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SEED = process.env.ZLIB_TEST_SEED ? Number(process.env.ZLIB_TEST_SEED) : randomInt(2 ** 31);
const seedNote = `(ZLIB_TEST_SEED=${SEED})`;

// ---------------------------------------------------------------------------------------------
// A seeded generator of session-like documents
// ---------------------------------------------------------------------------------------------

/** mulberry32: small, fast, good enough to vary test data; seeded so failures reproduce. */
function makeRng(seed: number) {
  const next = mulberry32(seed);
  const int = (n: number): number => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  return { next, int, pick };
}
type Rng = ReturnType<typeof makeRng>;

const WORDS = 'user cart item price quantity session token csrf next url backend auth hash id name email last login theme lang en fr de true false null product order total discount'.split(' ');
const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function randomText(rng: Rng, length: number, alphabet: string): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[rng.int(alphabet.length)];
  return out;
}

function words(rng: Rng, count: number): string {
  return Array.from({ length: count }, () => rng.pick(WORDS)).join(' ');
}

/** A JSON value of the kinds sessions hold; non-ASCII is \u-escaped, as Python's ensure_ascii does. */
function randomValue(rng: Rng, depth: number): unknown {
  switch (rng.int(depth > 2 ? 6 : 9)) {
    case 0: return rng.int(2 ** 31) - 2 ** 30;
    case 1: return Math.round(rng.next() * 1e6) / 100;
    case 2: return words(rng, 1 + rng.int(8));
    case 3: return randomText(rng, rng.int(64), ALNUM);
    case 4: return rng.pick([true, false, null]);
    case 5: return `caf\u00e9 ${rng.int(1000)} \u2603`;
    case 6: return Array.from({ length: rng.int(8) }, () => randomValue(rng, depth + 1));
    default: return randomDict(rng, depth + 1, rng.int(8));
  }
}

function randomDict(rng: Rng, depth: number, keys: number): Record<string, unknown> {
  const dict: Record<string, unknown> = {};
  for (let i = 0; i < keys; i++) dict[`${rng.pick(WORDS)}_${rng.int(100)}`] = randomValue(rng, depth);
  return dict;
}

/** Python's json.dumps(..., separators=(",", ":")) with ensure_ascii, near enough for compression tests. */
function toSessionJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`), 'latin1');
}

function authSession(rng: Rng): Record<string, unknown> {
  return {
    _auth_user_id: String(1 + rng.int(100000)),
    _auth_user_backend: 'django.contrib.auth.backends.ModelBackend',
    _auth_user_hash: randomText(rng, 64, '0123456789abcdef'),
  };
}

/** Grow `dict` with a padding key until its JSON is exactly `size` bytes (size >= JSON of dict + 12). */
function sessionOfSize(rng: Rng, dict: Record<string, unknown>, size: number, alphabet: string | null): Buffer {
  const base = toSessionJson(dict).length;
  const overhead = base === 2 ? '"pad":""'.length : ',"pad":""'.length;
  const padLength = size - base - overhead;
  assert.ok(padLength >= 0, `cannot pad ${base} bytes of JSON to ${size}`);
  let pad = alphabet ? randomText(rng, padLength, alphabet) : '';
  while (!alphabet && pad.length < padLength) pad += `${words(rng, 1 + rng.int(6))}, `;
  const out = toSessionJson({ ...dict, pad: pad.slice(0, padLength) });
  assert.equal(out.length, size);
  return out;
}

interface Doc {
  readonly kind: string;
  readonly data: Buffer;
}

function buildCorpus(seed: number): Doc[] {
  const rng = makeRng(seed);
  const docs: Doc[] = [
    { kind: 'empty', data: Buffer.alloc(0) },
    { kind: 'one byte', data: Buffer.from('{') },
    { kind: 'one byte', data: Buffer.from([0]) },
    { kind: 'one byte', data: Buffer.from([255]) },
    { kind: 'two bytes', data: Buffer.from('{}') },
  ];
  // Sizes at deflate's internal boundaries: symbol buffer (16 K), window (32 K), 64 K, and past the
  // addon's 256 KB scratch buffer; compressible and incompressible.
  for (const size of [16383, 16384, 16385, 32767, 32768, 32769, 65535, 65536, 65537, 100_000, 300_000, 1_000_000]) {
    docs.push({ kind: `${size} B text`, data: sessionOfSize(rng, authSession(rng), size, null) });
    docs.push({ kind: `${size} B random`, data: sessionOfSize(rng, authSession(rng), size, ALNUM + '+/') });
  }
  for (let i = 0; docs.length < 3200; i++) {
    const kind = rng.pick(['auth', 'small', 'medium', 'repetitive', 'incompressible', 'binary', 'runs', 'sized'] as const);
    let data: Buffer;
    switch (kind) {
      case 'auth':
        data = toSessionJson({ ...authSession(rng), ...randomDict(rng, 1, rng.int(4)) });
        break;
      case 'small':
        data = toSessionJson(randomDict(rng, 0, rng.int(6)));
        break;
      case 'medium':
        data = toSessionJson({ ...authSession(rng), ...randomDict(rng, 0, 10 + rng.int(60)) });
        break;
      case 'repetitive': {
        const item = randomDict(rng, 2, 1 + rng.int(6));
        const cart = Array.from({ length: 1 + rng.int(400) }, (_, n) => ({ ...item, line: n, qty: rng.int(5) }));
        data = toSessionJson({ ...authSession(rng), cart });
        break;
      }
      case 'incompressible':
        data = toSessionJson({ blob: Buffer.from(Array.from({ length: rng.int(16384) }, () => rng.int(256))).toString('base64') });
        break;
      case 'binary':
        data = Buffer.from(Array.from({ length: rng.int(6000) }, () => rng.int(256)));
        break;
      case 'runs':
        data = toSessionJson({ a: 'x'.repeat(rng.int(3000)), b: 'ab'.repeat(rng.int(2000)), c: words(rng, rng.int(300)) });
        break;
      case 'sized':
        data = sessionOfSize(rng, authSession(rng), 200 + rng.int(64 * 1024 - 199), rng.next() < 0.5 ? null : ALNUM);
        break;
    }
    docs.push({ kind, data });
  }
  return docs;
}

// ---------------------------------------------------------------------------------------------
// CPython, batched through one process: base64 in, one line per document out
// ---------------------------------------------------------------------------------------------

function runPython(script: string, inputs: readonly Uint8Array[], extraEnv: Record<string, string> = {}): string[] {
  const result = spawnSync(PYTHON, ['-c', script], {
    input: inputs.map((data) => Buffer.from(data).toString('base64')).join('\n') + '\n',
    maxBuffer: 1 << 30,
    encoding: 'utf8',
    env: { ...process.env, ...extraEnv },
  });
  assert.equal(result.status, 0, `python failed: ${result.error?.message ?? result.stderr}`);
  return result.stdout.split('\n').slice(0, -1);
}

const PY_COMPRESS = `
import base64, sys, zlib
out = sys.stdout
out.write(zlib.ZLIB_RUNTIME_VERSION + "\\n")
for line in sys.stdin.buffer:
    out.write(base64.b64encode(zlib.compress(base64.b64decode(line))).decode() + "\\n")
`;

/** "OK <base64 output>" or "ERR <zlib.error message>" per input, from zlib.decompress(data). */
const PY_DECOMPRESS = `
import base64, sys, zlib
out = sys.stdout
for line in sys.stdin.buffer:
    try:
        out.write("OK " + base64.b64encode(zlib.decompress(base64.b64decode(line))).decode() + "\\n")
    except zlib.error as e:
        out.write("ERR " + str(e) + "\\n")
`;

const corpus = buildCorpus(SEED);
const [pythonZlibVersion = '', ...pythonLines] = runPython(PY_COMPRESS, corpus.map((doc) => doc.data));
const expected = pythonLines.map((line) => Buffer.from(line, 'base64'));
const native = loadNativeZlib();

function firstMismatches(compress: (data: Uint8Array) => Uint8Array): string[] {
  const bad: string[] = [];
  corpus.forEach((doc, i) => {
    if (!Buffer.from(compress(doc.data)).equals(expected[i] as Buffer)) bad.push(`#${i} ${doc.kind} (${doc.data.length} B)`);
  });
  return bad;
}

// ---------------------------------------------------------------------------------------------

describe('zlibCompress gives CPython zlib.compress bytes', () => {
  test('the corpus and the CPython reference are what the test claims', () => {
    assert.ok(corpus.length >= 3000);
    assert.equal(expected.length, corpus.length);
    assert.ok(corpus.some((doc) => doc.data.length === 0) && corpus.some((doc) => doc.data.length === 1));
    assert.ok(corpus.some((doc) => doc.data.length === 65536));
    assert.match(pythonZlibVersion, /^1\.\d/, 'CPython must run a stock zlib 1.x');
  });

  test('native addon (system zlib): identical bytes for every document', (t) => {
    if (!native.ok) {
      assert.equal(process.env.CI, undefined, `in CI the native addon must be built: ${native.reason}`);
      t.diagnostic(`native addon not available, nothing to check here: ${native.reason}`);
      return;
    }
    // The library we call is the one CPython runs, not node's bundled Chromium zlib (1.3.x).
    assert.equal(native.zlib.zlibVersion, pythonZlibVersion);
    assert.deepEqual(firstMismatches(native.zlib.compress).slice(0, 5), [], seedNote);
  });

  test('pako fallback: identical bytes for every document', () => {
    assert.deepEqual(firstMismatches(pakoCompress).slice(0, 5), [], seedNote);
  });

  test('the public zlibCompress uses the native addon when it is built (and it must be in CI)', () => {
    assert.deepEqual(firstMismatches(zlibCompress).slice(0, 5), [], seedNote);
    if (process.env.CI) assert.equal(zlibImplementation.compress, 'native', zlibImplementation.fallbackReason);
    if (native.ok) {
      assert.deepEqual(zlibImplementation, { compress: 'native', decompress: 'native', libraryVersion: native.zlib.zlibVersion });
    } else {
      assert.equal(zlibImplementation.compress, 'pako');
      assert.equal(zlibImplementation.decompress, 'node');
    }
  });

  test("Node's built-in deflate (Chromium zlib) differs, which is why this module exists", (t) => {
    const differing = corpus.filter((doc, i) => !deflateSync(doc.data).equals(expected[i] as Buffer)).length;
    t.diagnostic(`node:zlib deflateSync differs from CPython on ${differing} of ${corpus.length} documents`);
    assert.ok(differing > 0);
  });

  test('views with a byte offset and plain Uint8Arrays compress as their own bytes', () => {
    const doc = corpus.find((d) => d.data.length > 1000) as Doc;
    const index = corpus.indexOf(doc);
    const framed = new Uint8Array(doc.data.length + 7);
    framed.set(doc.data, 3);
    const view = framed.subarray(3, 3 + doc.data.length);
    assert.ok(Buffer.from(zlibCompress(view)).equals(expected[index] as Buffer));
    assert.ok(Buffer.from(pakoCompress(view)).equals(expected[index] as Buffer));
  });

  test('the native addon rejects anything but a Uint8Array with a TypeError', () => {
    if (!native.ok) return assert.equal(zlibImplementation.compress, 'pako');
    const compress = native.zlib.compress as (data: unknown) => Buffer;
    const decompress = native.zlib.decompress as (data: unknown, limit: number) => Buffer;
    for (const bad of [new Uint16Array(4), 'text', undefined, new ArrayBuffer(4)]) {
      assert.throws(() => compress(bad), TypeError);
      assert.throws(() => decompress(bad, 100), TypeError);
    }
    assert.throws(() => decompress(new Uint8Array(4), -1), RangeError);
  });

  test('the native addon works in worker threads, each with its own zlib streams', async () => {
    if (!native.ok) return assert.equal(zlibImplementation.compress, 'pako');
    const sample = corpus.filter((_, i) => i % 10 === 0);
    // Each worker loads the same TypeScript wrapper (through tsx's API), so the whole per-thread path runs.
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      import('tsx/esm/api').then(({ tsImport }) => tsImport(workerData.module, workerData.module)).then(({ loadNativeZlib }) => {
        const { zlib } = loadNativeZlib();
        const out = workerData.docs.map((d) => zlib.compress(d));
        const back = out.map((c) => zlib.decompress(c, 1 << 30));
        parentPort.postMessage({ out, back });
      });`;
    const module = new URL('../../src/zlib/native-zlib.ts', import.meta.url).href;
    const run = () =>
      new Promise<{ out: Uint8Array[]; back: Uint8Array[] }>((resolve, reject) => {
        const worker = new Worker(code, { eval: true, workerData: { module, docs: sample.map((d) => d.data) } });
        worker.once('message', resolve);
        worker.once('error', reject);
      });
    const results = await Promise.all([run(), run(), run()]);
    for (const { out, back } of results) {
      sample.forEach((doc, i) => {
        assert.ok(Buffer.from(out[i] as Uint8Array).equals(expected[corpus.indexOf(doc)] as Buffer));
        assert.ok(Buffer.from(back[i] as Uint8Array).equals(doc.data));
      });
    }
  });
});

describe('choosing the implementation', () => {
  const probe = `
    const { zlibImplementation, zlibCompress } = await import('./src/zlib/index.ts');
    const data = Buffer.from(process.argv[1], 'base64');
    console.log(JSON.stringify({ ...zlibImplementation, out: Buffer.from(zlibCompress(data)).toString('base64') }));`;
  const sampleIndex = corpus.findIndex((doc, i) => doc.data.length > 500 && !deflateSync(doc.data).equals(expected[i] as Buffer));
  const sample = corpus[sampleIndex] as Doc;

  function runProbe(env: Record<string, string>) {
    return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe, sample.data.toString('base64')], {
      cwd: REPO,
      encoding: 'utf8',
      env: { ...process.env, ...env },
    });
  }

  test('DSB_ZLIB=pako forces the fallback, with the same bytes', () => {
    const result = runProbe({ DSB_ZLIB: 'pako' });
    assert.equal(result.status, 0, result.stderr);
    const reported = JSON.parse(result.stdout) as { compress: string; decompress: string; libraryVersion: string; out: string };
    assert.equal(reported.compress, 'pako');
    assert.equal(reported.decompress, 'node');
    assert.match(reported.libraryVersion, /^pako \d+\.\d+\.\d+$/);
    assert.equal(reported.out, (expected[sampleIndex] as Buffer).toString('base64'));
  });

  test('DSB_ZLIB=native insists on the addon', () => {
    const result = runProbe({ DSB_ZLIB: 'native' });
    if (native.ok) {
      assert.equal(result.status, 0, result.stderr);
      const reported = JSON.parse(result.stdout) as { compress: string; decompress: string; out: string };
      assert.deepEqual([reported.compress, reported.decompress], ['native', 'native']);
      assert.equal(reported.out, (expected[sampleIndex] as Buffer).toString('base64'));
    } else {
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, /DSB_ZLIB=native, but /);
    }
  });

  test('an unknown DSB_ZLIB value stops the import with a message naming it', () => {
    const result = runProbe({ DSB_ZLIB: 'fast' });
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /DSB_ZLIB must be "auto", "native" or "pako", got "fast"/);
  });

  test('a libz.so.1 loaded before the addon (so not isolated) is refused, and pako takes over', () => {
    const libz = '/lib/x86_64-linux-gnu/libz.so.1';
    assert.ok(existsSync(libz), `${libz} is the library the addon is meant to use`);
    const result = runProbe({ LD_PRELOAD: libz });
    assert.equal(result.status, 0, result.stderr);
    const reported = JSON.parse(result.stdout) as { compress: string; fallbackReason?: string; out: string };
    assert.equal(reported.compress, 'pako');
    if (native.ok) assert.match(reported.fallbackReason ?? '', /already loaded/);
    assert.equal(reported.out, (expected[sampleIndex] as Buffer).toString('base64'));
  });
});

// ---------------------------------------------------------------------------------------------

type Inflate = (data: Uint8Array, maxOutputLength?: number) => Uint8Array;

/** The two decompressors behind zlibDecompress, with its error mapping, so each is checked on its own. */
function viaLimit(inflate: (data: Uint8Array, limit: number) => Uint8Array): Inflate {
  return (data, maxOutputLength) => {
    const limit = outputLimit(maxOutputLength);
    try {
      return inflate(data, limit);
    } catch (error) {
      throw toZlibError(error, limit);
    }
  };
}

const decompressors: [string, Inflate][] = [
  ['zlibDecompress (public API)', zlibDecompress],
  ['node:zlib inflate fallback', viaLimit(nodeInflate)],
];
if (native.ok) decompressors.push(['native addon inflate (system zlib)', viaLimit(native.zlib.decompress)]);

/** Mutations of CPython's streams, and CPython's verdict on each: "OK <base64>" or "ERR <message>". */
const decompressCases: Buffer[] = (() => {
  const rng = makeRng(SEED ^ 0x5eed);
  const sources = expected.filter((_, i) => i % 7 === 0 && (corpus[i] as Doc).data.length > 0);
  const cases: Buffer[] = [Buffer.alloc(0), Buffer.from([0x78]), Buffer.from([0x78, 0x9c]), Buffer.from('not zlib at all')];
  for (const stream of sources) {
    const flipped = Buffer.from(stream);
    const at = rng.int(flipped.length);
    flipped[at] = (flipped[at] as number) ^ (1 << rng.int(8));
    cases.push(flipped);
    cases.push(stream.subarray(0, rng.int(stream.length))); // truncated
    cases.push(Buffer.concat([stream, Buffer.from(randomText(rng, 1 + rng.int(9), ALNUM))])); // trailing bytes
    const badChecksum = Buffer.from(stream);
    badChecksum[badChecksum.length - 1] = (badChecksum[badChecksum.length - 1] as number) ^ 1;
    cases.push(badChecksum);
  }
  return cases;
})();
const decompressVerdicts = runPython(PY_DECOMPRESS, decompressCases);
const zlibWithPresetDictionary = deflateSync(Buffer.from('session'), { dictionary: Buffer.from('session data') });
const bomb = zlibCompress(new Uint8Array(64 * 1024 * 1024)); // 64 MiB of zeros

for (const [name, inflate] of decompressors) {
  describe(`decompression: ${name}`, () => {
    test('round-trips every document of the corpus', () => {
      corpus.forEach((doc, i) => {
        assert.ok(Buffer.from(inflate(expected[i] as Buffer)).equals(doc.data), `#${i} ${doc.kind} ${seedNote}`);
      });
    });

    test('reads zlib streams made with other settings (any valid stream, whoever wrote it)', () => {
      const docs = corpus.filter((_, i) => i % 50 === 0);
      const settings = [
        { level: 0 },
        { level: 1 },
        { level: 9 },
        { windowBits: 9 },
        { memLevel: 1 },
        { strategy: zc.Z_HUFFMAN_ONLY },
        { strategy: zc.Z_RLE },
        { strategy: zc.Z_FIXED },
      ];
      for (const doc of docs) {
        for (const options of settings) {
          assert.ok(Buffer.from(inflate(deflateSync(doc.data, options))).equals(doc.data), JSON.stringify(options));
        }
      }
    });

    test('accepts and rejects exactly what CPython zlib.decompress does, with the same output', () => {
      let rejected = 0;
      decompressCases.forEach((data, i) => {
        const verdict = decompressVerdicts[i] as string;
        let ours: string;
        try {
          ours = `OK ${Buffer.from(inflate(data)).toString('base64')}`;
        } catch (error) {
          assert.ok(error instanceof ZlibError, `case #${i}: ${String(error)}`);
          // CPython's "Error -5 ...: incomplete or truncated stream" is our 'truncated'; the rest is corrupt data.
          const pythonSaysTruncated = verdict.startsWith('ERR Error -5 ');
          assert.equal(error.reason, pythonSaysTruncated ? 'truncated' : 'invalid-data', `case #${i}: ${verdict}`);
          ours = 'ERR';
          rejected++;
        }
        assert.equal(ours, verdict.startsWith('OK') ? verdict : 'ERR', `case #${i} ${seedNote}`);
      });
      assert.ok(rejected > decompressCases.length / 3, `only ${rejected} of ${decompressCases.length} cases were corrupt`);
    });

    test('corrupt and truncated streams throw ZlibError with a reason and the cause', () => {
      const stream = expected[corpus.findIndex((doc) => doc.data.length > 2000)] as Buffer;
      const corrupt = Buffer.from(stream);
      corrupt[0] = 0x79; // header check fails
      for (const [data, reason] of [
        [corrupt, 'invalid-data'],
        [stream.subarray(0, stream.length - 5), 'truncated'],
        [Buffer.alloc(0), 'truncated'],
        [zlibWithPresetDictionary, 'invalid-data'],
      ] as const) {
        assert.throws(() => inflate(data), (error: unknown) => {
          assert.ok(error instanceof ZlibError);
          assert.equal(error.name, 'ZlibError');
          assert.equal(error.reason, reason);
          assert.ok(error.cause instanceof Error);
          return true;
        });
      }
    });

    test('maxOutputLength stops a decompression bomb before it is inflated', () => {
      assert.ok(bomb.length < 100 * 1024);
      assert.throws(() => inflate(bomb, 1024 * 1024), (error: unknown) => {
        assert.ok(error instanceof ZlibError);
        assert.equal(error.reason, 'output-too-large');
        return true;
      });
      const doc = Buffer.from('{"a":"' + 'b'.repeat(300_000) + '"}'); // more than the addon's scratch buffer
      const stream = zlibCompress(doc);
      assert.ok(Buffer.from(inflate(stream, doc.length)).equals(doc)); // exactly at the limit is fine
      assert.throws(() => inflate(stream, doc.length - 1), ZlibError);
      assert.throws(() => inflate(stream, 100), ZlibError);
      assert.equal(inflate(zlibCompress(new Uint8Array(0)), 0).length, 0);
      assert.throws(() => inflate(zlibCompress(Buffer.from('x')), 0), ZlibError);
      for (const bad of [-1, 1.5, Number.NaN]) assert.throws(() => inflate(stream, bad), RangeError);
    });
  });
}
