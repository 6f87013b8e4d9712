/**
 * `encode`: a session dict as JSON (Python json.loads semantics) → the `session_data` Django stores.
 */
import { PyFloat, type PyDict, type PyValue } from '../../pyjson/types.ts';
import { pyLoads } from '../../pyjson/index.ts';
import { SessionCodec } from '../../sessions/codec.ts';
import { CODEC_OPTIONS, CODEC_OPTIONS_HELP, OutputBuffer, USAGE_EXIT, codecOptionsFrom, parseOptions, readStdin, stdinLines } from '../args.ts';
import { CliError } from '../errors.ts';

export const summary = 'Encode a session dict (JSON on stdin) as Django session_data';

const HELP = `usage: django-session-bridge encode [options] < session.json

Read a session dict as JSON from stdin and print the session_data Django would store for it
(signed, compressed when that saves space; with --django-version 3.2 --hashing-algorithm sha1 the
legacy pre-3.1 format). Numbers keep Python's types: 1.0 stays a float, big integers stay exact.

options:
${CODEC_OPTIONS_HELP}
  --timestamp SECONDS      Unix time to sign with (default: now)
  --lines                  one JSON document per line in, one session_data per line out; a line that
                           cannot be encoded prints an empty line and its error on stderr (exit 1)
  -h, --help               this text

example:
  echo '{"_auth_user_id":"1"}' | SECRET_KEY='django-insecure-...' npm run --silent cli -- encode
  npm run --silent cli -- encode --secret-key K --timestamp 1700000000 <<< '{"a":1}'
    → eyJhIjoxfQ:1r31eq:…
`;

function isDict(value: PyValue): value is PyDict {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof PyFloat) && !(value instanceof Map);
}

function parseSession(text: string): PyDict {
  let value: PyValue;
  try {
    value = pyLoads(text);
  } catch (err) {
    throw new CliError(`input is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isDict(value)) throw new CliError('input must be a JSON object (a session is a dict)');
  return value;
}

export async function run(argv: string[]): Promise<number> {
  const values = parseOptions(argv, { ...CODEC_OPTIONS, timestamp: { type: 'string' } });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  let timestamp: number | undefined;
  if (values.timestamp !== undefined) {
    timestamp = Number(values.timestamp);
    if (!/^-?\d+$/.test(values.timestamp) || !Number.isSafeInteger(timestamp)) {
      throw new CliError(`--timestamp must be whole Unix seconds, got "${values.timestamp}"`, USAGE_EXIT);
    }
  }
  const codec = new SessionCodec(codecOptionsFrom(values));
  const encodeOne = (text: string): string => {
    try {
      return codec.encode(parseSession(text), timestamp === undefined ? {} : { timestamp });
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw new CliError(`cannot encode: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  if (!values.lines) {
    process.stdout.write(encodeOne(await readStdin()) + '\n');
    return 0;
  }
  const out = new OutputBuffer();
  let lineNo = 0;
  let failures = 0;
  for await (const line of stdinLines()) {
    lineNo++;
    try {
      await out.write(encodeOne(line) + '\n');
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      failures++;
      await out.write('\n');
      process.stderr.write(`line ${lineNo}: ${err.message}\n`);
    }
  }
  await out.flush();
  if (failures > 0) {
    process.stderr.write(`encode: ${failures} of ${lineNo} lines could not be encoded (printed as empty lines)\n`);
    return 1;
  }
  return 0;
}
