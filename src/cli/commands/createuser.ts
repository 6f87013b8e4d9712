/**
 * `createuser --email E --name N`: add a user to the tutorial's `user` table, with the password
 * hashed exactly as `/user/reg` hashes it (the app's own hashTutorialPassword) and checked by the
 * same rules, so `/user/login` accepts it.
 */
import { ConfigError, loadSettings, type Environment } from '../../config.ts';
import { openDatabase, type Database } from '../../db/connection.ts';
import { DatabaseConfigError } from '../../db/errors.ts';
import { EmailTaken, TUTORIAL_USER_TABLE, TutorialUserTable } from '../../app/tutorial/user-table.ts';
import { parseRegistration } from '../../app/tutorial/validation.ts';
import { hashTutorialPassword } from '../../app/tutorial/views.ts';
import { isConnectFailure } from '../../sessions/clear-expired.ts';
import { parseOptions, readStdin, USAGE_EXIT } from '../args.ts';
import { CliError } from '../errors.ts';
import { quietDriverWarnings } from '../progress.ts';

export const summary = "add a user to the tutorial's user table (password prompted, or read from stdin)";

const HELP = `usage: django-session-bridge createuser --email EMAIL --name NAME

Add a user to the tutorial's \`user\` table, as /user/reg would: same rules (name up to 48
characters, e-mail up to 64, password 1-72 bytes of UTF-8), same bcrypt hash, and a taken e-mail
is refused. The password is asked for twice on a terminal, without echo; otherwise the first line
of stdin is the password (never pass it as an argument: it would show in ps and shell history).

options:
  --email EMAIL   the login e-mail (unique)
  --name NAME     the display name
  -h, --help      this text

environment (as for serve): DATABASE_URL (default sqlite:db.sqlite3)

examples:
  DATABASE_URL=mysql://app:secret@db.internal/site npm run --silent cli -- createuser --email ann@example.com --name Ann
  printf '%s\\n' "$PASSWORD" | django-session-bridge createuser --email ann@example.com --name Ann
`;

/** Read one line from a terminal without echoing it. Ctrl-C cancels. */
function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  // Echo off before the prompt shows: whatever is typed once the prompt is visible must never echo.
  stdin.setRawMode(true);
  process.stderr.write(prompt);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          finish();
          resolve(value);
          return;
        }
        if (ch === '\u0003') {
          finish();
          reject(new CliError('cancelled', 130));
          return;
        }
        if (ch === '\u007f' || ch === '\b') value = Array.from(value).slice(0, -1).join('');
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) {
    const first = await promptHidden('Password: ');
    const again = await promptHidden('Password (again): ');
    if (first !== again) throw new CliError('the two passwords differ; nothing was created');
    return first;
  }
  // The first line, without its line ending: `echo secret |` and `printf 'secret\r\n'` both give "secret".
  const text = await readStdin();
  return text.split(/\r?\n/, 1)[0] ?? '';
}

export async function run(argv: string[], env: Environment = process.env): Promise<number> {
  const values = parseOptions(argv, { email: { type: 'string' }, name: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  quietDriverWarnings(env);
  if (values.email === undefined || values.name === undefined) {
    throw new CliError('createuser needs --email and --name (see createuser --help)', USAGE_EXIT);
  }
  let settings;
  try {
    // No secret is involved in adding a user; without DATABASE_URL the development database is used.
    settings = loadSettings(env, { allowDevelopmentDefaults: true });
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, USAGE_EXIT);
    throw err;
  }
  // Check name and e-mail before asking for a password that would then be thrown away.
  const probe = parseRegistration({ name: values.name, email: values.email, password: 'x' });
  if (!probe.ok) throw new CliError(probe.error, USAGE_EXIT);
  const password = await readPassword();
  const parsed = parseRegistration({ name: values.name, email: values.email, password });
  if (!parsed.ok) throw new CliError(parsed.error, USAGE_EXIT);

  const url = settings.DATABASE_URL!;
  if (!env.DATABASE_URL) process.stderr.write(`DATABASE_URL is not set: using the development database ${url}\n`);
  let db: Database;
  try {
    db = openDatabase(url, settings, { max: 1 });
  } catch (err) {
    if (err instanceof DatabaseConfigError) throw new CliError(err.message, USAGE_EXIT);
    throw err;
  }
  try {
    const users = new TutorialUserTable(db);
    try {
      if (!(await db.knex.schema.hasTable(TUTORIAL_USER_TABLE))) {
        throw new CliError(`table "${TUTORIAL_USER_TABLE}" does not exist in ${db.redactedUrl}: run \`django-session-bridge migrate\``);
      }
      const { name, email } = parsed.value;
      if (await users.emailExists(email)) throw new CliError(`email already registered: ${email}`);
      const user = await users.create({ name, email, password: await hashTutorialPassword(parsed.value.password) });
      process.stdout.write(`Created user ${user.id}: ${user.name} <${user.email}>\n`);
      return 0;
    } catch (err) {
      if (err instanceof CliError) throw err;
      if (err instanceof EmailTaken) throw new CliError(`email already registered: ${parsed.value.email}`);
      const reason = (err instanceof Error ? err.message : String(err)).split('\n', 1)[0];
      throw new CliError(isConnectFailure(err) ? `cannot connect to the database ${db.redactedUrl}: ${reason}` : `${db.redactedUrl}: ${reason}`);
    }
  } finally {
    await db.close();
  }
}
