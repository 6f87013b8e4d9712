/**
 * `decode`: `session_data` → the session dict as compact Python-style JSON, reading it exactly as the
 * chosen Django version does.
 */
import { pyDumps } from '../../pyjson/index.ts';
import { SessionCodec, type SessionDecodeReport } from '../../sessions/codec.ts';
import { BadSignature } from '../../signing/errors.ts';
import { CODEC_OPTIONS, CODEC_OPTIONS_HELP, OutputBuffer, codecOptionsFrom, parseOptions, readStdin, stdinLines } from '../args.ts';
import { CliError } from '../errors.ts';

export const summary = 'Decode Django session_data (stdin) into its session dict as JSON';

const HELP = `usage: django-session-bridge decode [options] < session_data.txt

Read session_data (the django_session.session_data column) from stdin, check its signature, and
print the session dict as compact JSON, exactly as Python's json.dumps would write it.
A bad signature or undecodable data exits 1 with the reason on stderr.

options:
${CODEC_OPTIONS_HELP}
  --fallback-key KEY       an entry of SECRET_KEY_FALLBACKS (4.2/5.2); repeat for several
  --lines                  one session_data per line in, one JSON dict per line out (surrounding
                           whitespace ignored); a line that fails prints {} (what Django's decode
                           answers), the number of such lines goes to stderr, and the exit code is 1
  -h, --help               this text

example:
  echo 'eyJhIjoxfQ:1r31eq:_aJ7yMmc1HwH5IUxenklKf9csAfBeVYWHojANb4Sp0U' \\
    | npm run --silent cli -- decode --secret-key test-secret-key-for-vectors
    → {"a":1}
  sqlite3 db.sqlite3 'select session_data from django_session' \\
    | SECRET_KEY=... npm run --silent cli -- decode --lines
`;

function explain(report: SessionDecodeReport): string {
  const err = report.error!;
  if (err instanceof BadSignature) {
    return `bad signature: ${err.message} (wrong --secret-key, --salt or --django-version, or the data was altered)`;
  }
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `cannot decode session data: ${err.message}${cause}`;
}

export async function run(argv: string[]): Promise<number> {
  const values = parseOptions(argv, { ...CODEC_OPTIONS, 'fallback-key': { type: 'string', multiple: true } });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const codec = new SessionCodec(codecOptionsFrom(values, values['fallback-key'] ?? []));

  if (!values.lines) {
    const report = codec.inspect((await readStdin()).trim());
    if (report.error) throw new CliError(explain(report));
    process.stdout.write(pyDumps(report.data) + '\n');
    return 0;
  }
  const out = new OutputBuffer();
  let lines = 0;
  let failures = 0;
  for await (const line of stdinLines()) {
    lines++;
    const report = codec.inspect(line.trim());
    if (report.error) failures++;
    await out.write(pyDumps(report.data) + '\n');
  }
  await out.flush();
  if (failures > 0) {
    process.stderr.write(`decode: ${failures} of ${lines} lines failed to decode (printed as {})\n`);
    return 1;
  }
  return 0;
}
