#!/usr/bin/env node
// Builds native/exact-deflate (CPython's zlib.compress bytes at C speed) if this machine can.
// Meant for "postinstall": it never fails the install. When the addon cannot be built or loaded
// it prints one line and exits 0; src/zlib then uses pako, which gives the same bytes, slower.
//
// Usage: node scripts/build-native.mjs [--strict] [--verbose]
//   --strict   exit 1 when the addon is not usable (for CI and release builds)
//   --verbose  show node-gyp's output
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const strict = process.argv.includes('--strict');
const verbose = process.argv.includes('--verbose');
const addonDir = fileURLToPath(new URL('../native/exact-deflate/', import.meta.url));
const addonFile = join(addonDir, 'build', 'Release', 'exact_deflate.node');
const FALLBACK = 'src/zlib falls back to pako and node:zlib inflate (same bytes, slower)';

/** node-gyp ships inside npm; npm tells scripts where, otherwise look next to this node. */
function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((path) => path && existsSync(path));
}

/**
 * Without a nodedir, node-gyp downloads headers from nodejs.org. npm passes its `nodedir` config
 * through the environment; when run directly, use the headers installed beside this node
 * (Debian's /usr/include/node, or an official tarball's include/node) if they are there.
 */
function nodedirArgs() {
  if (process.env.npm_config_nodedir) return [];
  const prefix = join(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

function giveUp(reason) {
  console.log(`exact-deflate: not available (${reason}); ${FALLBACK}.`);
  process.exit(strict ? 1 : 0);
}

const nodeGyp = findNodeGyp();
if (!nodeGyp) giveUp('node-gyp not found');

const build = spawnSync(process.execPath, [nodeGyp, 'rebuild', ...nodedirArgs()], {
  cwd: addonDir,
  stdio: verbose ? 'inherit' : 'pipe',
  encoding: 'utf8',
});
if (build.error) giveUp(`node-gyp did not run: ${build.error.message}`);
if (build.status !== 0) {
  const lastError = `${build.stderr ?? ''}`.split('\n').filter((line) => /error/i.test(line)).pop();
  giveUp(`node-gyp exited with ${build.status}${lastError ? `: ${lastError.trim()}` : ''}`);
}

// Building is not enough: the addon refuses to load when it cannot isolate the system zlib.
try {
  const addon = createRequire(import.meta.url)(addonFile);
  console.log(`exact-deflate: built, using ${addon.libraryPath} (zlib ${addon.zlibVersion}).`);
} catch (error) {
  giveUp(`built but does not load: ${error instanceof Error ? error.message : String(error)}`);
}
