/**
 * src/koa/cookies.ts and src/koa/vary.ts: Django's set_cookie / delete_cookie text (Python's Morsel),
 * http_date, parse_cookie and patch_vary_headers. First the spec's vectors and the edge cases by
 * name, then the same functions against Django's own code (test/django_mw/cookie_oracle.py under
 * 3.2 and 5.2) on thousands of generated inputs, garbage Cookie headers included.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import fc from 'fast-check';

import {
  appendSetCookie,
  CookieError,
  formatDeleteCookie,
  formatSetCookie,
  httpDate,
  quoteCookieValue,
  readRequestCookie,
  SAMESITE_ERROR_MESSAGE,
  unquoteCookieValue,
  type SetCookieOptions,
} from '../../src/koa/cookies.ts';
import { patchVaryValue } from '../../src/koa/vary.ts';
import { availableDjangoVersions, djangoSitePackages, SYSTEM_PYTHON, type DjangoSeries } from '../support/django-oracle.ts';

const NOW = 1_700_000_000.25; // Appendix A's frozen time.time()
const KEY = 'abcdefghijklmnopqrstuvwxyz012345';

describe('http_date', () => {
  it('formats Wdy, DD Mon YYYY HH:MM:SS GMT with the seconds truncated', () => {
    assert.equal(httpDate(NOW + 1_209_600), 'Tue, 28 Nov 2023 22:13:20 GMT');
    assert.equal(httpDate(0), 'Thu, 01 Jan 1970 00:00:00 GMT');
    assert.equal(httpDate(951_782_400.999), 'Tue, 29 Feb 2000 00:00:00 GMT');
    assert.equal(httpDate(-1), 'Wed, 31 Dec 1969 23:59:59 GMT');
  });
  it('rounds to whole microseconds first, as datetime.fromtimestamp does', () => {
    assert.equal(httpDate(1_700_000_000.9999996), 'Tue, 14 Nov 2023 22:13:21 GMT');
  });
  it('pads years below 1000 and refuses what Python cannot represent', () => {
    assert.equal(httpDate(-61_000_000_000), 'Fri, 26 Dec 0036 11:33:20 GMT');
    assert.throws(() => httpDate(253_402_300_800), RangeError);
    assert.throws(() => httpDate(Number.POSITIVE_INFINITY), RangeError);
    assert.throws(() => httpDate(Number.NaN), RangeError);
  });
});

describe('set_cookie / delete_cookie text', () => {
  const session: SetCookieOptions = { httpOnly: true, sameSite: 'Lax', now: NOW };

  it('matches the spec (Appendix A) for a saved session', () => {
    assert.equal(
      formatSetCookie('sessionid', KEY, { ...session, maxAge: 1_209_600, expires: httpDate(NOW + 1_209_600) }),
      `sessionid=${KEY}; expires=Tue, 28 Nov 2023 22:13:20 GMT; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax`,
    );
  });
  it('derives expires from max_age when no expires is given', () => {
    assert.equal(
      formatSetCookie('sessionid', KEY, { ...session, maxAge: 1_209_600 }),
      `sessionid=${KEY}; expires=Tue, 28 Nov 2023 22:13:20 GMT; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax`,
    );
  });
  it('leaves expires and Max-Age out for a browser-close session', () => {
    assert.equal(formatSetCookie('sessionid', KEY, session), `sessionid=${KEY}; HttpOnly; Path=/; SameSite=Lax`);
  });
  it('sorts every attribute by its Python key', () => {
    assert.equal(
      formatSetCookie('n', 'v', { maxAge: 5, now: NOW, domain: '.example.local', path: '/p/', secure: true, httpOnly: true, sameSite: 'None' }),
      'n=v; Domain=.example.local; expires=Tue, 14 Nov 2023 22:13:25 GMT; HttpOnly; Max-Age=5; Path=/p/; SameSite=None; Secure',
    );
  });
  it('writes Max-Age as int(max_age) and expires from the float', () => {
    assert.equal(formatSetCookie('n', 'v', { maxAge: 1.75, now: NOW }), 'n=v; expires=Tue, 14 Nov 2023 22:13:22 GMT; Max-Age=1; Path=/');
    assert.equal(formatSetCookie('n', 'v', { maxAge: -5.5, now: NOW }), 'n=v; expires=Tue, 14 Nov 2023 22:13:14 GMT; Max-Age=-5; Path=/');
    assert.throws(() => formatSetCookie('n', 'v', { maxAge: Number.POSITIVE_INFINITY, now: NOW }), RangeError);
  });
  it('writes the SameSite value as given and validates it case-insensitively', () => {
    assert.match(formatSetCookie('n', 'v', { sameSite: 'sTrIcT' }), /; SameSite=sTrIcT$/);
    assert.throws(() => formatSetCookie('n', 'v', { sameSite: 'lox' }), { name: 'CookieError', message: SAMESITE_ERROR_MESSAGE });
  });
  it('omits empty path and domain, as Morsel skips empty values', () => {
    assert.equal(formatSetCookie('n', 'v', { path: '', domain: '' }), 'n=v');
    assert.equal(formatSetCookie('n', 'v', { path: null }), 'n=v');
  });
  it('quotes an empty or illegal value as Python does', () => {
    assert.equal(formatSetCookie('n', ''), 'n=""; Path=/');
    assert.equal(quoteCookieValue('a b;c,"d"\\é\n€'), '"a b\\073c\\054\\"d\\"\\\\\\351\\012€"');
    assert.equal(unquoteCookieValue(quoteCookieValue('a b;c,"d"\\é\n€')), 'a b;c,"d"\\é\n€');
  });
  it('refuses illegal and reserved cookie names and attribute injection', () => {
    assert.throws(() => formatSetCookie('a b', 'v'), CookieError);
    assert.throws(() => formatSetCookie('Path', 'v'), /reserved key/);
    assert.throws(() => formatSetCookie('n', 'v', { path: '/; Domain=evil' }), CookieError);
    assert.throws(() => formatSetCookie('n', 'v', { domain: 'a\r\nX: y' }), CookieError);
  });
  it('deletes the way Django does (spec 4.4, §9.3 items 52-53)', () => {
    assert.equal(
      formatDeleteCookie('sessionid', { sameSite: 'Lax' }),
      'sessionid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax',
    );
    assert.equal(
      formatDeleteCookie('sessionid', { path: '/example/', domain: '.example.local', sameSite: 'Lax' }),
      'sessionid=""; Domain=.example.local; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/example/; SameSite=Lax',
    );
  });
  it('deletes with Secure only for __Secure-/__Host- names or SameSite=None, never HttpOnly', () => {
    assert.match(formatDeleteCookie('__Secure-s'), /; Path=\/; Secure$/);
    assert.match(formatDeleteCookie('__Host-s'), /; Path=\/; Secure$/);
    assert.match(formatDeleteCookie('s', { sameSite: 'none' }), /; SameSite=none; Secure$/);
    assert.equal(formatDeleteCookie('s', { sameSite: null }), 's=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/');
  });
});

describe('appendSetCookie', () => {
  it('keeps the other cookies and replaces an earlier header of the same name', async () => {
    const seen = await new Promise<string[]>((resolve, reject) => {
      const server = createServer((_req, res: ServerResponse) => {
        res.setHeader('Set-Cookie', ['csrftoken=abc; Path=/', 'sessionid=old; Path=/']);
        appendSetCookie(res, 'sessionid', 'sessionid=new; Path=/');
        appendSetCookie(res, 'other', 'other=1; Path=/');
        res.end();
      });
      server.listen(0, '127.0.0.1', async () => {
        try {
          const { port } = server.address() as { port: number };
          const response = await fetch(`http://127.0.0.1:${port}/`);
          resolve(response.headers.getSetCookie());
        } catch (e) {
          reject(e);
        } finally {
          server.close();
        }
      });
    });
    assert.deepEqual(seen, ['csrftoken=abc; Path=/', 'sessionid=new; Path=/', 'other=1; Path=/']);
  });
});

describe('parse_cookie (only the session cookie)', () => {
  it('finds the cookie, strips Python whitespace, the last duplicate wins', () => {
    assert.equal(readRequestCookie('sessionid=abc', 'sessionid'), 'abc');
    assert.equal(readRequestCookie(' a=1 ;\tsessionid = abc \x1c; b', 'sessionid'), 'abc');
    assert.equal(readRequestCookie('sessionid=first; sessionid=second', 'sessionid'), 'second');
    assert.equal(readRequestCookie('sessionid=a=b', 'sessionid'), 'a=b');
  });
  it('tells a missing cookie from an empty one', () => {
    assert.equal(readRequestCookie(undefined, 'sessionid'), undefined);
    assert.equal(readRequestCookie('', 'sessionid'), undefined);
    assert.equal(readRequestCookie('sessionid', 'sessionid'), undefined); // a value with an empty name
    assert.equal(readRequestCookie('Sessionid=abc', 'sessionid'), undefined);
    assert.equal(readRequestCookie('sessionid=', 'sessionid'), '');
    assert.equal(readRequestCookie('sessionid=""', 'sessionid'), '');
  });
  it('unquotes with Python\'s _unquote', () => {
    assert.equal(readRequestCookie('sessionid="a\\073b\\"c\\\\d"', 'sessionid'), 'a;b"c\\d');
    assert.equal(readRequestCookie('sessionid="\\8\\400"', 'sessionid'), '8400');
    assert.equal(readRequestCookie('sessionid="unterminated', 'sessionid'), '"unterminated');
  });
  it('decodes the header bytes as UTF-8 with replacement, as Django\'s WSGI handler does', () => {
    const latin1 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');
    assert.equal(readRequestCookie(latin1('sessionid=é€'), 'sessionid'), 'é€');
    assert.equal(readRequestCookie(latin1('\u00a0sessionid=x\u3000'), 'sessionid'), 'x');
    assert.equal(readRequestCookie('\xa0sessionid=x', 'sessionid'), undefined); // a lone 0xA0 byte is U+FFFD
  });
  it('stays linear on hostile headers', () => {
    const header = ';'.repeat(200_000) + 'sessionid=z';
    const t0 = performance.now();
    assert.equal(readRequestCookie(header, 'sessionid'), 'z');
    assert.ok(performance.now() - t0 < 200);
  });
});

describe('patch_vary_headers', () => {
  it('adds Cookie once, keeps the order, and collapses to *', () => {
    assert.equal(patchVaryValue(undefined, ['Cookie']), 'Cookie');
    assert.equal(patchVaryValue('Accept-Encoding', ['Cookie']), 'Accept-Encoding, Cookie');
    assert.equal(patchVaryValue('Accept-Encoding ,  COOKIE', ['Cookie']), 'Accept-Encoding, COOKIE');
    assert.equal(patchVaryValue('Accept, *', ['Cookie']), '*');
    assert.equal(patchVaryValue('', ['Cookie']), ', Cookie');
  });
});

// ---------------------------------------------------------------------------------------------
// Differential: Django's own code on generated inputs

interface Outcome {
  ok?: string | null;
  error?: string;
}

interface OracleAnswer {
  version: string;
  parse: Outcome[];
  setCookie: Outcome[];
  deleteCookie: Outcome[];
  httpDate: Outcome[];
  vary: Outcome[];
}

function askDjango(series: DjangoSeries, request: object): OracleAnswer {
  const run = spawnSync(SYSTEM_PYTHON, ['test/django_mw/cookie_oracle.py'], {
    input: JSON.stringify(request),
    env: { ...process.env, PYTHONPATH: djangoSitePackages(series) },
    maxBuffer: 64 * 1024 * 1024,
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as OracleAnswer;
}

const SEED = Number(process.env.COOKIE_DIFF_SEED ?? 20231114);

/** Cookie header pieces chosen to hit every branch of parse_cookie, _unquote and the strip. */
const headerToken = fc.constantFrom(
  'sessionid', 'sessionid', 'SESSIONID', 'session', 'id', 'csrftoken', '=', '=', ';', ';', '; ', ' ', '\t', '"', '"', '\\',
  '\\0', '\\07', '\\073', '\\377', '\\400', '\\"', '\\\\', '\\\n', 'abc', 'x'.repeat(40), '12345678', '0', '7', ',',
  '\x1c', '\x1f', '\x0b', '\x85', '\xa0', '\xc2\xa0', '\xe3\x80\x80', '\xc3\xa9', '\xe2\x82\xac', '\xff', '\xc3', 'é',
  '\x00', '\x7f', '%3B', '+', 'sessionid=', '; sessionid=',
);
const headerArb = fc.array(headerToken, { maxLength: 14 }).map((parts) => parts.join(''));

const attributeText = fc.constantFrom('', '/', '/a b/', '/p/', '.example.local', 'x', '€', 'Lax', 'lax', 'STRICT', 'None', 'bogus');
const setCookieArb = fc.record({
  name: fc.constantFrom('sessionid', '__Secure-sid', '__Host-x', 'a.b', 'Path', 'bad name', 'é'),
  value: fc.oneof(
    fc.constantFrom('', KEY, 'a"b', 'a b', 'a;b,c', '\\', 'é€', '\x00\x1f\x7f', 'x:y', '{}[]()<>@?/='),
    fc.string({ maxLength: 6 }),
  ),
  max_age: fc.option(fc.oneof(fc.integer({ min: -100, max: 2_000_000 }), fc.double({ min: -50, max: 50, noNaN: true })), { nil: null }),
  expires: fc.option(fc.constantFrom('', 'Thu, 01 Jan 1970 00:00:00 GMT', 'later'), { nil: null }),
  path: fc.option(attributeText, { nil: null }),
  domain: fc.option(attributeText, { nil: null }),
  secure: fc.boolean(),
  httponly: fc.boolean(),
  samesite: fc.option(attributeText, { nil: null }),
  now: fc.double({ min: 0, max: 4_000_000_000, noNaN: true }),
});

for (const series of (['3.2', '5.2'] as const).filter((s) => availableDjangoVersions().includes(s))) {
  describe(`against Django ${series}'s own code (seed ${SEED})`, () => {
    const headers = fc.sample(headerArb, { seed: SEED, numRuns: 3000 });
    const cookieCases = fc.sample(setCookieArb, { seed: SEED, numRuns: 1500 });
    const times = [
      ...fc.sample(fc.double({ min: -62_135_596_800, max: 253_402_300_799, noNaN: true }), { seed: SEED, numRuns: 500 }),
      ...fc.sample(fc.integer({ min: 0, max: 4_102_444_800 }).map((s) => s + 0.9999996), { seed: SEED, numRuns: 100 }),
    ];
    const varyCases: [string | null, string[]][] = fc.sample(
      fc.tuple(
        fc.option(fc.array(fc.constantFrom('Accept', 'cookie', 'Cookie', '*', '', ' ', ',', ', ', ' ,', 'X-Y', '\t'), { maxLength: 6 }).map((p) => p.join('')), { nil: null }),
        fc.array(fc.constantFrom('Cookie', 'cookie', 'Accept', '*'), { minLength: 1, maxLength: 3 }),
      ),
      { seed: SEED, numRuns: 500 },
    );
    const answer = askDjango(series, {
      parse: headers.flatMap((h) => [
        [h, 'sessionid'],
        [h, ''],
      ]),
      setCookie: cookieCases,
      deleteCookie: cookieCases.map(({ name, path, domain, samesite }) => ({ name, path, domain, samesite })),
      httpDate: times,
      vary: varyCases,
    });

    it('parse_cookie(header).get(name), for garbage headers too', () => {
      headers.forEach((h, i) => {
        for (const [j, name] of ['sessionid', ''].entries()) {
          const expected = answer.parse[2 * i + j]!;
          assert.equal(expected.error, undefined);
          assert.equal(readRequestCookie(h, name), expected.ok ?? undefined, `header ${JSON.stringify(h)} name ${JSON.stringify(name)}`);
        }
      });
    });

    it('set_cookie text, or a failure where Django fails', () => {
      cookieCases.forEach((c, i) => {
        const expected = answer.setCookie[i]!;
        let actual: Outcome;
        try {
          actual = {
            ok: formatSetCookie(c.name, c.value, {
              maxAge: c.max_age, expires: c.expires, path: c.path, domain: c.domain,
              secure: c.secure, httpOnly: c.httponly, sameSite: c.samesite, now: c.now,
            }),
          };
        } catch (e) {
          actual = { error: (e as Error).name };
        }
        const label = JSON.stringify(c);
        if (expected.error !== undefined) assert.ok(actual.error !== undefined, `${label}: Django failed (${expected.error}), we wrote ${actual.ok}`);
        else assert.equal(actual.ok, expected.ok, label);
      });
    });

    it('delete_cookie text', () => {
      cookieCases.forEach((c, i) => {
        const expected = answer.deleteCookie[i]!;
        let actual: Outcome;
        try {
          actual = { ok: formatDeleteCookie(c.name, { path: c.path, domain: c.domain, sameSite: c.samesite }) };
        } catch (e) {
          actual = { error: (e as Error).name };
        }
        if (expected.error !== undefined) assert.ok(actual.error !== undefined, `${JSON.stringify(c)}: Django failed`);
        else assert.equal(actual.ok, expected.ok, JSON.stringify(c));
      });
    });

    it('http_date', () => {
      times.forEach((t, i) => assert.equal(httpDate(t), answer.httpDate[i]!.ok, String(t)));
    });

    it('patch_vary_headers', () => {
      varyCases.forEach(([existing, add], i) => {
        assert.equal(patchVaryValue(existing ?? undefined, add), answer.vary[i]!.ok, JSON.stringify([existing, add]));
      });
    });
  });
}
