/**
 * Summarize a V8 `.cpuprofile` (from `node --cpu-prof`): where the samples landed, as self time per
 * function (with file:line) and per source file or package, so a slow path can be named precisely.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  selfMs: number;
  /** Share of the non-idle samples. */
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  byFunction: ProfileEntry[];
  byFile: ProfileEntry[];
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

export function summarizeCpuProfile(file: string, root: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const fn = new Map<string, number>();
  const files = new Map<string, number>();
  let idleUs = 0;
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    totalUs += us;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const path = shortPath(frame.url, root);
    const label = path === '' ? frame.functionName || '(anonymous)' : `${frame.functionName || '(anonymous)'} ${path}:${frame.lineNumber + 1}`;
    fn.set(label, (fn.get(label) ?? 0) + us);
    const bucket = path === '' && frame.functionName.startsWith('(') ? frame.functionName : fileBucket(path);
    files.set(bucket, (files.get(bucket) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const entries = (m: Map<string, number>): ProfileEntry[] =>
    [...m.entries()]
      .map(([label, us]) => ({ label, selfMs: us / 1000, share: busyUs > 0 ? us / busyUs : 0 }))
      .sort((a, b) => b.selfMs - a.selfMs);
  return { totalMs: totalUs / 1000, idleMs: idleUs / 1000, byFunction: entries(fn), byFile: entries(files) };
}

export function formatProfileSummary(summary: ProfileSummary, top = 25): string {
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`.padStart(7);
  const lines = [
    `CPU profile: ${(summary.totalMs / 1000).toFixed(1)} s sampled, ${(summary.idleMs / 1000).toFixed(1)} s idle; shares are of the busy time`,
    '  self time by function:',
    ...summary.byFunction.slice(0, top).map((e) => `  ${pct(e.share)}  ${e.label}`),
    '  self time by file / package:',
    ...summary.byFile.slice(0, 15).map((e) => `  ${pct(e.share)}  ${e.label}`),
  ];
  return lines.join('\n');
}
