import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConfigError,
  DEVELOPMENT_DATABASE_URL,
  DEVELOPMENT_SECRET_KEY,
  loadSettings,
  type Environment,
} from '../../src/config.ts';

const KEY = { SECRET_KEY: 'k' };

function rejects(env: Environment, setting: string, expected: RegExp): ConfigError {
  let caught: unknown;
  try {
    loadSettings(env);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError for ${setting}`);
  assert.equal(caught.setting, setting);
  assert.match(caught.message, expected);
  assert.ok(caught.message.startsWith(`${setting}: expected `), caught.message);
  return caught;
}

describe('loadSettings defaults (Django global_settings, spec 4.6)', () => {
  it('gives Django 5.2 defaults when only SECRET_KEY is set', () => {
    assert.deepEqual(loadSettings(KEY), {
      SECRET_KEY: 'k',
      SECRET_KEY_FALLBACKS: [],
      SESSION_COOKIE_AGE: 1209600,
      SESSION_COOKIE_NAME: 'sessionid',
      SESSION_COOKIE_DOMAIN: null,
      SESSION_COOKIE_PATH: '/',
      SESSION_COOKIE_SECURE: false,
      SESSION_COOKIE_HTTPONLY: true,
      SESSION_COOKIE_SAMESITE: 'Lax',
      SESSION_EXPIRE_AT_BROWSER_CLOSE: false,
      SESSION_SAVE_EVERY_REQUEST: false,
      SESSION_ENGINE: 'django.contrib.sessions.backends.db',
      CACHE_URL: null,
      CACHE_BACKEND: 'django.core.cache.backends.redis.RedisCache',
      CACHE_KEY_PREFIX: '',
      CACHE_VERSION: 1,
      CACHE_PICKLE_PROTOCOL: null,
      USE_TZ: true,
      TIME_ZONE: 'America/Chicago',
      DATABASE_URL: null,
      DJANGO_VERSION: '5.2',
      DEFAULT_HASHING_ALGORITHM: 'sha256',
      PORT: 8000,
      HOST: '127.0.0.1',
    });
  });

  it('defaults USE_TZ to False for 3.2 and 4.2, True for 5.2', () => {
    assert.equal(loadSettings({ ...KEY, DJANGO_VERSION: '3.2' }).USE_TZ, false);
    assert.equal(loadSettings({ ...KEY, DJANGO_VERSION: '4.2' }).USE_TZ, false);
    assert.equal(loadSettings({ ...KEY, DJANGO_VERSION: '5.2' }).USE_TZ, true);
    assert.equal(loadSettings({ ...KEY, DJANGO_VERSION: '3.2', USE_TZ: 'True' }).USE_TZ, true);
    assert.equal(loadSettings({ ...KEY, USE_TZ: 'False' }).USE_TZ, false);
  });

  it('treats an empty value as unset', () => {
    const s = loadSettings({ ...KEY, PORT: '', USE_TZ: '', SESSION_COOKIE_NAME: '', SESSION_COOKIE_DOMAIN: '' });
    assert.equal(s.PORT, 8000);
    assert.equal(s.USE_TZ, true);
    assert.equal(s.SESSION_COOKIE_NAME, 'sessionid');
    assert.equal(s.SESSION_COOKIE_DOMAIN, null);
  });

  it('returns a frozen object', () => {
    const s = loadSettings(KEY);
    assert.ok(Object.isFrozen(s) && Object.isFrozen(s.SECRET_KEY_FALLBACKS));
  });

  it('ignores unrelated variables and reads process.env by default', () => {
    const saved = process.env.SECRET_KEY;
    process.env.SECRET_KEY = 'from-process-env';
    try {
      assert.equal(loadSettings().SECRET_KEY, 'from-process-env');
    } finally {
      if (saved === undefined) delete process.env.SECRET_KEY;
      else process.env.SECRET_KEY = saved;
    }
    assert.equal(loadSettings({ ...KEY, PATH: '/bin', SESSION_COOKIE_FOO: 'x' }).SECRET_KEY, 'k');
  });
});

describe('SECRET_KEY', () => {
  it('is required, unless development defaults are asked for', () => {
    rejects({}, 'SECRET_KEY', /non-empty string/);
    rejects({ SECRET_KEY: '' }, 'SECRET_KEY', /non-empty string/);
    const dev = loadSettings({}, { allowDevelopmentDefaults: true });
    assert.equal(dev.SECRET_KEY, DEVELOPMENT_SECRET_KEY);
    assert.equal(dev.DATABASE_URL, DEVELOPMENT_DATABASE_URL);
    assert.ok(DEVELOPMENT_SECRET_KEY.startsWith('django-insecure-'));
  });

  it('given values win over development defaults', () => {
    const s = loadSettings({ SECRET_KEY: 'real', DATABASE_URL: 'mysql://u@h/d' }, { allowDevelopmentDefaults: true });
    assert.equal(s.SECRET_KEY, 'real');
    assert.equal(s.DATABASE_URL, 'mysql://u@h/d');
  });
});

describe('SECRET_KEY_FALLBACKS', () => {
  it('reads a JSON list or a comma-separated list', () => {
    assert.deepEqual(loadSettings({ ...KEY, SECRET_KEY_FALLBACKS: '["a,1", "b"]' }).SECRET_KEY_FALLBACKS, ['a,1', 'b']);
    assert.deepEqual(loadSettings({ ...KEY, SECRET_KEY_FALLBACKS: ' a , b,,c ' }).SECRET_KEY_FALLBACKS, ['a', 'b', 'c']);
    assert.deepEqual(loadSettings({ ...KEY, SECRET_KEY_FALLBACKS: '' }).SECRET_KEY_FALLBACKS, []);
  });

  it('rejects bad JSON without echoing the secrets', () => {
    const err = rejects({ ...KEY, SECRET_KEY_FALLBACKS: '["topsecret", 3]' }, 'SECRET_KEY_FALLBACKS', /JSON list/);
    assert.doesNotMatch(err.message, /topsecret/);
    rejects({ ...KEY, SECRET_KEY_FALLBACKS: '[not json' }, 'SECRET_KEY_FALLBACKS', /JSON list/);
  });

  it('is refused for Django 3.2, which has no such setting', () => {
    rejects({ ...KEY, DJANGO_VERSION: '3.2', SECRET_KEY_FALLBACKS: 'old' }, 'SECRET_KEY_FALLBACKS', /3\.2/);
    assert.deepEqual(loadSettings({ ...KEY, DJANGO_VERSION: '3.2', SECRET_KEY_FALLBACKS: '' }).SECRET_KEY_FALLBACKS, []);
  });
});

describe('booleans', () => {
  it('accept Django and env spellings', () => {
    for (const [raw, value] of [
      ['True', true],
      ['true', true],
      ['1', true],
      ['False', false],
      ['false', false],
      ['0', false],
    ] as const) {
      assert.equal(loadSettings({ ...KEY, SESSION_COOKIE_SECURE: raw }).SESSION_COOKIE_SECURE, value);
      assert.equal(loadSettings({ ...KEY, SESSION_SAVE_EVERY_REQUEST: raw }).SESSION_SAVE_EVERY_REQUEST, value);
    }
  });

  it('reject anything else, naming the setting and the value', () => {
    const err = rejects({ ...KEY, SESSION_COOKIE_HTTPONLY: 'yes' }, 'SESSION_COOKIE_HTTPONLY', /True or False/);
    assert.match(err.message, /got "yes"$/);
    rejects({ ...KEY, SESSION_EXPIRE_AT_BROWSER_CLOSE: 'TRUE' }, 'SESSION_EXPIRE_AT_BROWSER_CLOSE', /True or False/);
  });
});

describe('SESSION_COOKIE_SAMESITE', () => {
  it('keeps Lax/Strict/None as written, in any case; empty or False means no attribute', () => {
    const samesite = (v: string) => loadSettings({ ...KEY, SESSION_COOKIE_SAMESITE: v }).SESSION_COOKIE_SAMESITE;
    assert.equal(samesite('Strict'), 'Strict');
    assert.equal(samesite('lax'), 'lax');
    assert.equal(samesite('NONE'), 'NONE');
    assert.equal(samesite('None'), 'None');
    assert.equal(samesite(''), null);
    assert.equal(samesite('False'), null);
  });

  it('rejects other values', () => {
    rejects({ ...KEY, SESSION_COOKIE_SAMESITE: 'loose' }, 'SESSION_COOKIE_SAMESITE', /Lax, Strict or None/);
  });
});

describe('other settings', () => {
  it('read valid values', () => {
    const s = loadSettings({
      ...KEY,
      SESSION_COOKIE_AGE: '300',
      SESSION_COOKIE_NAME: 'my_session-1',
      SESSION_COOKIE_DOMAIN: '.example.com',
      SESSION_COOKIE_PATH: '/app',
      TIME_ZONE: 'Europe/Paris',
      DATABASE_URL: 'sqlite:db.sqlite3',
      DJANGO_VERSION: '4.2.28',
      PORT: '0',
      HOST: '0.0.0.0',
    });
    assert.equal(s.SESSION_COOKIE_AGE, 300);
    assert.equal(s.SESSION_COOKIE_NAME, 'my_session-1');
    assert.equal(s.SESSION_COOKIE_DOMAIN, '.example.com');
    assert.equal(s.SESSION_COOKIE_PATH, '/app');
    assert.equal(s.TIME_ZONE, 'Europe/Paris');
    assert.equal(s.DATABASE_URL, 'sqlite:db.sqlite3');
    assert.equal(s.DJANGO_VERSION, '4.2');
    assert.equal(s.PORT, 0);
    assert.equal(s.HOST, '0.0.0.0');
  });

  it('DEFAULT_HASHING_ALGORITHM is a 3.2 setting', () => {
    assert.equal(loadSettings({ ...KEY, DJANGO_VERSION: '3.2', DEFAULT_HASHING_ALGORITHM: 'sha1' }).DEFAULT_HASHING_ALGORITHM, 'sha1');
    rejects({ ...KEY, DJANGO_VERSION: '3.2', DEFAULT_HASHING_ALGORITHM: 'md5' }, 'DEFAULT_HASHING_ALGORITHM', /sha256 or sha1/);
    rejects({ ...KEY, DJANGO_VERSION: '4.2', DEFAULT_HASHING_ALGORITHM: 'sha256' }, 'DEFAULT_HASHING_ALGORITHM', /removed it in 4\.0/);
  });

  it('reject wrong values with what was expected', () => {
    rejects({ ...KEY, SESSION_COOKIE_AGE: '-1' }, 'SESSION_COOKIE_AGE', /whole number of seconds/);
    rejects({ ...KEY, SESSION_COOKIE_AGE: '1.5' }, 'SESSION_COOKIE_AGE', /whole number of seconds/);
    rejects({ ...KEY, SESSION_COOKIE_NAME: 'my session' }, 'SESSION_COOKIE_NAME', /cookie name/);
    rejects({ ...KEY, SESSION_COOKIE_PATH: '/; HttpOnly' }, 'SESSION_COOKIE_PATH', /no ";"/);
    rejects({ ...KEY, SESSION_COOKIE_DOMAIN: 'a.com\r\nX: y' }, 'SESSION_COOKIE_DOMAIN', /no ";"/);
    rejects({ ...KEY, SESSION_ENGINE: 'django.contrib.sessions.backends.file' }, 'SESSION_ENGINE', /backends\.db/);
    rejects({ ...KEY, TIME_ZONE: 'Mars/Olympus' }, 'TIME_ZONE', /IANA time zone/);
    rejects({ ...KEY, DJANGO_VERSION: '5.0' }, 'DJANGO_VERSION', /3\.2, 4\.2, 5\.2/);
    rejects({ ...KEY, PORT: '65536' }, 'PORT', /0-65535/);
  });
});
