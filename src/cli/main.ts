/**
 * The operator CLI: `npm run --silent cli -- <command> [options]` or the package's `bin`.
 * Each command lives in its own module under ./commands and exports `run(argv): Promise<number>`
 * (the exit code) and `summary` (one line for the overview).
 * Expected failures print one clear line on stderr and exit non-zero; no stack traces.
 */
import { CliError } from './errors.ts';

interface CommandModule {
  summary: string;
  run(argv: string[]): Promise<number>;
}

const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  encode: () => import('./commands/encode.ts'),
  decode: () => import('./commands/decode.ts'),
  migrate: () => import('./commands/migrate.ts'),
  serve: () => import('./commands/serve.ts'),
  clearsessions: () => import('./commands/clearsessions.ts'),
  inspect: () => import('./commands/inspect.ts'),
  createuser: () => import('./commands/createuser.ts'),
};

async function overview(): Promise<string> {
  const lines = ['usage: django-session-bridge <command> [options]', '', 'commands:'];
  for (const [name, load] of Object.entries(COMMANDS)) {
    let summary = '';
    try {
      summary = (await load()).summary;
    } catch {
      summary = '(unavailable)';
    }
    lines.push(`  ${name.padEnd(14)}${summary}`);
  }
  lines.push('', 'Run `django-session-bridge <command> --help` for the options and examples of one command.');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write((await overview()) + '\n');
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`error: unknown command "${name}" (see --help)\n`);
    return 2;
  }
  try {
    return await (await load()).run(rest);
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`error: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
