// node:http adapter: routes, body limit, errors mapped once. No logic here.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from './log';
import type { Witness, WitnessResponse } from './witness';

class BodyTooLarge extends Error {}

/** The body, or BodyTooLarge once it passes `limit` (the rest is read and dropped, so 413 can be sent). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume();
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
      } else {
        // Keep reading (and dropping) so the 413 reaches the client; later calls are no-ops.
        chunks.length = 0;
        reject(new BodyTooLarge());
      }
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, r: WitnessResponse, extra: Record<string, string> = {}): void {
  res.writeHead(r.status, {
    'content-type': r.contentType,
    'content-length': Buffer.byteLength(r.body),
    ...extra,
  });
  res.end(r.body);
}

const plain = (status: number, body: string): WitnessResponse => ({
  status,
  contentType: 'text/plain; charset=utf-8',
  body: `${body}\n`,
});

const CHECKPOINT_PATH = /^\/([0-9a-f]{64})\/checkpoint$/;

export function witnessServer(
  witness: Witness,
  options: { bodyLimit: number; log: Logger },
): Server {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/add-checkpoint') {
      if (req.method !== 'POST') return send(res, plain(405, 'use POST'), { allow: 'POST' });
      let body: Buffer;
      try {
        body = await readBody(req, options.bodyLimit);
      } catch (err) {
        if (err instanceof BodyTooLarge)
          return send(res, plain(413, `body exceeds ${options.bodyLimit} bytes`), {
            connection: 'close',
          });
        throw err;
      }
      return send(res, await witness.addCheckpoint(body));
    }
    const checkpoint = CHECKPOINT_PATH.exec(path);
    if (checkpoint?.[1] !== undefined) {
      if (req.method !== 'GET') return send(res, plain(405, 'use GET'), { allow: 'GET' });
      return send(res, await witness.latestCheckpoint(checkpoint[1]));
    }
    return send(res, plain(404, 'not found'));
  };
  return createServer({ keepAlive: true }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      options.log('error', 'request failed', {
        path: req.url,
        error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      });
      if (!res.headersSent) send(res, plain(500, 'internal error'));
      else res.destroy();
    });
  });
}
