import { useEffect, useState } from 'preact/hooks';
import type { RevocationReason } from '@tokenledger/contracts';
import { can, getJson, send, type IssuedToken, type Principal, type TokenView } from './api';

/** Reasons an operator may give (rotated and anomaly are set by the system). */
const REASONS: Exclude<RevocationReason, 'rotated' | 'anomaly'>[] = [
  'requested',
  'leaked',
  'bulk',
  'policy',
];

const KNOWN_SCOPES = [
  'tokens:issue',
  'tokens:read',
  'tokens:revoke',
  'tokens:introspect',
  'leaks:report',
  'policies:write',
  'ledger:read',
  'ledger:export',
  'replay:run',
  'anomalies:read',
  'usage:report',
];

/** As packages/contracts `commentSchema`: at most 500 characters, no control characters. */
const COMMENT_MAX_LENGTH = 500;

function CommentInput({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  return (
    <label>
      Comment (optional, recorded in the ledger)
      <input
        name="comment"
        maxLength={COMMENT_MAX_LENGTH}
        value={value}
        onInput={(e) => onChange((e.target as HTMLInputElement).value)}
      />
    </label>
  );
}

/** The comment as the API takes it: absent when empty. */
function commentOf(comment: string): { comment?: string } {
  const c = comment.trim();
  return c ? { comment: c } : {};
}

interface Policy {
  defaultTtlSeconds: number;
  maxTtlSeconds: number;
}

const PAGE = 20;

/** The orders GET /v1/tokens offers (`-` for descending). */
const SORTS: [string, string][] = [
  ['issuedAt', 'oldest first'],
  ['-issuedAt', 'newest first'],
  ['expiresAt', 'expiring first'],
  ['-lastUsedAt', 'last used first'],
  ['lastUsedAt', 'least recently used first'],
  ['name', 'name'],
];

export function ErrorBox({ error }: { error: string | null }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

function OneTimeSecret({ issued, onDone }: { issued: IssuedToken; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <section class="panel" aria-labelledby="secret-title" data-testid="issued">
      <h2 id="secret-title">Token issued: copy it now</h2>
      <p class="notice">
        This is the only time the plaintext is shown. It is not stored anywhere and cannot be shown
        again.
      </p>
      <div class="secret">
        <code data-testid="plaintext">{issued.token}</code>
        <button
          type="button"
          onClick={() =>
            void navigator.clipboard?.writeText(issued.token).then(
              () => setCopied(true),
              () => setCopied(false),
            )
          }
        >
          Copy
        </button>
        <span role="status">{copied ? 'Copied.' : ''}</span>
      </div>
      <p>
        Token id{' '}
        <a href={`#/tokens/${issued.tokenId}`}>
          <code>{issued.tokenId}</code>
        </a>
        , expires {issued.expiresAt}.
      </p>
      <button type="button" class="secondary" onClick={onDone}>
        I have stored it: hide the plaintext
      </button>
    </section>
  );
}

function IssueForm({
  principal,
  onIssued,
}: {
  principal: Principal;
  onIssued: (t: IssuedToken) => void;
}) {
  const [policy, setPolicy] = useState<Policy | null>(null);
  const [ownerType, setOwnerType] = useState('service');
  const [ownerId, setOwnerId] = useState('');
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>([]);
  const [ttl, setTtl] = useState(0);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    getJson<Policy>('issuance', '/v1/policies')
      .then((p) => {
        setPolicy(p);
        setTtl(p.defaultTtlSeconds);
      })
      .catch((e: Error) => setError(e.message));
  }, []);
  const grantable = KNOWN_SCOPES.filter(
    (s) => principal.scopes.includes('admin') || principal.scopes.includes(s),
  );
  const ttls = policy
    ? [
        ...new Set([
          3600,
          86400,
          7 * 86400,
          30 * 86400,
          90 * 86400,
          policy.defaultTtlSeconds,
          policy.maxTtlSeconds,
        ]),
      ]
        .filter((t) => t <= policy.maxTtlSeconds)
        .sort((a, b) => a - b)
    : [];
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setError(null);
    try {
      const issued = await send<IssuedToken>('issuance', 'POST', '/v1/tokens', {
        owner: { type: ownerType, id: ownerId },
        name,
        scopes,
        ttlSeconds: ttl,
      });
      setName('');
      setScopes([]);
      onIssued(issued);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <section class="panel" aria-labelledby="issue-title">
      <h2 id="issue-title">Issue a token</h2>
      <form class="row" onSubmit={(e) => void submit(e)}>
        <label>
          Owner type
          <select
            value={ownerType}
            onChange={(e) => setOwnerType((e.target as HTMLSelectElement).value)}
          >
            <option value="service">service</option>
            <option value="team">team</option>
            <option value="user">user</option>
          </select>
        </label>
        <label>
          Owner id
          <input
            required
            value={ownerId}
            onInput={(e) => setOwnerId((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          Name
          <input
            required
            value={name}
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          Time to live
          <select
            value={String(ttl)}
            onChange={(e) => setTtl(Number((e.target as HTMLSelectElement).value))}
          >
            {ttls.map((t) => (
              <option key={t} value={String(t)}>
                {t % 86400 === 0 ? `${t / 86400} days` : `${t / 3600} hours`}
                {policy && t === policy.defaultTtlSeconds ? ' (default)' : ''}
                {policy && t === policy.maxTtlSeconds ? ' (maximum)' : ''}
              </option>
            ))}
          </select>
        </label>
        <fieldset>
          <legend>Scopes (those you hold)</legend>
          {grantable.map((s) => (
            <label key={s}>
              <input
                type="checkbox"
                checked={scopes.includes(s)}
                onChange={(e) =>
                  setScopes(
                    (e.target as HTMLInputElement).checked
                      ? [...scopes, s]
                      : scopes.filter((x) => x !== s),
                  )
                }
              />
              {s}
            </label>
          ))}
        </fieldset>
        <button type="submit" disabled={scopes.length === 0 || !policy}>
          Issue
        </button>
      </form>
      <ErrorBox error={error} />
    </section>
  );
}

function BulkRevoke() {
  const [ownerId, setOwnerId] = useState('');
  const [label, setLabel] = useState('');
  const [scope, setScope] = useState('');
  const [comment, setComment] = useState('');
  const [preview, setPreview] = useState<{ ids: string[] } | null>(null);
  const [result, setResult] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const selector = (): Record<string, string> => ({
    ...(ownerId ? { ownerId } : {}),
    ...(label ? { label } : {}),
    ...(scope ? { scope } : {}),
  });
  const run = async (dryRun: boolean): Promise<void> => {
    setError(null);
    setResult(null);
    try {
      const answer = await send<{ ids: string[]; revoked: number }>(
        'revocation',
        'POST',
        '/v1/revocations',
        {
          selector: selector(),
          reason: 'bulk',
          dryRun,
          ...commentOf(comment),
        },
      );
      if (dryRun) setPreview(answer);
      else {
        setPreview(null);
        setResult(`${answer.revoked} tokens revoked.`);
      }
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <section class="panel" aria-labelledby="bulk-title">
      <h2 id="bulk-title">Bulk revoke</h2>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          void run(true);
        }}
      >
        <label>
          Owner id
          <input
            value={ownerId}
            onInput={(e) => {
              setOwnerId((e.target as HTMLInputElement).value);
              setPreview(null);
            }}
          />
        </label>
        <label>
          Label (key=value)
          <input
            value={label}
            onInput={(e) => {
              setLabel((e.target as HTMLInputElement).value);
              setPreview(null);
            }}
          />
        </label>
        <label>
          Scope
          <input
            value={scope}
            onInput={(e) => {
              setScope((e.target as HTMLInputElement).value);
              setPreview(null);
            }}
          />
        </label>
        <CommentInput value={comment} onChange={setComment} />
        <button type="submit" class="secondary" disabled={Object.keys(selector()).length === 0}>
          Preview (dry run)
        </button>
      </form>
      {preview && (
        <div class="notice" role="status" data-testid="bulk-preview">
          <p>{preview.ids.length} active tokens match. Revoking them cannot be undone.</p>
          <button
            type="button"
            class="danger"
            disabled={preview.ids.length === 0}
            onClick={() => void run(false)}
          >
            Revoke {preview.ids.length} tokens
          </button>{' '}
          <button type="button" class="secondary" onClick={() => setPreview(null)}>
            Cancel
          </button>
        </div>
      )}
      {result && <p role="status">{result}</p>}
      <ErrorBox error={error} />
    </section>
  );
}

export function RevokeForm({ tokenId, onDone }: { tokenId: string; onDone: () => void }) {
  const [reason, setReason] = useState<RevocationReason>('requested');
  const [comment, setComment] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    try {
      await send('revocation', 'POST', `/v1/tokens/${tokenId}/revoke`, {
        reason,
        ...commentOf(comment),
      });
      onDone();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <form class="row" onSubmit={(e) => void submit(e)} aria-label="Revoke this token">
      <label>
        Reason
        <select
          value={reason}
          onChange={(e) => setReason((e.target as HTMLSelectElement).value as RevocationReason)}
        >
          {REASONS.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </label>
      <CommentInput value={comment} onChange={setComment} />
      <button type="submit" class="danger">
        Revoke
      </button>
      <ErrorBox error={error} />
    </form>
  );
}

export function TokensPage({ principal }: { principal: Principal }) {
  const [ownerId, setOwnerId] = useState('');
  const [label, setLabel] = useState('');
  const [status, setStatus] = useState('');
  const [scope, setScope] = useState('');
  const [name, setName] = useState('');
  const [prefix, setPrefix] = useState('');
  const [expiresBefore, setExpiresBefore] = useState('');
  const [neverUsed, setNeverUsed] = useState(false);
  const [unrotated, setUnrotated] = useState(false);
  const [issuedBefore, setIssuedBefore] = useState('');
  const [sort, setSort] = useState('issuedAt');
  const [query, setQuery] = useState('');
  const [pages, setPages] = useState<(string | null)[]>([null]);
  const [tokens, setTokens] = useState<TokenView[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [issued, setIssued] = useState<IssuedToken | null>(null);
  const [reload, setReload] = useState(0);
  const cursor = pages[pages.length - 1] ?? null;

  useEffect(() => {
    if (!can(principal, 'tokens:read')) return;
    const q = new URLSearchParams(query);
    q.set('limit', String(PAGE));
    if (cursor) q.set('cursor', cursor);
    let current = true;
    getJson<{ tokens: TokenView[]; cursor: string | null }>('issuance', `/v1/tokens?${q}`)
      .then((r) => {
        // An answer to an earlier query that arrives late must not replace the newer one.
        if (!current) return;
        setTokens(r.tokens);
        setNext(r.cursor);
        setError(null);
      })
      .catch((e: Error) => current && setError(e.message));
    return () => {
      current = false;
    };
  }, [query, cursor, reload, principal]);

  const search = (e: Event): void => {
    e.preventDefault();
    const q = new URLSearchParams();
    if (ownerId) q.set('ownerId', ownerId);
    if (label) q.set('label', label);
    if (status) q.set('status', status);
    if (scope) q.set('scope', scope);
    if (name.trim()) q.set('name', name.trim());
    if (prefix.trim()) q.set('prefix', prefix.trim());
    // A date picks the start of that day, UTC: "expiring before" it.
    if (expiresBefore) q.set('expiresBefore', `${expiresBefore}T00:00:00Z`);
    if (neverUsed) q.set('neverUsed', 'true');
    if (unrotated) q.set('rotated', 'false');
    if (issuedBefore) q.set('issuedBefore', `${issuedBefore}T00:00:00Z`);
    if (sort !== 'issuedAt') q.set('sort', sort);
    setQuery(q.toString());
    setPages([null]);
  };

  return (
    <main>
      <h1>Tokens</h1>
      {issued && <OneTimeSecret issued={issued} onDone={() => setIssued(null)} />}
      {can(principal, 'tokens:issue') ? (
        <IssueForm
          principal={principal}
          onIssued={(t) => {
            setIssued(t);
            setReload((n) => n + 1);
          }}
        />
      ) : (
        <p class="notice">Your token cannot issue tokens (it lacks tokens:issue).</p>
      )}
      {can(principal, 'tokens:revoke') && <BulkRevoke />}
      {!can(principal, 'tokens:read') ? (
        <p class="notice">Your token cannot list tokens (it lacks tokens:read).</p>
      ) : (
        <section aria-labelledby="search-title">
          <h2 id="search-title">Search</h2>
          <form class="row" role="search" onSubmit={search}>
            <label>
              Owner id
              <input
                name="ownerId"
                value={ownerId}
                onInput={(e) => setOwnerId((e.target as HTMLInputElement).value)}
              />
            </label>
            <label>
              Label (key=value)
              <input
                name="label"
                value={label}
                onInput={(e) => setLabel((e.target as HTMLInputElement).value)}
              />
            </label>
            <label>
              Status
              <select
                name="status"
                value={status}
                onChange={(e) => setStatus((e.target as HTMLSelectElement).value)}
              >
                <option value="">any</option>
                <option value="active">active</option>
                <option value="revoked">revoked</option>
                <option value="expired">expired</option>
              </select>
            </label>
            <label>
              Scope
              <select
                name="scope"
                value={scope}
                onChange={(e) => setScope((e.target as HTMLSelectElement).value)}
              >
                <option value="">any</option>
                {['admin', ...KNOWN_SCOPES].map((s) => (
                  <option key={s} value={s}>
                    {s}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Name contains
              <input
                name="name"
                value={name}
                onInput={(e) => setName((e.target as HTMLInputElement).value)}
              />
            </label>
            <label>
              Prefix starts with
              <input
                name="prefix"
                value={prefix}
                onInput={(e) => setPrefix((e.target as HTMLInputElement).value)}
              />
            </label>
            <label>
              Expiring before
              <input
                type="date"
                name="expiresBefore"
                value={expiresBefore}
                onInput={(e) => setExpiresBefore((e.target as HTMLInputElement).value)}
              />
            </label>
            <label>
              <input
                type="checkbox"
                name="neverUsed"
                checked={neverUsed}
                onChange={(e) => setNeverUsed((e.target as HTMLInputElement).checked)}
              />
              Never used
            </label>
            <label>
              <input
                type="checkbox"
                name="unrotated"
                checked={unrotated}
                onChange={(e) => setUnrotated((e.target as HTMLInputElement).checked)}
              />
              Never rotated
            </label>
            <label>
              Issued before
              <input
                type="date"
                name="issuedBefore"
                value={issuedBefore}
                onInput={(e) => setIssuedBefore((e.target as HTMLInputElement).value)}
              />
            </label>
            <label>
              Sort
              <select
                name="sort"
                value={sort}
                onChange={(e) => setSort((e.target as HTMLSelectElement).value)}
              >
                {SORTS.map(([value, text]) => (
                  <option key={value} value={value}>
                    {text}
                  </option>
                ))}
              </select>
            </label>
            <button type="submit">Search</button>
          </form>
          <ErrorBox error={error} />
          <div class="table-wrap">
            <table>
              <caption class="sr-only">Tokens, page {pages.length}</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Prefix</th>
                  <th scope="col">Owner</th>
                  <th scope="col">Scopes</th>
                  <th scope="col">Status</th>
                  <th scope="col">Expires</th>
                </tr>
              </thead>
              <tbody>
                {tokens.map((t) => (
                  <tr key={t.tokenId} data-token-id={t.tokenId}>
                    <td>
                      <a href={`#/tokens/${t.tokenId}`}>{t.name}</a>
                    </td>
                    <td>
                      <code>{t.prefix}</code>
                    </td>
                    <td>
                      {t.owner.type}:{t.owner.id}
                    </td>
                    <td>{t.scopes.join(' ')}</td>
                    <td class={`status-${t.status}`}>{t.status}</td>
                    <td>{t.expiresAt.slice(0, 10)}</td>
                  </tr>
                ))}
                {tokens.length === 0 && (
                  <tr>
                    <td colSpan={6}>No token matches.</td>
                  </tr>
                )}
              </tbody>
            </table>
          </div>
          <div class="row">
            <button
              type="button"
              class="secondary"
              disabled={pages.length === 1}
              onClick={() => setPages(pages.slice(0, -1))}
            >
              Previous page
            </button>
            <button
              type="button"
              class="secondary"
              disabled={!next}
              onClick={() => setPages([...pages, next])}
            >
              Next page
            </button>
          </div>
        </section>
      )}
    </main>
  );
}
