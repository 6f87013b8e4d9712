/** One-off HTTP requests for a benchmark's set-up and checks (each on its own connection). */
import { request } from 'node:http';

export interface Answer {
  status: number;
  body: string;
  contentType: string | null;
  setCookies: string[];
}

export interface RequestSpec {
  method?: string;
  /** Sent as JSON.stringify(json) with Content-Type: application/json. */
  json?: unknown;
  cookie?: string;
  timeoutMs?: number;
}

export function httpRequest(url: string, spec: RequestSpec = {}): Promise<Answer> {
  const headers: Record<string, string | number> = {};
  const body = spec.json === undefined ? undefined : Buffer.from(JSON.stringify(spec.json));
  if (body) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = body.length;
  }
  if (spec.cookie !== undefined) headers.cookie = spec.cookie;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: spec.method ?? (body ? 'POST' : 'GET'), headers, agent: false, timeout: spec.timeoutMs ?? 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          contentType: res.headers['content-type'] ?? null,
          setCookies: res.headers['set-cookie'] ?? [],
        }),
      );
      res.once('error', reject);
    });
    req.once('timeout', () => req.destroy(new Error(`no answer from ${url} within ${spec.timeoutMs ?? 30_000} ms`)));
    req.once('error', reject);
    req.end(body);
  });
}

/** The value of cookie `name` among Set-Cookie headers, or undefined. */
export function cookieValue(setCookies: readonly string[], name: string): string | undefined {
  for (const line of setCookies) {
    const first = line.split(';', 1)[0]!;
    const eq = first.indexOf('=');
    if (eq > 0 && first.slice(0, eq).trim() === name) return first.slice(eq + 1).trim();
  }
  return undefined;
}
