/**
 * The open-loop generator as a process: `node --import tsx bench/lib/open-loop-main.ts '<json>'`
 * with OpenLoopOptions as JSON; prints OpenLoopResult as one JSON line on stdout.
 * bench/lib/open-loop-runner.ts starts it pinned to the load core.
 */
import { runOpenLoop, type OpenLoopOptions } from './open-loop.ts';

const raw = process.argv[2];
if (raw === undefined) {
  process.stderr.write('usage: open-loop-main.ts \'{"url": …, "rate": …, "seconds": …, "warmupSeconds": …, "connections": …, "expectStatus": …}\'\n');
  process.exit(2);
}
const options = JSON.parse(raw) as OpenLoopOptions;
const result = await runOpenLoop(options);
process.stdout.write(JSON.stringify(result) + '\n');
