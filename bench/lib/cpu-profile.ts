/**
 * Summarize a V8 `.cpuprofile` (from `node --cpu-prof`): where the samples landed, as self time per
 * function (with file:line, mapped back to the .ts line through tsx's cache) and per source file or
 * package, and the total time of our own functions, so a slow path can be named precisely.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TsxSourcePositions } from './tsx-source-positions.ts';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileEntry {
  /** "functionName file:line" (or "(program)", "(garbage collector)", "(idle)"). */
  label: string;
  /** Self time (for oursInclusive: total time). */
  selfMs: number;
  /** Share of the non-idle samples. */
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  byFunction: ProfileEntry[];
  byFile: ProfileEntry[];
  /** Our own functions (src/, migrations/) by total time including what they call. */
  oursInclusive: ProfileEntry[];
}

function shortPath(url: string, root: string): string {
  if (url === '') return '';
  let path = url;
  if (url.startsWith('file://')) {
    try {
      path = fileURLToPath(url);
    } catch {
      return url;
    }
  }
  if (!path.startsWith('/')) return path; // node:internal…
  const rel = relative(root, path);
  const nm = rel.lastIndexOf('node_modules/');
  return nm >= 0 ? rel.slice(nm) : rel;
}

/** The bucket a file belongs to: a package under node_modules, a node: internal, or the file itself. */
function fileBucket(path: string): string {
  if (path === '') return '(native / V8)';
  if (path.startsWith('node:')) return 'node: internals';
  const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  return m ? `node_modules/${m[1]}` : path;
}

/**
 * A time window in the profiled process's monotonic clock, in µs: V8 stamps samples with
 * CLOCK_MONOTONIC, the clock `process.hrtime` reads in any process on the same machine, so a window
 * measured by the benchmark selects exactly the samples taken under load (not start-up, not set-up).
 */
export interface ProfileWindow {
  startUs: number;
  endUs: number;
}

/** The monotonic clock now, in µs (comparable with profile sample times). */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** Summarize the samples taken inside any of `windows` (all samples when none are given). */
export function summarizeCpuProfile(file: string, root: string, windows?: readonly ProfileWindow[]): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const positions = new TsxSourcePositions();
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }

  // One label and bucket per node: "name path:line", the line mapped back to the .ts source.
  const labels = new Map<number, { label: string; bucket: string; ours: boolean; idle: boolean }>();
  for (const n of profile.nodes) {
    const frame = n.callFrame;
    const path = shortPath(frame.url, root);
    let line = frame.lineNumber + 1;
    if (frame.url.startsWith('file://') && frame.url.endsWith('.ts')) {
      line = positions.originalLine(fileURLToPath(frame.url), frame.functionName, frame.lineNumber, frame.columnNumber) ?? line;
    }
    const name = frame.functionName || '(anonymous)';
    labels.set(n.id, {
      label: path === '' ? name : `${name} ${path}:${line}`,
      bucket: path === '' && frame.functionName.startsWith('(') ? frame.functionName : fileBucket(path),
      ours: /^(src|migrations)\//.test(path),
      idle: frame.functionName === '(idle)',
    });
  }

  const self = new Map<string, number>();
  const files = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let idleUs = 0;
  let totalUs = 0;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (windows && !windows.some((w) => at >= w.startUs && at <= w.endUs)) continue;
    const id = profile.samples[i]!;
    const info = labels.get(id)!;
    totalUs += delta;
    if (info.idle) {
      idleUs += delta;
      continue;
    }
    self.set(info.label, (self.get(info.label) ?? 0) + delta);
    files.set(info.bucket, (files.get(info.bucket) ?? 0) + delta);
    // Inclusive time of our own functions: each distinct one on the stack once per sample.
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const l = labels.get(n)!;
      if (l.ours && !seen.has(l.label)) {
        seen.add(l.label);
        inclusive.set(l.label, (inclusive.get(l.label) ?? 0) + delta);
      }
    }
  }
  const busyUs = totalUs - idleUs;
  const entries = (m: Map<string, number>): ProfileEntry[] =>
    [...m.entries()]
      .map(([label, us]) => ({ label, selfMs: us / 1000, share: busyUs > 0 ? us / busyUs : 0 }))
      .sort((a, b) => b.selfMs - a.selfMs);
  return { totalMs: totalUs / 1000, idleMs: idleUs / 1000, byFunction: entries(self), byFile: entries(files), oursInclusive: entries(inclusive) };
}

/**
 * The summary as text. With `requests` (answered while sampled), each line also shows its CPU µs
 * per request, which compares across servers where shares do not.
 */
export function formatProfileSummary(summary: ProfileSummary, options: { top?: number; requests?: number } = {}): string {
  const top = options.top ?? 25;
  const busyMs = summary.totalMs - summary.idleMs;
  const perRequest = (e: ProfileEntry): string =>
    options.requests ? `${((e.selfMs * 1000) / options.requests).toFixed(1).padStart(7)} µs/req` : '';
  const line = (e: ProfileEntry): string => `  ${`${(e.share * 100).toFixed(1)}%`.padStart(7)}${perRequest(e)}  ${e.label}`;
  const header =
    `CPU profile (main thread): ${(busyMs / 1000).toFixed(1)} s busy of ${(summary.totalMs / 1000).toFixed(1)} s sampled` +
    (options.requests ? `, ${options.requests} requests: ${((busyMs * 1000) / options.requests).toFixed(0)} µs/req` : '') +
    '; shares are of the busy time';
  return [
    header,
    '  self time by function:',
    ...summary.byFunction.slice(0, top).map(line),
    '  self time by file / package:',
    ...summary.byFile.slice(0, 15).map(line),
    '  our functions by total time (what they call included; a middleware includes the synchronous part of what runs after it):',
    ...summary.oursInclusive.slice(0, top).map(line),
  ].join('\n');
}
