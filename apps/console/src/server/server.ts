import { createReadStream, existsSync, statSync } from 'node:fs';
import {
  STATUS_CODES,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import path from 'node:path';
import { PROBLEM_CONTENT_TYPE, type ProblemDetails } from '@tokenledger/errors';
import { APPS, type ConsoleApp, type ConsoleConfig } from './config';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

/** Headers of the browser's request that the services need; nothing else is forwarded. */
const FORWARDED_REQUEST_HEADERS = [
  'authorization',
  'content-type',
  'accept',
  'dpop',
  'x-request-id',
];
/** Headers of the services' answers that the browser sees. */
const FORWARDED_RESPONSE_HEADERS = [
  'content-type',
  'www-authenticate',
  'x-request-id',
  'retry-after',
  'content-disposition',
];

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
};

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', ...SECURITY_HEADERS });
  res.end(JSON.stringify(body));
}

/** The console's own errors, as RFC 9457 problem details like every app's (docs/design/errors.md). */
function error(res: ServerResponse, status: number, code: string, detail: string): void {
  const problem: ProblemDetails = {
    type: 'about:blank',
    title: STATUS_CODES[status] ?? `HTTP ${status}`,
    status,
    detail,
    code,
  };
  res.writeHead(status, { 'content-type': PROBLEM_CONTENT_TYPE, ...SECURITY_HEADERS });
  res.end(JSON.stringify(problem));
}

/**
 * Forwards `/api/<app>/v1/...` to that app, with the browser's own Authorization header: the
 * console adds no credential. Only `/v1/` paths are reachable (never `/internal/`), and nothing
 * of the request (its token above all) is logged.
 */
function forward(
  config: ConsoleConfig,
  app: ConsoleApp,
  rest: string,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const base = config.upstreams[app];
  const target = new URL(rest, base);
  const headers: Record<string, string> = {};
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = req.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  if (req.headers['content-length']) headers['content-length'] = req.headers['content-length'];
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const upstream = send(target, { method: req.method, headers, timeout: 30_000 }, (answer) => {
    const out: Record<string, string> = { ...SECURITY_HEADERS, 'cache-control': 'no-store' };
    for (const name of FORWARDED_RESPONSE_HEADERS) {
      const value = answer.headers[name];
      if (typeof value === 'string') out[name] = value;
    }
    res.writeHead(answer.statusCode ?? 502, out);
    answer.pipe(res);
  });
  upstream.on('timeout', () => upstream.destroy(new Error('timeout')));
  upstream.on('error', () => {
    if (!res.headersSent)
      error(res, 502, 'upstream_unavailable', `the ${app} service did not answer`);
    else res.destroy();
  });
  req.pipe(upstream);
}

function serveStatic(config: ConsoleConfig, pathname: string, res: ServerResponse): void {
  const root = path.resolve(config.staticDir);
  let file = path.resolve(root, `.${decodeURIComponent(pathname)}`);
  if (!file.startsWith(root + path.sep) && file !== root)
    return error(res, 400, 'bad_path', 'bad path');
  if (!existsSync(file) || !statSync(file).isFile()) file = path.join(root, 'index.html');
  if (!existsSync(file))
    return error(res, 503, 'not_built', 'the console is not built (npm run build)');
  const immutable = file.includes(`${path.sep}assets${path.sep}`);
  res.writeHead(200, {
    'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    ...SECURITY_HEADERS,
  });
  createReadStream(file).pipe(res);
}

export function createConsoleServer(config: ConsoleConfig): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://console.invalid');
    const api = /^\/api\/([a-z]+)(\/.*)$/.exec(url.pathname);
    if (api) {
      const app = api[1] as ConsoleApp;
      const rest = api[2] ?? '/';
      if (!APPS.includes(app)) return error(res, 404, 'not_found', `no service ${app}`);
      if (!rest.startsWith('/v1/'))
        return error(res, 404, 'not_found', 'only /v1/ routes are forwarded');
      return forward(config, app, `${rest}${url.search}`, req, res);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return error(res, 405, 'method_not_allowed', 'GET only');
    if (url.pathname === '/config.json') return send(res, 200, { trust: config.trust });
    if (url.pathname === '/health/live' || url.pathname === '/health/ready')
      return send(res, 200, { status: 'ok' });
    return serveStatic(config, url.pathname, res);
  });
}
