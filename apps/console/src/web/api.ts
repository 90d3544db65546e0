/**
 * Every call of the console goes through here, to /api/<app>/..., with the signed-in operator's
 * token and nothing else: the console has no privileges of its own. The token lives in
 * sessionStorage (this tab only, gone when it closes), never in a URL, a log or localStorage.
 */
import type { KnownScope } from '@tokenledger/token-core';

export type App = 'issuance' | 'revocation' | 'anomaly' | 'ledger';

const STORAGE_KEY = 'tokenledger.console.operator-token';

export function storedToken(): string | null {
  return sessionStorage.getItem(STORAGE_KEY);
}
export function storeToken(token: string | null): void {
  if (token === null) sessionStorage.removeItem(STORAGE_KEY);
  else sessionStorage.setItem(STORAGE_KEY, token);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let onUnauthorized: (() => void) | undefined;
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

async function call(
  app: App,
  path: string,
  init: RequestInit = {},
  token = storedToken(),
): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  if (init.body && !headers.has('content-type')) headers.set('content-type', 'application/json');
  const res = await fetch(`/api/${app}${path}`, {
    ...init,
    headers,
    cache: 'no-store',
    credentials: 'omit',
  });
  if (res.ok) return res;
  let code = `http_${res.status}`;
  let message = res.statusText;
  try {
    // RFC 9457 problem details (every API), or an RFC 6749 §5.2 body (introspection, RFC 7009).
    const body = (await res.json()) as {
      code?: string;
      detail?: string;
      title?: string;
      error?: string;
      error_description?: string;
    };
    code = body.code ?? body.error ?? code;
    message = body.detail ?? body.error_description ?? body.title ?? message;
  } catch {
    // not JSON
  }
  if (res.status === 401 && token) onUnauthorized?.();
  if (res.status === 403) message = `Not allowed: ${message}`;
  throw new ApiError(res.status, code, message);
}

export async function getJson<T>(app: App, path: string, token?: string): Promise<T> {
  return (await (await call(app, path, {}, token ?? storedToken())).json()) as T;
}
export async function getText(app: App, path: string): Promise<string> {
  return (await call(app, path)).text();
}
export async function send<T>(
  app: App,
  method: 'POST' | 'PUT',
  path: string,
  body: unknown,
): Promise<T> {
  return (await (await call(app, path, { method, body: JSON.stringify(body) })).json()) as T;
}
export async function download(app: App, path: string, filename: string): Promise<void> {
  const blob = await (await call(app, path)).blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export interface Principal {
  tokenId: string;
  scopes: string[];
  actor: string;
}

export type Scope = KnownScope;

/** As the services decide (token-core hasScope): `admin` holds every scope. */
export function can(principal: Principal | null, scope: Scope): boolean {
  return !!principal && (principal.scopes.includes('admin') || principal.scopes.includes(scope));
}

/** Issuance's token metadata (GET /v1/tokens): never a secret or a hash. */
export interface TokenView {
  tokenId: string;
  prefix: string;
  owner: { type: string; id: string };
  name: string;
  scopes: string[];
  labels: Record<string, string>;
  issuedAt: string;
  expiresAt: string;
  dpopJkt?: string;
  rotatedFrom?: string;
  status: 'active' | 'revoked' | 'expired';
  revokedAt?: string;
  revokedReason?: string;
  rotatedTo?: string;
  graceEndsAt?: string;
}

export interface IssuedToken {
  token: string;
  tokenId: string;
  expiresAt: string;
  [key: string]: unknown;
}

/** A ledger entry as served; only `leaf` (the bytes) is trusted, after verification. */
export interface LedgerEntry {
  logId: string;
  index: number;
  leaf: string;
  leafHash: string;
  chainHash: string;
}

export interface LeafRecord {
  topic: string;
  partition: number;
  offset: string | number;
  timestamp: string;
  kind: 'event' | 'duplicate' | 'rejected';
  event?: {
    id: string;
    type: string;
    time: string;
    actor?: string;
    subject?: string;
    data?: Record<string, unknown>;
  };
  reason?: string;
}

export interface LogView {
  logId: string;
  origin: string;
  topic: string;
  partition: number;
  size: number;
  checkpointSize: number | null;
  cosigners: number;
  witnessed: boolean;
  signingHalted: boolean;
}

export interface Anomaly {
  id: string;
  tokenId: string;
  rule: string;
  severity: 'low' | 'medium' | 'high' | 'critical';
  detectedAt: string;
  action: string;
  summary: string;
  evidence: string[];
}

export interface SprawlRow {
  tokenId: string;
  prefix: string;
  owner: string;
  name: string;
  issuedAt: string;
  expiresAt: string;
  ageDays: number;
  lastUsedAt: string | null;
  neverUsed: boolean;
  pastMaxAge: boolean;
  unrotated: boolean;
  stale: boolean;
}

export interface Trust {
  logKeys: string[];
  witnessKeys: string[];
  witnessQuorum: number;
}
export async function consoleTrust(): Promise<Trust> {
  const res = await fetch('/config.json', { cache: 'no-store' });
  return ((await res.json()) as { trust: Trust }).trust;
}
