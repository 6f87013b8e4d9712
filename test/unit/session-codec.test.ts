/**
 * SessionCodec: Django's SessionBase.encode/decode for 3.2, 4.2 and 5.2. Expected strings are Appendix A
 * of the spec or were produced by Django itself (through test/django/oracle.py) where noted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addLogListener, setLogSink, type LogRecord, type LogSink } from '../../src/log.ts';
import { pyDumps, pyLoads } from '../../src/pyjson/index.ts';
import type { PyDict, SessionDict } from '../../src/pyjson/types.ts';
import { CorruptSessionData, InvalidCodecOptions } from '../../src/sessions/codec-errors.ts';
import { DEFAULT_SESSION_KEY_SALT, SessionCodec, type DjangoVersion } from '../../src/sessions/codec.ts';
import { BadSignature, Signer, TimestampSigner } from '../../src/signing/index.ts';

const secretKey = 'test-secret-key-for-vectors';
const T0 = 1700000000;
const at = { timestamp: T0 };
const dict = (json: string) => pyLoads(json) as PyDict;
const json = (data: SessionDict) => pyDumps(data);

const AUTH = '{"_auth_user_id":"1","_auth_user_backend":"django.contrib.auth.backends.ModelBackend","_auth_user_hash":"abc"}';
const AUTH_CPYTHON =
  '.eJyrVopPLC3JiC8tTi2Kz0xRslIyVNJBFktKTM5OzQNJpGQl5qXn6yXn55UUZSbpgZToQWWL9XzzU1JznKBqUQzISCzOAOpOTEpWqgUAjnEncw:1r31eq:wbpCVOxNB56_t1PKhcDmvw7Zl_-T85ZShGUK0yp-JFA';
const AUTH_NODE_ZLIB =
  '.eJyrVopPLC3JiC8tTi2Kz0xRslIyVNJBFktKTM5OzQNJpGQl5qXn6yXn55UUZSbpgZToQWWL9XzzU1JznKBqUQzISCzOULJSSkxKVqoFAI5xJ3M:1r31eq:YXAszV58MKHH0e2uDWGBXghihKYHHGGdeZgx-Mh-eaU';
const A1 = 'eyJhIjoxfQ:1r31eq:_aJ7yMmc1HwH5IUxenklKf9csAfBeVYWHojANb4Sp0U';
const LEGACY_A1 = 'YWNmM2M3MDdmMjM5ZjZhODllNjY4N2E4MmMyMzViNzdjNjVkMWI2Mzp7ImEiOjF9';
const LEGACY_EMPTY = 'ZWUyMmMzYjhmZGI5ZGI4MDY4MzM0ZGZhM2E3YjZjNDgwZjk5MDY1ODp7fQ==';

const codecFor = (djangoVersion: DjangoVersion, extra: Partial<ConstructorParameters<typeof SessionCodec>[0]> = {}) =>
  new SessionCodec({ secretKey, djangoVersion, ...extra });

// Capture the security warnings; keep them off stderr.
let records: LogRecord[] = [];
let stopListening: () => void = () => undefined;
let previousSink: LogSink | undefined;
before(() => {
  stopListening = addLogListener((r) => records.push(r));
  previousSink = setLogSink(() => undefined);
});
after(() => {
  stopListening();
  if (previousSink) setLogSink(previousSink);
});
function warningsDuring(fn: () => void): string[] {
  records = [];
  fn();
  return records.filter((r) => r.logger === 'django.security.SuspiciousSession' && r.level === 'warning').map((r) => r.message);
}

describe('encode (Appendix A)', () => {
  const codec = codecFor('5.2');
  it('writes Django\'s bytes for the signed format', () => {
    assert.equal(codec.keySalt, DEFAULT_SESSION_KEY_SALT);
    assert.equal(codec.encode(new Map(), at), 'e30:1r31eq:0gWa7Ln0lMURIfXihCQ85JRbjrMFk0Hqhb6iZKkVE8Y'); // not compressed: no gain
    assert.equal(codec.encode(dict('{"a":1}'), at), A1);
    assert.equal(codec.encode(new Map([['a', 1]]), at), A1);
    assert.equal(codec.encode(dict(AUTH), at), AUTH_CPYTHON); // CPython zlib bytes
    for (const v of ['3.2', '4.2'] as const) assert.equal(codecFor(v).encode(dict(AUTH), at), AUTH_CPYTHON);
  });

  it('uses the key salt (signed_cookies engine, custom SessionStore class)', () => {
    const cookies = new SessionCodec({ secretKey, keySalt: 'django.contrib.sessions.backends.signed_cookies' });
    assert.equal(cookies.encode(dict('{"a":1}'), at), 'eyJhIjoxfQ:1r31eq:wVvSsNPmVWrXR1EDLfqWqQq764x_3eFR4OqNd-M2c00');
    // Django 5.2, class MyStore(SessionBase):
    const custom = new SessionCodec({ secretKey, keySalt: 'django.contrib.sessions.MyStore' });
    assert.equal(custom.encode(dict('{"a":1}'), at), 'eyJhIjoxfQ:1r31eq:AIiSuep7WrLSIYCi8CeXwss5TMJIYVNVfc6Y4R4KO8c');
    assert.equal(json(custom.decode('eyJhIjoxfQ:1r31eq:AIiSuep7WrLSIYCi8CeXwss5TMJIYVNVfc6Y4R4KO8c')), '{"a":1}');
    assert.deepEqual(warningsDuring(() => assert.equal(json(custom.decode(A1)), '{}')), ['Session data corrupted']);
  });

  it('3.2 with DEFAULT_HASHING_ALGORITHM="sha1" writes the legacy format', () => {
    const legacy = codecFor('3.2', { hashingAlgorithm: 'sha1' });
    assert.equal(legacy.encode(dict('{"a":1}')), LEGACY_A1);
    assert.equal(legacy.encode(new Map()), LEGACY_EMPTY);
    // Django 3.2, class MyStore(SessionBase): legacy salt "django.contrib.sessionsMyStore"
    const custom = codecFor('3.2', { hashingAlgorithm: 'sha1', keySalt: 'django.contrib.sessions.MyStore' });
    assert.equal(custom.encode(dict('{"a":1}')), 'YTJkMGY4YWMzYTRkYzJiNDFjNjVmYThmMTRkOGQ1NmE1M2ExNWQ0MDp7ImEiOjF9');
  });

  it('defaults the timestamp to now', () => {
    const before = Math.floor(Date.now() / 1000);
    const report = codec.inspect(codec.encode(dict('{"a":1}')));
    assert.ok(report.timestamp! >= before && report.timestamp! <= before + 2);
  });

  it('keeps key order and Python number types byte for byte', () => {
    const text = '{"10":1,"2":2.0,"a":18446744073709551616,"b":{"1":1e16,"0":-0.0}}';
    const data = codec.decode(codec.encode(dict(text), at));
    assert.deepEqual([...data.keys()], ['10', '2', 'a', 'b']);
    assert.equal(json(data), text.replace('1e16', '1e+16'));
    assert.equal(codec.encode(data, at), codec.encode(dict(text), at));
  });
});

describe('decode', () => {
  it('reads every version\'s signed data, whatever zlib produced it', () => {
    for (const v of ['3.2', '4.2', '5.2'] as const) {
      const codec = codecFor(v);
      assert.equal(json(codec.decode(A1)), '{"a":1}');
      assert.equal(json(codec.decode(AUTH_CPYTHON)), AUTH);
      assert.equal(json(codec.decode(AUTH_NODE_ZLIB)), AUTH);
      assert.equal(json(codec.decode('e30:1r31eq:0gWa7Ln0lMURIfXihCQ85JRbjrMFk0Hqhb6iZKkVE8Y')), '{}');
    }
  });

  it('never checks the embedded timestamp', () => {
    const codec = codecFor('5.2');
    assert.equal(json(codec.decode(codec.encode(dict('{"old":true}'), { timestamp: 0 }))), '{"old":true}');
    assert.equal(codec.inspect(A1).timestamp, T0);
  });

  it('3.2 reads the legacy format; 4.2 and 5.2 treat it as corrupted', () => {
    const c32 = codecFor('3.2');
    assert.equal(json(c32.decode(LEGACY_A1)), '{"a":1}');
    assert.equal(json(c32.decode(LEGACY_EMPTY)), '{}');
    assert.equal(c32.inspect(LEGACY_A1).format, 'legacy');
    for (const v of ['4.2', '5.2'] as const) {
      const codec = codecFor(v);
      assert.deepEqual(warningsDuring(() => assert.equal(json(codec.decode(LEGACY_A1)), '{}')), ['Session data corrupted']);
      assert.throws(() => codec.decodeStrict(LEGACY_A1), BadSignature);
    }
    // a legacy value with a wrong hash: 3.2 warns (SuspiciousSession from _legacy_decode)
    const wrongKey = new SessionCodec({ secretKey: 'other', djangoVersion: '3.2' });
    assert.deepEqual(warningsDuring(() => assert.equal(json(wrongKey.decode(LEGACY_A1)), '{}')), ['Session data corrupted']);
  });

  it('3.2 accepts a legacy sha1 signature; 4.2/5.2 do not; 3.2 set to sha1 rejects sha256', () => {
    const sha1Signed = new TimestampSigner({ key: secretKey, salt: DEFAULT_SESSION_KEY_SALT, algorithm: 'sha1' }).signAt('eyJhIjoxfQ', T0);
    assert.equal(json(codecFor('3.2').decode(sha1Signed)), '{"a":1}');
    assert.equal(json(codecFor('3.2', { hashingAlgorithm: 'sha1' }).decode(sha1Signed)), '{"a":1}');
    for (const v of ['4.2', '5.2'] as const) {
      assert.deepEqual(warningsDuring(() => assert.equal(json(codecFor(v).decode(sha1Signed)), '{}')), ['Session data corrupted']);
    }
    // Verified with Django 3.2 (DEFAULT_HASHING_ALGORITHM="sha1" builds a sha1 Signer whose legacy check is sha1 too).
    assert.equal(json(codecFor('3.2', { hashingAlgorithm: 'sha1' }).decode(A1)), '{}');
  });

  it('verifies with fallback keys (4.2+) and signs with the current key; 3.2 has no fallbacks', () => {
    const old = new SessionCodec({ secretKey: 'old-secret-key' });
    const stored = old.encode(dict('{"a":1}'), at);
    for (const v of ['4.2', '5.2'] as const) {
      const rotated = new SessionCodec({ secretKey, secretKeyFallbacks: ['x', 'old-secret-key'], djangoVersion: v });
      assert.equal(json(rotated.decode(stored)), '{"a":1}');
      assert.equal(rotated.encode(dict('{"a":1}'), at), A1);
    }
    const c32 = new SessionCodec({ secretKey, secretKeyFallbacks: ['old-secret-key'], djangoVersion: '3.2' });
    assert.equal(json(c32.decode(stored)), '{}');
  });

  it('Django\'s exact warning rules on known inputs', () => {
    // [input, warns in 3.2, warns in 4.2/5.2], each checked against Django's own decode.
    const cases: Array<[string, boolean, boolean]> = [
      ['bad:encoded:value', true, true],
      [Buffer.from('flaskdj:alkdjf').toString('base64'), true, true],
      ['e30', true, true],
      ['', false, true], // 3.2: b64decode('') is b'' → no ':' → {} silently
      [AUTH_CPYTHON + 'x', false, true],
      [AUTH_CPYTHON.slice(1), true, true],
    ];
    for (const [input, warns32, warns4] of cases) {
      for (const v of ['3.2', '4.2', '5.2'] as const) {
        const expected = (v === '3.2' ? warns32 : warns4) ? ['Session data corrupted'] : [];
        assert.deepEqual(warningsDuring(() => assert.equal(json(codecFor(v).decode(input)), '{}')), expected, `${v} ${input}`);
      }
    }
  });

  it('garbled payloads under a valid signature give {} silently; 3.2 where Django would raise too', () => {
    const signer = new TimestampSigner({ key: secretKey, salt: DEFAULT_SESSION_KEY_SALT });
    for (const payload of ['bm90IGpzb24', 'invalid data', '.eJyrVopP', 'abcde']) {
      const signed = signer.signAt(payload, T0);
      for (const v of ['3.2', '4.2', '5.2'] as const) {
        const codec = codecFor(v);
        assert.deepEqual(warningsDuring(() => assert.equal(json(codec.decode(signed)), '{}')), [], `${v} ${payload}`);
        assert.throws(() => codec.decodeStrict(signed), (err: unknown) => err instanceof Error && !(err instanceof BadSignature));
      }
    }
    // a bad base62 timestamp under a valid signature
    const badTimestamp = new Signer({ key: secretKey, salt: DEFAULT_SESSION_KEY_SALT }).sign('e30:!!');
    assert.deepEqual(warningsDuring(() => assert.equal(json(codecFor('5.2').decode(badTimestamp)), '{}')), []);
  });

  it('a valid value that is not a dict decodes to {} silently (documented departure)', () => {
    const signer = new TimestampSigner({ key: secretKey, salt: DEFAULT_SESSION_KEY_SALT });
    for (const payload of ['W10', 'MQ', 'bnVsbA', 'IjEi']) {
      const codec = codecFor('5.2');
      const signed = signer.signAt(payload, T0);
      assert.deepEqual(warningsDuring(() => assert.equal(json(codec.decode(signed)), '{}')), []);
      assert.throws(() => codec.decodeStrict(signed), CorruptSessionData);
    }
  });

  it('tampering with any single character of a real value gives {} and a warning, never a throw', () => {
    const alternatives = ['A', 'z', '0', '-', '_', '=', ':', '.', '/', 'é'];
    const variants: string[] = [];
    for (let i = 0; i < AUTH_CPYTHON.length; i++) {
      for (const ch of alternatives) {
        if (AUTH_CPYTHON[i] !== ch) variants.push(AUTH_CPYTHON.slice(0, i) + ch + AUTH_CPYTHON.slice(i + 1));
      }
      variants.push(AUTH_CPYTHON.slice(0, i) + AUTH_CPYTHON.slice(i + 1)); // deleted
      variants.push(AUTH_CPYTHON.slice(0, i) + 'x' + AUTH_CPYTHON.slice(i)); // inserted
    }
    assert.ok(variants.length > 1500);
    for (const v of ['4.2', '5.2'] as const) {
      const codec = codecFor(v);
      // Prime the verified cache with the genuine value: a tampered signature must still fail on a hit.
      assert.equal(json(codec.decode(AUTH_CPYTHON)), AUTH);
      for (const tampered of variants) {
        const warnings = warningsDuring(() => assert.equal(codec.decode(tampered).size, 0, tampered));
        assert.deepEqual(warnings, ['Session data corrupted'], tampered);
        assert.throws(() => codec.decodeStrict(tampered), BadSignature);
      }
    }
    // 3.2 warns or not depending on its legacy fallback (see the known-input test); it never throws.
    const c32 = codecFor('3.2');
    for (const tampered of variants) assert.equal(c32.decode(tampered).size, 0, tampered);
  });

  it('decodeStrict and inspect report the reason', () => {
    const codec = codecFor('5.2');
    assert.throws(() => codec.decodeStrict(A1.slice(0, -1) + 'X'), { name: 'BadSignature', message: /^Signature ".*" does not match$/ });
    assert.throws(() => codec.decodeStrict('nocolon'), { message: 'No ":" found in value' });
    assert.equal(json(codec.decodeStrict(A1)), '{"a":1}');
    const report = codec.inspect('nocolon');
    assert.equal(report.warned, true);
    assert.equal(report.format, null);
    assert.ok(report.error instanceof BadSignature);
    assert.deepEqual(warningsDuring(() => codec.inspect('nocolon')), []); // inspect does not log
  });
});

describe('caches', () => {
  it('hand out fresh objects on every decode and never skip the signature check', () => {
    const codec = codecFor('5.2');
    const stored = codec.encode(dict('{"cart":[1,2],"n":{"x":1}}'), at);
    const first = codec.decode(stored);
    (first.get('cart') as number[]).push(3);
    first.set('extra', true);
    const second = codec.decode(stored);
    assert.equal(json(second), '{"cart":[1,2],"n":{"x":1}}');
    assert.notEqual(second.get('n'), first.get('n'));
    const forged = stored.slice(0, stored.lastIndexOf(':') + 1) + 'A'.repeat(43);
    assert.deepEqual(warningsDuring(() => assert.equal(codec.decode(forged).size, 0)), ['Session data corrupted']);
  });

  it('a session of scalars comes from the cached items: fresh Maps, Python key order, exact value kinds', () => {
    const codec = codecFor('5.2');
    const text = '{"_auth_user_id":"1","10":1.0,"2":99999999999999999999,"f":0.5,"n":null,"b":true}';
    const stored = codec.encode(dict(text), at);
    const first = codec.decode(stored); // a miss: parsed, then cached as items
    const second = codec.decode(stored); // a hit: built from the items
    assert.notEqual(second, first);
    assert.equal(json(second), text);
    assert.deepEqual([...second.keys()], ['_auth_user_id', '10', '2', 'f', 'n', 'b']);
    assert.equal(typeof second.get('2'), 'bigint');
    first.set('_auth_user_id', '2');
    first.delete('f');
    second.set('extra', 1);
    assert.equal(json(codec.decode(stored)), text);
    assert.equal(codec.inspect(stored).timestamp, T0);
  });

  it('give the same bytes as an uncached codec, and can be turned off', () => {
    const cached = codecFor('5.2');
    const plain = codecFor('5.2', { cacheSize: 0 });
    for (const text of ['{}', '{"a":1}', AUTH, AUTH, '{"a":1}']) {
      const a = cached.encode(dict(text), at);
      assert.equal(a, plain.encode(dict(text), at));
      assert.equal(json(plain.decode(a)), json(cached.decode(a)));
      assert.equal(json(cached.decode(a)), text);
    }
    // a tiny cache keeps working as entries are evicted
    const tiny = codecFor('5.2', { cacheSize: 2 });
    for (let i = 0; i < 10; i++) {
      const text = `{"i":${i}}`;
      assert.equal(json(tiny.decode(tiny.encode(dict(text), at))), text);
      assert.equal(json(tiny.decode(tiny.encode(dict(text), at))), text);
    }
    assert.throws(() => codecFor('5.2', { cacheSize: -1 }), InvalidCodecOptions);
  });
});

describe('options', () => {
  it('rejects what no Django version accepts', () => {
    assert.throws(() => new SessionCodec({ secretKey: '' }), InvalidCodecOptions);
    assert.throws(() => new SessionCodec({ secretKey, hashingAlgorithm: 'sha1' }), { name: 'InvalidCodecOptions', message: /only in Django 3.2/ });
    assert.throws(() => new SessionCodec({ secretKey, djangoVersion: '4.2', hashingAlgorithm: 'sha1' }), InvalidCodecOptions);
    assert.throws(() => new SessionCodec({ secretKey, djangoVersion: '6.0' as DjangoVersion }), InvalidCodecOptions);
    assert.throws(() => new SessionCodec({ secretKey, secretKeyFallbacks: [''] }), InvalidCodecOptions);
  });
});
