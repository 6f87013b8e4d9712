/**
 * The session codec against Django's own: `SessionCodec.encode/decode` vs
 * `django.contrib.sessions.backends.db.SessionStore().encode(d)` / `.decode(s)` of Django 3.2 (the
 * system's) and 5.2 (the newest), all measured in one run, on the same inputs.
 *
 * Run: npm run bench:codec        (tsx bench/codec.ts)
 *   DSB_BENCH_ROUNDS=n          rounds per figure (default 7); the best round is the figure
 *   DSB_BENCH_ROUND_MS=n        target length of one round in ms (default 100)
 *   DSB_BENCH_CLOCK=cpu|wall    what a round is timed with (default cpu, see below)
 *   DSB_BENCH_DJANGO=3.2,5.2    Django series to compare with (each must be set up, see test/django/README.md)
 *
 * Inputs: a logged-in session (the three auth keys plus two app keys, ~200 B of JSON) and a ~10 KB
 * session (a cart of items with mixed text, prices, options, some non-ASCII; compressible like real
 * data). They are built here as PyValues, written with pyDumps, and handed to Python as that json
 * text, so both sides serialise the same dict. Both sides decode the same session_data string
 * (written by our encoder); the run first checks that Django decodes it to the same dict and that
 * our encoder writes exactly Django's bytes apart from the timestamp.
 *
 * Our figures:
 *   - cold: `cacheSize: 0`. Every decode verifies the HMAC, base64-decodes, inflates, parses and
 *     builds the Map; every encode serialises, deflates, base64-encodes and signs. This is the
 *     headline: the ratios use it, so the caches are never what reaches the goal.
 *   - warm: the default caches, the same session_data decoded (and the same dict encoded) over and
 *     over, which is what a server sees for one user's repeated requests.
 * Django's figures come from a timeit-style loop over the bound method in one Python process per
 * series (bench/python/codec_bench.py; GC disabled during the loop as timeit does, which favours
 * Django). The Python processes wait on stdin while Node measures and vice versa: the rounds of all
 * figures are interleaved (round 1 of every figure, then round 2, ...) so that drift in the
 * machine's load hits every column alike, and the best round of each figure is kept.
 *
 * Then the steps that run the same kind of C code on both sides (serialise, parse, deflate, inflate)
 * are timed alone, ours against CPython's on the same bytes, to show what bounds each figure.
 *
 * Clock: CPU time of the measuring process (user + system), which load from other processes on the
 * machine (2 cores) skews far less than wall time. For Node that includes its GC and compiler
 * threads, so it errs against us. DSB_BENCH_CLOCK=wall uses wall time instead.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pyDictToMap, pyDumps, pyLoads, type PyDict, type PyValue, type SessionDict } from '../src/pyjson/index.ts';
import { PyFloat } from '../src/pyjson/types.ts';
import { SessionCodec } from '../src/sessions/codec.ts';
import { zlibCompress, zlibDecompress, zlibImplementation } from '../src/zlib/index.ts';
import { mulberry32 } from '../test/support/prng.ts';

const ROUNDS = Number(process.env.DSB_BENCH_ROUNDS ?? 7);
const ROUND_SECONDS = Number(process.env.DSB_BENCH_ROUND_MS ?? 100) / 1000;
const CLOCK = (process.env.DSB_BENCH_CLOCK ?? 'cpu') as 'cpu' | 'wall';
const DJANGO_SERIES = (process.env.DSB_BENCH_DJANGO ?? '3.2,5.2').split(',').map((s) => s.trim());
const GOAL = 5;
const SECRET_KEY = 'bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-!@#$%^&*(-_=+)';
const ROOT = fileURLToPath(new URL('..', import.meta.url));

// ---------------------------------------------------------------------------------------------
// Inputs

/** What Django stores after a login, plus two app keys. */
export function smallSession(): PyDict {
  return {
    _auth_user_id: '4821',
    _auth_user_backend: 'django.contrib.auth.backends.ModelBackend',
    _auth_user_hash: '9f3c2a7b1e5d4c8a0b6f2e9d7c1a3b5e8f0d2c4a6b8e1f3d5c7a9b0e2d4f6a8c',
    _language: 'en',
    cart_id: 90211,
  };
}

const WORDS = (
  'organic cotton shirt navy slim fit linen trousers wool scarf leather boots canvas tote ' +
  'ceramic mug espresso beans dark roast notebook dotted grid pencil set walnut desk lamp ' +
  'cushion cover oversized hoodie recycled polyester rain jacket waterproof hiking socks merino ' +
  'gift wrap express delivery small medium large extra red green blue black white grey'
).split(' ');
const ACCENTED = ['café', 'crème brûlée', 'Müller', 'Größe', 'naïve', 'São Paulo', 'Zürich', '€ price', 'Ærø', 'smörgåsbord'];

/** A session grown with shopping-cart entries and app state to about `size` bytes of JSON. */
export function largeSession(size: number): PyDict {
  const random = mulberry32(20240611);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const words = (n: number): string => Array.from({ length: n }, () => pick(WORDS)).join(' ');
  const cart: PyValue[] = [];
  const session: PyDict = {
    ...smallSession(),
    recently_viewed: Array.from({ length: 24 }, () => Math.floor(random() * 200000)),
    checkout: { step: 2, shipping: 'express', address: { city: 'Zürich', zip: '8001', line1: 'Bahnhofstrasse 12' }, coupon: null },
    cart,
  };
  for (let i = 0; pyDumps(session).length < size; i++) {
    const price = Math.round(random() * 20000) / 100;
    cart.push({
      sku: `SKU-${Math.floor(random() * 1e6).toString(36).toUpperCase()}`,
      title: random() < 0.2 ? `${words(2)} ${pick(ACCENTED)}` : words(3 + Math.floor(random() * 3)),
      qty: 1 + Math.floor(random() * 4),
      price: Number.isInteger(price) ? new PyFloat(price) : price,
      options: { size: pick(['S', 'M', 'L', 'XL']), colour: pick(['navy', 'red', 'black', 'oat']) },
      gift: random() < 0.1,
      note: random() < 0.15 ? words(6) : null,
      added_at: 1718000000 + Math.floor(random() * 86400 * 30),
    });
  }
  return session;
}

interface Input {
  name: 'small' | 'large';
  label: string;
  /** The session as the codec hands it out (a Map in Python key order) and takes it back. */
  session: SessionDict;
  json: string;
  /** session_data written by our encoder: what both sides decode. */
  data: string;
}

const FIXED_TIMESTAMP = 1_718_000_000;

function makeInput(name: Input['name'], dict: PyDict, codec: SessionCodec): Input {
  const json = pyDumps(dict);
  const session = pyDictToMap(pyLoads(json) as PyDict);
  return { name, label: `${name === 'small' ? 'small' : '10 KB'} (${json.length} B json)`, session, json, data: codec.encode(session, { timestamp: FIXED_TIMESTAMP }) };
}

// ---------------------------------------------------------------------------------------------
// Timing

function clockSeconds(): number {
  if (CLOCK === 'wall') return performance.now() / 1000;
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

let sink: unknown;

/** Seconds for n calls of fn. */
function runNode(fn: () => unknown, n: number): number {
  const start = clockSeconds();
  for (let i = 0; i < n; i++) sink = fn();
  return clockSeconds() - start;
}

/** A long-lived Python process running bench/python/codec_bench.py for one Django series. */
class DjangoBench {
  private readonly lines: AsyncIterator<string>;
  private constructor(
    readonly series: string,
    private readonly child: ChildProcessWithoutNullStreams,
    reader: Interface,
  ) {
    this.lines = reader[Symbol.asyncIterator]();
  }

  static start(series: string): DjangoBench {
    const env = { ...process.env };
    if (series !== '3.2') {
      const dir = `${ROOT}.cache/django/${series}/usr/lib/python3/dist-packages`;
      if (!existsSync(dir)) throw new Error(`Django ${series} is not set up (${dir} missing): run scripts/setup-django.sh`);
      env.PYTHONPATH = dir;
    }
    const child = spawn('/usr/bin/python3', [`${ROOT}bench/python/codec_bench.py`], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => {
      if (code) console.error(`Django ${series} bench exited with ${code}:\n${stderr}`);
    });
    return new DjangoBench(series, child, createInterface({ input: child.stdout }));
  }

  async call<T>(request: object): Promise<T> {
    this.child.stdin.write(JSON.stringify(request) + '\n');
    const next = await this.lines.next();
    if (next.done) throw new Error(`Django ${this.series} bench process ended`);
    return JSON.parse(next.value) as T;
  }

  async round(op: 'encode' | 'decode' | Step, name: string, n: number): Promise<number> {
    const { cpu, wall } = await this.call<{ cpu: number; wall: number }>({ cmd: 'round', op, name, n });
    return CLOCK === 'wall' ? wall : cpu;
  }

  close(): void {
    this.child.stdin.end();
  }
}

/** One column entry: something that can run n operations and say how long they took. */
interface Figure {
  run(n: number): Promise<number>;
  /** Calls per round, found by calibration. */
  n: number;
  /** ops/s of each round. */
  rates: number[];
}

function figure(run: (n: number) => Promise<number> | number): Figure {
  return { run: async (n) => run(n), n: 1, rates: [] };
}

/** Find n so that a round lasts about `roundSeconds` (this also warms up the Node paths). */
async function calibrate(f: Figure, roundSeconds: number): Promise<void> {
  let n = 1;
  for (;;) {
    const seconds = await f.run(n);
    if (seconds >= roundSeconds / 4) {
      f.n = Math.max(1, Math.round((n * roundSeconds) / seconds));
      return;
    }
    n *= 4;
  }
}

/** Calibrate, then run `rounds` interleaved rounds of every figure. */
async function measureAll(figures: readonly Figure[], rounds: number, roundSeconds: number): Promise<void> {
  for (const f of figures) await calibrate(f, roundSeconds);
  for (let round = 0; round < rounds; round++) {
    // Rotate the starting figure so no figure always runs right after the same neighbour.
    for (let k = 0; k < figures.length; k++) {
      const f = figures[(k + round) % figures.length] as Figure;
      f.rates.push(f.n / (await f.run(f.n)));
    }
  }
}

const best = (f: Figure): number => Math.max(...f.rates);
const median = (f: Figure): number => {
  const sorted = [...f.rates].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

// ---------------------------------------------------------------------------------------------
// Where the cold time goes: the steps that cost the same kind of work on both sides, ours against
// CPython's (json/zlib C code in Django's interpreter), on the same bytes.

type Step = 'json_dumps' | 'json_loads' | 'zlib_compress' | 'zlib_decompress';
const STEP_LABELS: Record<Step, string> = {
  json_dumps: 'serialise (pyDumps → latin-1 bytes | json.dumps)',
  json_loads: 'parse (pyLoads → Map | json.loads)',
  zlib_compress: 'deflate (zlibCompress | zlib.compress)',
  zlib_decompress: 'inflate (zlibDecompress | zlib.decompress)',
};

function ourStep(step: Step, input: Input): () => unknown {
  const bytes = Buffer.from(input.json, 'latin1');
  const packed = zlibCompress(bytes);
  switch (step) {
    case 'json_dumps':
      return () => Buffer.from(pyDumps(input.session), 'latin1');
    case 'json_loads':
      return () => pyDictToMap(pyLoads(input.json) as PyDict);
    case 'zlib_compress':
      return () => zlibCompress(bytes);
    case 'zlib_decompress':
      return () => zlibDecompress(packed);
  }
}

// ---------------------------------------------------------------------------------------------

const fmtOps = (n: number): string => Math.round(n).toLocaleString('en-US');
const pad = (s: string, w: number): string => s.padStart(w);

async function main(): Promise<void> {
  const started = performance.now();
  const cold = new SessionCodec({ secretKey: SECRET_KEY, cacheSize: 0 });
  const warm = new SessionCodec({ secretKey: SECRET_KEY });
  const inputs = [makeInput('small', smallSession(), cold), makeInput('large', largeSession(10240), cold)];

  const djangos = DJANGO_SERIES.map((series) => DjangoBench.start(series));
  const versions: string[] = [];
  for (const django of djangos) {
    const setup = await django.call<{ django: string; python: string; encoded: Record<string, string>; decoded: Record<string, string> }>({
      cmd: 'setup',
      secretKey: SECRET_KEY,
      sessions: Object.fromEntries(inputs.map((i) => [i.name, i.json])),
      data: Object.fromEntries(inputs.map((i) => [i.name, i.data])),
    });
    versions.push(`Django ${setup.django} (Python ${setup.python})`);
    for (const input of inputs) {
      // Same work on both sides: Django reads our bytes back to the same dict, and writes the bytes we
      // write (its own timestamp aside, so its output is compared after re-signing at ours).
      if (setup.decoded[input.name] !== input.json) throw new Error(`Django ${setup.django} decodes the ${input.name} session differently`);
      const theirs = setup.encoded[input.name] as string;
      const decoded = cold.decodeStrict(theirs);
      if (pyDumps(decoded) !== input.json) throw new Error(`we decode Django ${setup.django}'s ${input.name} session differently`);
      const payload = theirs.split(':')[0];
      if (payload !== input.data.split(':')[0]) throw new Error(`Django ${setup.django} serialises/compresses the ${input.name} session differently`);
    }
  }

  const ops = ['encode', 'decode'] as const;
  type Row = { input: Input; op: (typeof ops)[number]; cold: Figure; warm: Figure; django: Figure[] };
  const rows: Row[] = [];
  for (const input of inputs) {
    for (const op of ops) {
      const ours = (codec: SessionCodec) =>
        figure(op === 'encode' ? (n) => runNode(() => codec.encode(input.session), n) : (n) => runNode(() => codec.decode(input.data), n));
      rows.push({ input, op, cold: ours(cold), warm: ours(warm), django: djangos.map((d) => figure((n) => d.round(op, input.name, n))) });
    }
  }
  await measureAll(
    rows.flatMap((r) => [r.cold, r.warm, ...r.django]),
    ROUNDS,
    ROUND_SECONDS,
  );
  // The steps: one CPython is enough (the same C code under every Django series); shorter rounds.
  const python = djangos[0] as DjangoBench;
  const stepRows = inputs.flatMap((input) =>
    (Object.keys(STEP_LABELS) as Step[]).map((step) => {
      const fn = ourStep(step, input);
      return { input, step, ours: figure((n) => runNode(fn, n)), python: figure((n) => python.round(step, input.name, n)) };
    }),
  );
  await measureAll(
    stepRows.flatMap((r) => [r.ours, r.python]),
    Math.max(3, ROUNDS - 2),
    ROUND_SECONDS / 2,
  );
  for (const django of djangos) django.close();

  console.log(`session codec: ours (zlib: compress ${zlibImplementation.compress}, decompress ${zlibImplementation.decompress}, ${zlibImplementation.libraryVersion}) vs ${versions.join(', ')}`);
  console.log(`best of ${ROUNDS} interleaved rounds of ~${ROUND_SECONDS * 1000} ms ${CLOCK} time; ops/s (median in parentheses for ours cold)`);
  console.log(`cold = cacheSize 0 (every call does all the work: the headline); warm = default caches, same session_data/dict repeated\n`);
  const w = 12;
  const head = ['session', 'op', 'ours cold', '(median)', 'ours warm', ...djangos.map((d) => `Django ${d.series}`), ...djangos.map((d) => `cold/${d.series}`)];
  const widths = [24, 7, w, w, w, ...djangos.map(() => w), ...djangos.map(() => 9)];
  console.log(head.map((h, i) => (i < 2 ? h.padEnd(widths[i] as number) : pad(h, widths[i] as number))).join(' '));
  let allMet = true;
  for (const row of rows) {
    const c = best(row.cold);
    const ratios = row.django.map((d) => c / best(d));
    if (ratios.some((r) => r < GOAL)) allMet = false;
    const cells = [
      row.input.label.padEnd(24),
      row.op.padEnd(7),
      pad(fmtOps(c), w),
      pad(`(${fmtOps(median(row.cold))})`, w),
      pad(fmtOps(best(row.warm)), w),
      ...row.django.map((d) => pad(fmtOps(best(d)), w)),
      ...ratios.map((r) => pad(`${r.toFixed(1)}×${r < GOAL ? '!' : ''}`, 9)),
    ];
    console.log(cells.join(' '));
  }
  console.log(`\ngoal: ours cold ≥ ${GOAL}× Django on every figure: ${allMet ? 'met' : 'NOT met (marked !)'}`);

  console.log(`\nsteps inside the cold paths, µs per call (best round), ours | CPython ${versions[0]?.replace(/^Django \S+ /, '')}:`);
  for (const row of stepRows) {
    const ours = 1e6 / best(row.ours);
    const py = 1e6 / best(row.python);
    console.log(`  ${row.input.name.padEnd(6)} ${STEP_LABELS[row.step].padEnd(48)} ${ours.toFixed(1).padStart(7)} | ${py.toFixed(1).padStart(7)}`);
  }
  for (const row of rows) {
    const djangoMicros = 1e6 / best(row.django[0] as Figure);
    // The ratio we would reach if everything but our zlib step cost nothing: what zlib alone allows.
    const zlibRow = stepRows.find((r) => r.input === row.input && r.step === (row.op === 'encode' ? 'zlib_compress' : 'zlib_decompress'));
    const ceiling = zlibRow ? djangoMicros / (1e6 / best(zlibRow.ours)) : NaN;
    console.log(
      `  ${row.input.name.padEnd(6)} ${`whole ${row.op} (ours cold | Django ${djangos[0]?.series})`.padEnd(48)} ` +
        `${(1e6 / best(row.cold)).toFixed(1).padStart(7)} | ${djangoMicros.toFixed(1).padStart(7)}` +
        `   (ceiling with all but ${row.op === 'encode' ? 'deflate' : 'inflate'} free: ${ceiling.toFixed(1)}×)`,
    );
  }
  console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
  void sink;
}

// Run only as a script: the input builders are importable (e.g. by profiling scripts).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
