/**
 * `request.body` with Django's size limit.
 *
 * Django refuses a body larger than DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB = 2 621 440 bytes by
 * default) with `RequestDataTooBig`, judged from Content-Length and (4.2+) by reading one byte past
 * the limit. We do the same for every body, chunked ones included, so memory per request is
 * bounded (Django 3.2 behind gunicorn would read a chunked body of any size). The body is read only
 * when a view asks for it, as in Django, and at most once per request.
 */
import type { Context } from 'koa';

/** Django's DATA_UPLOAD_MAX_MEMORY_SIZE default. */
export const DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440;

/** Django's `RequestDataTooBig` (a SuspiciousOperation: a 400 where a view lets it through). */
export class RequestDataTooBig extends Error {
  readonly status = 400;
  readonly expose = false;
  constructor(readonly limit: number) {
    super('Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE.');
    this.name = 'RequestDataTooBig';
  }
}

/** The request could not be read (client went away, bad framing): Django's UnreadablePostError. */
export class UnreadableBody extends Error {
  readonly status = 400;
  readonly expose = false;
  constructor(options?: ErrorOptions) {
    super('The request body could not be read.', options);
    this.name = 'UnreadableBody';
  }
}

const bodies = new WeakMap<Context, Promise<Buffer>>();

function read(ctx: Context, limit: number): Promise<Buffer> {
  const declared = Number(ctx.get('Content-Length') || 0);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new RequestDataTooBig(limit));
  const req = ctx.req;
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (error: Error | null): void => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      if (error) {
        // Stop buffering; Node discards the rest of the body.
        req.resume();
        reject(error);
      } else resolve(Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) return finish(new RequestDataTooBig(limit));
      chunks.push(chunk);
    };
    const onEnd = (): void => finish(null);
    const onError = (err: Error): void => finish(new UnreadableBody({ cause: err }));
    const onAborted = (): void => finish(new UnreadableBody());
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

/** `request.body`: the raw bytes, read once (later calls share the first read). */
export function requestBody(ctx: Context, limit: number = DATA_UPLOAD_MAX_MEMORY_SIZE): Promise<Buffer> {
  let body = bodies.get(ctx);
  if (body === undefined) {
    body = read(ctx, limit);
    bodies.set(ctx, body);
  }
  return body;
}
