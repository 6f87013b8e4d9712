// The soak (bench/soak.ts) in its short form, for CI: both servers on one MariaDB database under wrk
// at once (reads, writes, logins, logouts over sessions shared by both stacks), then every session
// read back through Django. The long form is `npm run soak` (5 minutes).
// Needs MARIADB_URL (eval "$(scripts/db/start-all.sh)"), wrk, and Django 5.2 (scripts/setup-django.sh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSoakReport, runSoak } from '../../bench/soak.ts';

const SECONDS = Number(process.env.SOAK_SHORT_SECONDS ?? 10);

test(`a ${SECONDS} s soak of both servers: no errors, no unexpected answers, no session lost or corrupted`, async (t) => {
  const report = await runSoak({ seconds: SECONDS, version: '5.2', connections: 4, sessions: 40, log: (line) => t.diagnostic(line) });
  process.stderr.write(`${formatSoakReport(report)}\n`);
  // The run did what it claims: both servers served, sessions were made and ended during it.
  assert.ok(report.servers.node.requests > 50 && report.servers.django.requests > 50, 'both servers served requests');
  assert.ok(report.sessions.created > 5, 'logins made new sessions during the run');
  const logouts = Object.entries(report.servers.node.counts).find(([k]) => k === 'logout 200')?.[1] ?? 0;
  assert.ok(logouts > 0, 'logouts ended sessions during the run');
  // The goals.
  assert.equal(report.errors, 0, 'no 5xx, socket error or timeout');
  assert.deepEqual(report.unexpected, {}, 'every answer was the expected 200');
  assert.equal(report.sessions.lost, 0, 'no session lost');
  assert.equal(report.sessions.corrupted, 0, 'no session corrupted');
  assert.equal(report.sessions.undecodable, 0, 'every row decodes in Django');
  assert.ok(report.node.peakRssKb < 512 * 1024, `our peak RSS ${report.node.peakRssKb} kB`);
});
