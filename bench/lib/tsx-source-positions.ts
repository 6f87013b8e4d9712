/**
 * Map a position in tsx-compiled code back to the TypeScript line, for CPU profiles.
 *
 * tsx compiles each .ts file with esbuild (`minifyWhitespace`), so a V8 profile of a tsx process
 * names nearly every function at "line 1, column 2504". tsx keeps each compiled file, with its source
 * map, in its disk cache (`<tmpdir>/tsx-<uid>/`, JSON `{code, map}`; `map.sources[0]` is the .ts
 * path). Several versions of one file can be cached (the file was edited); the right one is the one
 * whose code has the profiled function's name just before the column V8 reports (V8 points at the
 * parameter list of a named function), the newest such one if several fit.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface CachedCompile {
  mtimeMs: number;
  codeLines: string[];
  mappings: string;
  decoded?: Segment[][];
}

/** [generated column, original line] of one mapping segment (0-based). */
type Segment = readonly [number, number];

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_VALUE = new Map([...BASE64].map((c, i) => [c, i]));

/** Decode source-map v3 `mappings` into, per generated line, [generated column, original line]. */
function decodeMappings(mappings: string): Segment[][] {
  const lines: Segment[][] = [];
  let originalLine = 0;
  for (const lineText of mappings.split(';')) {
    const segments: Segment[] = [];
    let generatedColumn = 0;
    for (const seg of lineText.split(',')) {
      if (seg === '') continue;
      const fields: number[] = [];
      let value = 0;
      let shift = 0;
      for (const ch of seg) {
        const digit = BASE64_VALUE.get(ch);
        if (digit === undefined) throw new Error(`bad source map character ${ch}`);
        value += (digit & 31) << shift;
        if (digit & 32) {
          shift += 5;
        } else {
          fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      generatedColumn += fields[0] ?? 0;
      if (fields.length >= 4) {
        originalLine += fields[2]!;
        segments.push([generatedColumn, originalLine]);
      }
    }
    lines.push(segments);
  }
  return lines;
}

export class TsxSourcePositions {
  private readonly byPath = new Map<string, CachedCompile[]>();

  /** Index tsx's cache (an empty index when there is none: positions then stay unmapped). */
  constructor(cacheDir: string = join(tmpdir(), `tsx-${process.getuid?.() ?? 0}`)) {
    let names: string[];
    try {
      names = readdirSync(cacheDir);
    } catch {
      return;
    }
    for (const name of names) {
      const file = join(cacheDir, name);
      try {
        const stat = statSync(file);
        if (!stat.isFile()) continue;
        const entry = JSON.parse(readFileSync(file, 'utf8')) as { code?: unknown; map?: { sources?: unknown; mappings?: unknown } };
        const source = Array.isArray(entry.map?.sources) ? entry.map.sources[0] : undefined;
        if (typeof source !== 'string' || typeof entry.code !== 'string' || typeof entry.map?.mappings !== 'string') continue;
        const list = this.byPath.get(source) ?? [];
        list.push({ mtimeMs: stat.mtimeMs, codeLines: entry.code.split('\n'), mappings: entry.map.mappings });
        this.byPath.set(source, list);
      } catch {
        // not a compile result (or being written): skip
      }
    }
    for (const list of this.byPath.values()) list.sort((a, b) => b.mtimeMs - a.mtimeMs);
  }

  /**
   * The 1-based .ts line of the function V8 names `functionName` at (line, column) of the compiled
   * `path`, or null when no cached compile fits.
   */
  originalLine(path: string, functionName: string, line: number, column: number): number | null {
    const candidates = this.byPath.get(path);
    if (!candidates) return null;
    const fits = (c: CachedCompile): boolean => {
      const text = c.codeLines[line];
      if (text === undefined || column > text.length) return false;
      if (functionName === '' || functionName.startsWith('<')) return true;
      return text.slice(Math.max(0, column - functionName.length), column) === functionName;
    };
    const chosen = candidates.find(fits);
    if (!chosen) return null;
    chosen.decoded ??= decodeMappings(chosen.mappings);
    const segments = chosen.decoded[line];
    if (!segments || segments.length === 0) return null;
    let best: Segment | undefined;
    for (const s of segments) {
      if (s[0] <= column) best = s;
      else break;
    }
    return (best ?? segments[0]!)[1] + 1;
  }
}
