/**
 * Differential tests of src/pyjson against real Python's json module (what Django's
 * JSONSerializer runs). Python is spawned once for the whole file: every request goes in through
 * stdin, every answer comes back on stdout, one JSON line each (see test/python/pyjson_oracle.py).
 *
 * Reproduce a failure with PYJSON_ORACLE_SEED=<seed printed in the message>;
 * PYJSON_ORACLE_DOCS raises the number of random documents (default 5000).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import fc from 'fast-check';
import { PyFloat, PyJsonDecodeError, pyDumps, pyFloatRepr, pyLoads, type PyValue } from '../../src/pyjson/index.ts';

// Debian's interpreter is the one Django runs on; fall back to whatever python3 is on PATH.
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const ORACLE = fileURLToPath(new URL('../python/pyjson_oracle.py', import.meta.url));
const SEED = Number(process.env.PYJSON_ORACLE_SEED ?? randomInt(2 ** 31));
const DOCS = Number(process.env.PYJSON_ORACLE_DOCS ?? 5000);
const CONTEXT = `(seed ${SEED}, ${PYTHON})`;

interface PyError {
  type: string;
  msg: string;
  pos: number | null;
}
interface OracleAnswer {
  kind?: 'canonical' | 'noisy' | 'mutated';
  raw?: string;
  expected?: string;
  error?: PyError;
}

/** Non-canonical spellings Python must accept: compared as json.dumps(json.loads(text)). */
const HANDWRITTEN_VALID = [
  ' \t\n\r{ "a" : 1 , "b" : [ 1 , 2 ] } \r\n\t ',
  '1.50',
  '1E5',
  '1e5',
  '1E+05',
  '-1.0e-0',
  '-0',
  '-0.0',
  '-0e0',
  '0.000',
  '1e400',
  '-1e400',
  '1e-400',
  '-1e-400',
  '123456789012345678.0',
  '12345678901234567890',
  '-9007199254740992',
  '9007199254740991',
  '9007199254740992',
  '100000000000000000000000000000000000000000',
  '0.1e1',
  '10e-1',
  '"\\/"',
  '"\\u00E9\\u00e9\\u00C9"',
  '"\\uD83D\\uDE00"',
  '"\\ud83d"',
  '"\\ude00\\ud83d"',
  '"\\ud83d\\u0041"',
  '"\u00e9\u00ff\u0080\u007f"',
  '"\ud83d\ude00 raw astral, \ud800 raw lone surrogate"',
  '"\\b\\f\\n\\r\\t\\"\\\\"',
  '{"a":1,"a":2}',
  '{"a":1,"b":2,"a":3}',
  '{"10":1,"b":2,"10":3}',
  '{"b":1,"10":2,"2":3,"10":4}',
  '{"__proto__":1}',
  '{"__proto__":{"polluted":true},"x":1,"__proto__":[2]}',
  '[NaN,Infinity,-Infinity]',
  '{"":0,"0":1,"01":2,"-1":3,"4294967294":4,"4294967295":5}',
  '[1.0,2.50,3e0,4E-0,5.000e+000]',
  '[]',
  '{}',
  '[[],{},[{}]]',
];

/** Text Python rejects: the message, position and exception type must match. */
const HANDWRITTEN_INVALID = [
  '',
  ' ',
  '[1,]',
  '[',
  '[1',
  '[1 2]',
  '{"a":1,}',
  '{',
  '{"a"',
  '{"a":',
  '{"a" 1}',
  '{a:1}',
  "{'a':1}",
  '"abc',
  '"a\\',
  '"\\u12',
  '"\\u12"',
  '"\\u12345',
  '"\\u004',
  '"\\x"',
  '"\\U0041"',
  '"\\ud83d\\u12"',
  '"\\ud83d\\uzzzz"',
  '"a\u0001b"',
  '"\t"',
  '"\n"',
  '-',
  '-a',
  '+1',
  '01',
  '-01',
  '1.',
  '.5',
  '1e',
  '1e+',
  '1.e5',
  '0x10',
  '\ufeff1',
  '-Inf',
  '-infinity',
  'nan',
  'nul',
  'Na',
  'tru',
  'True',
  'None',
  '[1]x',
  '{"a":1}}',
  '1 2',
  '\u00a01',
  '\f1',
  '\v1',
  '1'.repeat(4301),
  '-' + '1'.repeat(4301),
  '[' + '9'.repeat(5000) + ']',
];

/** Arbitrary PyValues as our callers build them, Maps and PY_KEY_ORDER-free dicts included. */
function pyValueArbitrary(): fc.Arbitrary<PyValue> {
  const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
  const text = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 12 }),
    fc.string({ unit: codeUnit, maxLength: 12 }), // lone surrogates and all of the BMP
    fc.string({ unit: 'grapheme-ascii', maxLength: 12 }),
  );
  const key = fc.oneof(text, fc.constantFrom('0', '10', '2', '01', '4294967294', '4294967295', '__proto__', ''));
  const double = fc.double();
  const { value } = fc.letrec<{ value: PyValue }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.maxSafeInteger(),
      fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }),
      double, // integral doubles are written as ints, the rest as floats
      double.map((d) => new PyFloat(d)),
      text,
      fc.array(tie('value'), { maxLength: 5 }),
      fc.dictionary(key, tie('value'), { maxKeys: 5 }),
      fc.array(fc.tuple(key, tie('value')), { maxLength: 5 }).map((entries) => new Map(entries)),
    ),
  }));
  return value;
}

// ---- one Python run for the whole file ----------------------------------------------------

const ourValues = fc.sample(pyValueArbitrary(), { seed: SEED, numRuns: 3000 });
const ourTexts = ourValues.map((v) => pyDumps(v));
/** Integral doubles of every magnitude (beyond 2^53 they are not "safe" but still exact ints). */
const integralDoubles = [
  ...fc.sample(fc.double({ noNaN: true, noDefaultInfinity: true }).map(Math.trunc), { seed: SEED, numRuns: 1000 }),
  ...Array.from({ length: 1024 }, (_, k) => 2 ** k * (k % 2 === 0 ? 1 : -1.5)).filter(Number.isFinite),
];
const requests = [
  { op: 'generate', seed: SEED, count: DOCS },
  ...HANDWRITTEN_VALID.map((text) => ({ op: 'roundtrip', text })),
  ...HANDWRITTEN_INVALID.map((text) => ({ op: 'roundtrip', text })),
  ...ourTexts.map((text) => ({ op: 'roundtrip', text })),
  ...integralDoubles.map((n) => ({ op: 'int_of_float', text: pyFloatRepr(n) })),
];
const run = spawnSync(PYTHON, [ORACLE], {
  input: requests.map((r) => JSON.stringify(r)).join('\n') + '\n',
  encoding: 'utf8',
  maxBuffer: 1 << 30,
});
if (run.status !== 0) {
  throw new Error(`oracle failed ${CONTEXT}: ${run.error?.message ?? ''} ${run.stderr}`);
}
const answers = run.stdout
  .split('\n')
  .filter((line) => line !== '')
  .map((line) => JSON.parse(line) as OracleAnswer);
const generated = answers.filter((a) => a.kind !== undefined);
const rest = answers.filter((a) => a.kind === undefined);
const validAnswers = rest.slice(0, HANDWRITTEN_VALID.length);
const invalidAnswers = rest.slice(HANDWRITTEN_VALID.length, HANDWRITTEN_VALID.length + HANDWRITTEN_INVALID.length);
const ourAnswers = rest.slice(
  HANDWRITTEN_VALID.length + HANDWRITTEN_INVALID.length,
  HANDWRITTEN_VALID.length + HANDWRITTEN_INVALID.length + ourTexts.length,
);
const intAnswers = rest.slice(HANDWRITTEN_VALID.length + HANDWRITTEN_INVALID.length + ourTexts.length);

// ---- comparison ---------------------------------------------------------------------------

type Outcome = { expected: string } | { error: PyError };

/** What our side does with a text, in the oracle's terms. */
function ourOutcome(text: string): Outcome {
  try {
    return { expected: pyDumps(pyLoads(text)) };
  } catch (err) {
    if (!(err instanceof PyJsonDecodeError)) throw err;
    // Python's ValueError/RecursionError carry no position.
    return { error: { type: err.pythonType, msg: err.msg, pos: err.pythonType === 'JSONDecodeError' ? err.pos : null } };
  }
}

/** Compare every case, collect a few mismatches, fail once with all of them. */
function assertSameAsPython(cases: { raw: string; python: OracleAnswer }[], what: string): void {
  const mismatches: string[] = [];
  for (const { raw, python } of cases) {
    const expected: Outcome = python.error ? { error: python.error } : { expected: python.expected ?? '' };
    const actual = ourOutcome(raw);
    if (!isDeepStrictEqual(actual, expected)) {
      mismatches.push(`input ${JSON.stringify(raw).slice(0, 400)}\n  ours   ${short(actual)}\n  python ${short(expected)}`);
      if (mismatches.length >= 5) break;
    }
  }
  assert.equal(mismatches.length, 0, `${what} differ from Python ${CONTEXT}:\n${mismatches.join('\n')}`);
}

function isDeepStrictEqual(a: unknown, b: unknown): boolean {
  try {
    assert.deepStrictEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

function short(o: Outcome): string {
  return JSON.stringify(o).slice(0, 400);
}

// ---- tests ---------------------------------------------------------------------------------

test(`Python's canonical json.dumps text survives pyDumps(pyLoads(text)) byte for byte ${CONTEXT}`, () => {
  const canonical = generated.filter((a) => a.kind === 'canonical');
  assert.ok(canonical.length >= 5000 || canonical.length === DOCS, `only ${canonical.length} documents generated`);
  // Most canonical texts re-dump to themselves; those with int/str key collisions ("1" and 1)
  // hold duplicate keys and Python itself collapses them.
  const identical = canonical.filter((a) => a.expected === a.raw).length;
  assert.ok(identical > canonical.length * 0.8, `only ${identical} canonical texts were fixed points`);
  assertSameAsPython(
    canonical.map((a) => ({ raw: a.raw ?? '', python: a })),
    'canonical documents',
  );
});

test(`noisy spellings (whitespace, escapes, number forms, duplicate keys) load like Python ${CONTEXT}`, () => {
  const noisy = generated.filter((a) => a.kind === 'noisy');
  assert.equal(noisy.length, DOCS);
  assert.ok(noisy.filter((a) => a.raw !== a.expected).length > DOCS / 2, 'the noise generator produced canonical text');
  assertSameAsPython(
    noisy.map((a) => ({ raw: a.raw ?? '', python: a })),
    'noisy documents',
  );
});

test(`mutated documents fail (or not) exactly like Python: message, position, type ${CONTEXT}`, () => {
  const mutated = generated.filter((a) => a.kind === 'mutated');
  assert.ok(mutated.length > DOCS / 4);
  assert.ok(mutated.filter((a) => a.error).length > mutated.length / 2, 'mutations rarely broke the text');
  assertSameAsPython(
    mutated.map((a) => ({ raw: a.raw ?? '', python: a })),
    'mutated documents',
  );
});

test('hand-written non-canonical texts load and re-dump like Python', () => {
  assert.equal(validAnswers.length, HANDWRITTEN_VALID.length);
  for (const answer of validAnswers) assert.ok(answer.expected !== undefined, JSON.stringify(answer));
  assertSameAsPython(
    HANDWRITTEN_VALID.map((raw, i) => ({ raw, python: validAnswers[i] as OracleAnswer })),
    'hand-written valid texts',
  );
});

test('hand-written invalid texts are rejected with the same message and position as Python', () => {
  assert.equal(invalidAnswers.length, HANDWRITTEN_INVALID.length);
  for (const answer of invalidAnswers) assert.ok(answer.error !== undefined, JSON.stringify(answer));
  assertSameAsPython(
    HANDWRITTEN_INVALID.map((raw, i) => ({ raw, python: invalidAnswers[i] as OracleAnswer })),
    'hand-written invalid texts',
  );
});

test(`what pyDumps writes, Python reads and writes back identically ${CONTEXT}`, () => {
  assert.equal(ourAnswers.length, ourTexts.length);
  const mismatches: string[] = [];
  ourTexts.forEach((ours, i) => {
    assert.match(ours, /^[\x20-\x7e]*$/, 'pyDumps must write printable ASCII only');
    const python = ourAnswers[i] as OracleAnswer;
    if (python.expected !== ours && mismatches.length < 5) {
      mismatches.push(`ours   ${ours.slice(0, 400)}\n  python ${JSON.stringify(python).slice(0, 400)}`);
    }
  });
  assert.equal(mismatches.length, 0, `Python re-dumps our text differently ${CONTEXT}:\n${mismatches.join('\n')}`);
});

test(`our own round trip is the identity on what we write ${CONTEXT}`, () => {
  for (const ours of ourTexts) assert.equal(pyDumps(pyLoads(ours)), ours);
});

test(`an integral JS number is written as Python writes int() of that float, exact digits ${CONTEXT}`, () => {
  assert.equal(intAnswers.length, integralDoubles.length);
  integralDoubles.forEach((n, i) => {
    const expected = (intAnswers[i] as OracleAnswer).expected;
    // -0 is the one integral number that stays a float (-0.0); Python's int(-0.0) is 0.
    if (!Object.is(n, -0)) assert.equal(pyDumps(n), expected, `${n} ${CONTEXT}`);
  });
});
