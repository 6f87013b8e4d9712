/**
 * The package entry point (src/index.ts) serves a library user what the CLI uses: here, the
 * clearsessions machinery, end to end on an in-memory SQLite database.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runMigrations } from '../../migrations/index.ts';
import {
  createSessionStoreFactory,
  DjangoTimezone,
  ExpiredSessionCleaner,
  loadSettings,
  openDatabase,
  SessionTable,
} from '../../src/index.ts';

describe('package entry point', () => {
  it('exports ExpiredSessionCleaner: a library caller deletes exactly the expired sessions', async () => {
    const settings = loadSettings({ SECRET_KEY: 'entry-point-test', DJANGO_VERSION: '5.2', USE_TZ: 'True', TIME_ZONE: 'UTC' });
    const db = openDatabase('sqlite::memory:', settings);
    try {
      await runMigrations(db, { djangoVersion: '5.2' });
      const tz = new DjangoTimezone(settings);
      const SessionStore = createSessionStoreFactory({ settings, db, timezone: tz });
      const keys: string[] = [];
      for (const expiry of [-60, -1, 3600]) {
        const s = SessionStore(null);
        await s.set('n', expiry);
        await s.setExpiry(expiry);
        await s.save();
        keys.push(s.sessionKey!);
      }
      const cleaner = new ExpiredSessionCleaner(new SessionTable(db, tz));
      assert.equal(await cleaner.countExpired(), 2);
      const result = await cleaner.clear({ batchSize: 1 });
      assert.equal(result.deleted, 2);
      assert.equal(await cleaner.countExpired(), 0);
      assert.deepEqual(await Promise.all(keys.map((k) => SessionStore(null).exists(k))), [false, false, true]);
    } finally {
      await db.close();
    }
  });
});
