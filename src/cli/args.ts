/**
 * Helpers shared by the CLI commands: argument parsing with one-line errors, the session-codec options
 * every codec command takes, and stdin/stdout plumbing that streams.
 */
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DJANGO_VERSIONS, type DjangoVersion, type SessionCodecOptions } from '../sessions/codec.ts';
import { CliError } from './errors.ts';

export const USAGE_EXIT = 2;

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs without positionals, turning its TypeErrors into a usage error (exit 2). */
export function parseOptions<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new CliError(`${err instanceof Error ? err.message : String(err)} (see --help)`, USAGE_EXIT);
  }
}

/** The options of the session codec, as both codec commands spell them. */
export const CODEC_OPTIONS = {
  'secret-key': { type: 'string' },
  salt: { type: 'string' },
  'django-version': { type: 'string' },
  'hashing-algorithm': { type: 'string' },
  lines: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

export const CODEC_OPTIONS_HELP = `  --secret-key KEY         the site's SECRET_KEY (default: the SECRET_KEY environment variable)
  --salt SALT              key salt (default django.contrib.sessions.SessionStore, which every built-in
                           engine uses; a custom SessionStore class X uses django.contrib.sessions.X)
  --django-version V       3.2, 4.2 or 5.2 (default 5.2)
  --hashing-algorithm ALG  3.2 only: DEFAULT_HASHING_ALGORITHM, sha256 (default) or sha1`;

interface CodecArgValues {
  'secret-key'?: string;
  salt?: string;
  'django-version'?: string;
  'hashing-algorithm'?: string;
}

export function codecOptionsFrom(values: CodecArgValues, fallbackKeys: readonly string[] = []): SessionCodecOptions {
  const secretKey = values['secret-key'] ?? process.env.SECRET_KEY;
  if (!secretKey) throw new CliError('--secret-key is required (or set SECRET_KEY in the environment)', USAGE_EXIT);
  const version = values['django-version'] ?? '5.2';
  if (!(DJANGO_VERSIONS as readonly string[]).includes(version)) {
    throw new CliError(`--django-version must be one of ${DJANGO_VERSIONS.join(', ')}, got "${version}"`, USAGE_EXIT);
  }
  const algorithm = values['hashing-algorithm'] ?? 'sha256';
  if (algorithm !== 'sha256' && algorithm !== 'sha1') {
    throw new CliError(`--hashing-algorithm must be sha256 or sha1, got "${algorithm}"`, USAGE_EXIT);
  }
  if (algorithm === 'sha1' && version !== '3.2') {
    throw new CliError('--hashing-algorithm sha1 exists only with --django-version 3.2', USAGE_EXIT);
  }
  if (fallbackKeys.length > 0 && version === '3.2') {
    throw new CliError('--fallback-key needs Django 4.1 or later (3.2 has no SECRET_KEY_FALLBACKS)', USAGE_EXIT);
  }
  const options: SessionCodecOptions = {
    secretKey,
    djangoVersion: version as DjangoVersion,
    hashingAlgorithm: algorithm,
    secretKeyFallbacks: fallbackKeys,
  };
  if (values.salt !== undefined) options.keySalt = values.salt;
  return options;
}

/** All of stdin as UTF-8 text. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** stdin line by line (CRLF or LF), streaming. */
export function stdinLines(): AsyncIterable<string> {
  return createInterface({ input: process.stdin, crlfDelay: Infinity });
}

/** Buffered stdout that honours backpressure, so bulk runs stream at a steady memory footprint. */
export class OutputBuffer {
  private pending = '';
  constructor(private readonly limit = 64 * 1024) {}

  async write(text: string): Promise<void> {
    this.pending += text;
    if (this.pending.length >= this.limit) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    if (!process.stdout.write(text)) await once(process.stdout, 'drain');
  }
}
