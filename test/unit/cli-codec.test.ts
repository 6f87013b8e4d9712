/**
 * The `encode` / `decode` CLI commands, run as child processes the way an operator runs them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../support/cli.ts';

const KEY = 'test-secret-key-for-vectors';
const A1 = 'eyJhIjoxfQ:1r31eq:_aJ7yMmc1HwH5IUxenklKf9csAfBeVYWHojANb4Sp0U';

describe('cli encode/decode', () => {
  it('encodes the Appendix A vector and round-trips Python values', async () => {
    const enc = await runCli(['encode', '--secret-key', KEY, '--timestamp', '1700000000'], '{"a":1}\n');
    assert.equal(enc.code, 0, enc.stderr);
    assert.equal(enc.stdout, A1 + '\n');

    const session = '{"f":1.0,"big":18446744073709551616,"s":"\\u00e9\\ud83d\\ude00","10":[null,true]}';
    const e = await runCli(['encode', '--secret-key', KEY], session);
    assert.equal(e.code, 0, e.stderr);
    const d = await runCli(['decode', '--secret-key', KEY], e.stdout);
    assert.equal(d.code, 0, d.stderr);
    assert.equal(d.stdout, session + '\n');
  });

  it('takes the key from SECRET_KEY and writes the 3.2 legacy format on request', async () => {
    const r = await runCli(['encode', '--django-version', '3.2', '--hashing-algorithm', 'sha1'], '{"a": 1}', { SECRET_KEY: KEY });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'YWNmM2M3MDdmMjM5ZjZhODllNjY4N2E4MmMyMzViNzdjNjVkMWI2Mzp7ImEiOjF9\n');
    const d = await runCli(['decode', '--django-version', '3.2'], r.stdout, { SECRET_KEY: KEY });
    assert.equal(d.stdout, '{"a":1}\n');
    const missing = await runCli(['encode'], '{}', { SECRET_KEY: undefined });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--secret-key is required/);
  });

  it('a bad signature exits 1 with a clear message', async () => {
    const r = await runCli(['decode', '--secret-key', 'wrong-key'], A1);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^error: bad signature: Signature "_aJ7y.*" does not match/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });

  it('accepts fallback keys', async () => {
    const r = await runCli(['decode', '--secret-key', 'new-key', '--fallback-key', 'x', '--fallback-key', KEY], A1);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '{"a":1}\n');
  });

  it('--lines decodes one document per line, prints {} for failures and counts them', async () => {
    const input = [A1, 'bad:encoded:value', '', 'e30:1r31eq:0gWa7Ln0lMURIfXihCQ85JRbjrMFk0Hqhb6iZKkVE8Y\r', A1].join('\n') + '\n';
    const r = await runCli(['decode', '--lines', '--secret-key', KEY], input);
    assert.equal(r.code, 1);
    assert.deepEqual(r.stdout.split('\n'), ['{"a":1}', '{}', '{}', '{}', '{"a":1}', '']);
    assert.match(r.stderr, /2 of 5 lines failed to decode/);
  });

  it('--lines encodes one document per line', async () => {
    const r = await runCli(['encode', '--lines', '--secret-key', KEY, '--timestamp', '1700000000'], '{"a":1}\n[1]\n{}\n');
    assert.equal(r.code, 1);
    assert.deepEqual(r.stdout.split('\n'), [A1, '', 'e30:1r31eq:0gWa7Ln0lMURIfXihCQ85JRbjrMFk0Hqhb6iZKkVE8Y', '']);
    assert.match(r.stderr, /line 2: input must be a JSON object/);
  });

  it('prints help with an example, and rejects unknown options', async () => {
    for (const cmd of ['encode', 'decode']) {
      const help = await runCli([cmd, '--help'], '');
      assert.equal(help.code, 0);
      assert.match(help.stdout, /^usage: django-session-bridge /);
      assert.match(help.stdout, /example:/);
      assert.match(help.stdout, /SECRET_KEY/);
    }
    const bad = await runCli(['decode', '--nope'], '');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Unknown option '--nope'/);
    const badVersion = await runCli(['decode', '--secret-key', KEY, '--django-version', '4.0'], A1);
    assert.equal(badVersion.code, 2);
    const badJson = await runCli(['encode', '--secret-key', KEY], '{"a":');
    assert.equal(badJson.code, 1);
    assert.match(badJson.stderr, /^error: input is not valid JSON/);
  });
});
