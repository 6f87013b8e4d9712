/**
 * `inspect <session_key>`: one session as support staff need to see it: its decoded data, when it
 * expires, and whose it is (the tutorial's `user_id`, or Django auth's `_auth_user_id`).
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadSettings, type Environment, type Settings } from '../../config.ts';
import { AuthUserTable } from '../../auth/user-table.ts';
import { integerPkFromSession } from '../../auth/model-backend.ts';
import { BACKEND_SESSION_KEY, SESSION_KEY } from '../../auth/session-keys.ts';
import { TutorialUserTable } from '../../app/tutorial/user-table.ts';
import { openDatabase, type Database } from '../../db/connection.ts';
import { DjangoTimezone, type PyDateTime } from '../../db/datetime.ts';
import { DatabaseConfigError } from '../../db/errors.ts';
import { pyDumps } from '../../pyjson/index.ts';
import type { PyValue, SessionDict } from '../../pyjson/types.ts';
import { SessionTable, type SessionRow } from '../../sessions/backends/db-table.ts';
import { SessionCodec } from '../../sessions/codec.ts';
import { isConnectFailure } from '../../sessions/clear-expired.ts';
import { BadSignature } from '../../signing/errors.ts';
import { USAGE_EXIT } from '../args.ts';
import { CliError } from '../errors.ts';
import { formatDuration, quietDriverWarnings } from '../progress.ts';

export const summary = 'show one session: decoded data, expiry and the user it belongs to';

const HELP = `usage: django-session-bridge inspect <session_key> [--json] [--include-expired]

Look up one row of django_session and show its decoded data, its expiry and the user it belongs
to: the tutorial's user (session key user_id, table user) or Django's (_auth_user_id, auth_user).
A missing session, or one that has expired (Django treats both alike), exits 1 with a clear line.
Decoding uses the site's SECRET_KEY (and SECRET_KEY_FALLBACKS), as the server does.

options:
  --json              print {"session_key", "expire_date", "data"} on one line; data is written as
                      Python's json.dumps writes it (1.0 stays 1.0, key order is kept)
  --include-expired   show an expired session instead of refusing
  -h, --help          this text

environment (as for serve): DATABASE_URL, SECRET_KEY, SECRET_KEY_FALLBACKS, DJANGO_VERSION,
DEFAULT_HASHING_ALGORITHM (3.2), USE_TZ, TIME_ZONE

examples:
  DATABASE_URL=mysql://app:secret@db.internal/site SECRET_KEY=... \\
    npm run --silent cli -- inspect 4b2x9q0v3m5kqz7c1d8e6f0a9b7c5d3e
  django-session-bridge inspect 4b2x9q0v3m5kqz7c1d8e6f0a9b7c5d3e --json | jq .data
`;

function loadInspectSettings(env: Environment): Settings {
  try {
    // As serve: the development secret goes only with the development database.
    return loadSettings(env, { allowDevelopmentDefaults: !env.DATABASE_URL });
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, USAGE_EXIT);
    throw err;
  }
}

function parseInspectArgs(argv: string[]): { key: string | null; json: boolean; includeExpired: boolean; help: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { json: { type: 'boolean' }, 'include-expired': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new CliError(`${err instanceof Error ? err.message : String(err)} (see inspect --help)`, USAGE_EXIT);
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new CliError('inspect takes one session key (see inspect --help)', USAGE_EXIT);
  return { key: positionals[0] ?? null, json: !!values.json, includeExpired: !!values['include-expired'], help: !!values.help };
}

/** "in 4 min 59 s" / "expired 2 h 03 min ago", from `now` on the same clock. */
function relative(expireDate: PyDateTime, now: PyDateTime): string {
  const ms = Math.abs(expireDate.minus(now).totalSeconds()) * 1000;
  return expireDate.compare(now) > 0 ? `in ${formatDuration(ms)}` : `expired ${formatDuration(ms)} ago`;
}

/** Whose session this is, as one line; lookups that fail (no such table) are reported, not fatal. */
async function describeUser(db: Database, tz: DjangoTimezone, data: SessionDict): Promise<string> {
  const lines: string[] = [];
  const seedId = data.get('user_id');
  if (seedId !== undefined) {
    lines.push(await lookUp(`user_id ${pyDumps(seedId)}`, async () => {
      const id = integerPkFromSession(seedId);
      const user = id === null ? null : await new TutorialUserTable(db).findById(id);
      return user && `${user.name} <${user.email}> (table user)`;
    }));
  }
  const authId = data.get(SESSION_KEY);
  if (authId !== undefined) {
    const backend = data.get(BACKEND_SESSION_KEY);
    lines.push(await lookUp(`${SESSION_KEY} ${pyDumps(authId)}`, async () => {
      const id = integerPkFromSession(authId);
      const user = id === null ? null : await new AuthUserTable(db, tz).getById(id);
      const via = typeof backend === 'string' ? `, backend ${backend}` : '';
      return user && `${user.username}${user.email ? ` <${user.email}>` : ''} (auth_user${user.isActive ? '' : ', inactive'}${via})`;
    }));
  }
  return lines.length > 0 ? lines.join('\n             ') : 'none (no user_id or _auth_user_id in the session)';
}

async function lookUp(label: string, find: () => Promise<string | null>): Promise<string> {
  try {
    const found = await find();
    return `${label}: ${found ?? 'no such user'}`;
  } catch (err) {
    return `${label}: (cannot look it up: ${(err instanceof Error ? err.message : String(err)).split('\n', 1)[0]})`;
  }
}

function decodeOrExplain(codec: SessionCodec, row: SessionRow): SessionDict {
  const report = codec.inspect(row.sessionData);
  if (!report.error) return report.data;
  const why =
    report.error instanceof BadSignature
      ? 'bad signature (a different SECRET_KEY, DJANGO_VERSION or salt wrote it, or it was altered)'
      : report.error.message;
  throw new CliError(`session ${row.sessionKey} exists but its data cannot be decoded: ${why}`);
}

export async function run(argv: string[], env: Environment = process.env): Promise<number> {
  const args = parseInspectArgs(argv);
  if (args.help) {
    process.stdout.write(HELP);
    return 0;
  }
  quietDriverWarnings(env);
  if (args.key === null || args.key === '') throw new CliError('inspect needs a session key (see inspect --help)', USAGE_EXIT);
  const settings = loadInspectSettings(env);
  const tz = new DjangoTimezone(settings);
  const codec = new SessionCodec({
    secretKey: settings.SECRET_KEY,
    secretKeyFallbacks: settings.SECRET_KEY_FALLBACKS,
    djangoVersion: settings.DJANGO_VERSION,
    hashingAlgorithm: settings.DEFAULT_HASHING_ALGORITHM,
  });
  let db: Database;
  try {
    db = openDatabase(settings.DATABASE_URL!, settings, { max: 1 });
  } catch (err) {
    if (err instanceof DatabaseConfigError) throw new CliError(err.message, USAGE_EXIT);
    throw err;
  }
  try {
    const table = new SessionTable(db, tz);
    let row: SessionRow | null;
    try {
      if (!(await db.knex.schema.hasTable('django_session'))) {
        throw new CliError(`django_session does not exist in ${db.redactedUrl}: run \`django-session-bridge migrate\` or Django's manage.py migrate`);
      }
      row = await table.getRow(args.key);
    } catch (err) {
      if (err instanceof CliError) throw err;
      const reason = (err instanceof Error ? err.message : String(err)).split('\n', 1)[0];
      throw new CliError(isConnectFailure(err) ? `cannot connect to the database ${db.redactedUrl}: ${reason}` : `${db.redactedUrl}: ${reason}`);
    }
    if (row === null) throw new CliError(`no such session: ${args.key}`);
    const now = tz.now();
    // Django's load(): a row is live only while expire_date > now.
    const expired = row.expireDate.compare(now) <= 0;
    if (expired && !args.includeExpired) {
      throw new CliError(
        `session ${row.sessionKey} expired at ${row.expireDate.isoformat(' ')} (${relative(row.expireDate, now)}): ` +
          'Django treats it as missing (--include-expired shows it anyway)',
      );
    }
    const data = decodeOrExplain(codec, row);
    if (args.json) {
      const out = new Map<string, PyValue>([
        ['session_key', row.sessionKey],
        ['expire_date', row.expireDate.isoformat()],
        ['data', data],
      ]);
      process.stdout.write(pyDumps(out) + '\n');
      return 0;
    }
    const zone = row.expireDate.aware ? '' : ` ${settings.TIME_ZONE}`;
    process.stdout.write(
      [
        `session_key  ${row.sessionKey}`,
        `expire_date  ${row.expireDate.isoformat(' ')}${zone} (${relative(row.expireDate, now)})`,
        `user         ${await describeUser(db, tz, data)}`,
        `data         ${pyDumps(data)}`,
      ].join('\n') + '\n',
    );
    return 0;
  } finally {
    await db.close();
  }
}
