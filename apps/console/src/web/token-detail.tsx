import { useEffect, useState } from 'preact/hooks';
import {
  can,
  consoleTrust,
  download,
  getJson,
  getText,
  send,
  type IssuedToken,
  type LeafRecord,
  type LedgerEntry,
  type Principal,
  type TokenView,
} from './api';
import { ErrorBox, RevokeForm } from './tokens';
import {
  fromBase64,
  parsePinnedKey,
  verifyCheckpoint,
  verifyEntry,
  type CheckpointVerdict,
  type EntryVerdict,
  type PinnedKey,
} from './verify';

interface Row {
  entry: LedgerEntry;
  /** Parsed from the leaf bytes themselves, not from the server's `record`. */
  record: LeafRecord | null;
  verdict: EntryVerdict | null;
}

let pinned: Promise<{ logKeys: PinnedKey[]; witnessKeys: PinnedKey[]; quorum: number }> | undefined;
function pinnedKeys(): NonNullable<typeof pinned> {
  pinned ??= consoleTrust().then(async (t) => ({
    logKeys: await Promise.all(t.logKeys.map((k) => parsePinnedKey(k, 0x01))),
    witnessKeys: await Promise.all(t.witnessKeys.map((k) => parsePinnedKey(k, 0x04))),
    quorum: t.witnessQuorum,
  }));
  return pinned;
}

function parseRecord(leaf: string): LeafRecord | null {
  try {
    return JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(fromBase64(leaf)),
    ) as LeafRecord;
  } catch {
    return null;
  }
}

/** Verifies every entry in the browser: one checkpoint per log, one inclusion proof per entry. */
async function verifyAll(entries: LedgerEntry[]): Promise<EntryVerdict[]> {
  const keys = await pinnedKeys();
  const checkpoints = new Map<string, CheckpointVerdict | undefined>();
  for (const logId of new Set(entries.map((e) => e.logId))) {
    try {
      const note = await getText(
        'ledger',
        `/v1/ledger/logs/${encodeURIComponent(logId)}/checkpoint`,
      );
      checkpoints.set(
        logId,
        await verifyCheckpoint(note, logId, keys.logKeys, keys.witnessKeys, keys.quorum),
      );
    } catch {
      checkpoints.set(logId, undefined);
    }
  }
  return Promise.all(
    entries.map(async (entry) => {
      const cp = checkpoints.get(entry.logId);
      let proof: string[] | undefined;
      if (cp?.ok && entry.index < cp.body.size) {
        try {
          proof = (
            await getJson<{ hashes: string[] }>(
              'ledger',
              `/v1/ledger/logs/${encodeURIComponent(entry.logId)}/proofs/inclusion?index=${entry.index}&treeSize=${cp.body.size}`,
            )
          ).hashes;
        } catch {
          proof = undefined;
        }
      }
      return verifyEntry(entry, cp, proof);
    }),
  );
}

function Badge({ verdict }: { verdict: EntryVerdict | null }) {
  if (!verdict) return <span class="badge pending">verifying…</span>;
  switch (verdict.state) {
    case 'verified':
      return (
        <span
          class="badge verified"
          data-badge="verified"
          title={`in checkpoint of size ${verdict.checkpointSize}`}
        >
          ✓ verified in browser
          {verdict.cosigners.length > 0 ? ` · witnessed by ${verdict.cosigners.join(', ')}` : ''}
        </span>
      );
    case 'pending':
      return (
        <span class="badge pending" data-badge="pending">
          pending: {verdict.reason}
        </span>
      );
    case 'failed':
      return (
        <span class="badge failed" data-badge="failed" data-check={verdict.check} role="alert">
          ✗ {verdict.check} check failed: {verdict.reason}
        </span>
      );
  }
}

const KIND: Record<string, string> = {
  'tokenledger.token.issued.v1': 'issued',
  'tokenledger.token.used.v1': 'used',
  'tokenledger.token.rotated.v1': 'rotated',
  'tokenledger.token.revoked.v1': 'revoked',
  'tokenledger.token.expired.v1': 'expired',
  'tokenledger.anomaly.detected.v1': 'finding',
  'tokenledger.token.revoke-requested.v1': 'revoke requested',
  'tokenledger.token.leak-reported.v1': 'leak reported',
};

function summary(record: LeafRecord | null): string {
  const data = record?.event?.data ?? {};
  const parts: string[] = [];
  for (const key of ['service', 'operation', 'outcome', 'reason', 'rule', 'severity', 'ip']) {
    const v = data[key];
    if (typeof v === 'string') parts.push(`${key} ${v}`);
  }
  // From the leaf bytes the browser verifies, like the rest of the line.
  if (typeof data.comment === 'string') parts.push(`comment “${data.comment}”`);
  return parts.join(' · ');
}

export function TokenDetailPage({ principal, tokenId }: { principal: Principal; tokenId: string }) {
  const [token, setToken] = useState<TokenView | null>(null);
  const [rows, setRows] = useState<Row[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [timelineError, setTimelineError] = useState<string | null>(null);
  const [rotated, setRotated] = useState<IssuedToken | null>(null);
  const [grace, setGrace] = useState(3600);
  const [reload, setReload] = useState(0);
  /** Completed verification rounds (data-round on the timeline: what tests wait for). */
  const [round, setRound] = useState(0);

  useEffect(() => {
    if (can(principal, 'tokens:read'))
      getJson<TokenView>('issuance', `/v1/tokens/${tokenId}`)
        .then(setToken)
        .catch((e: Error) => setError(e.message));
    if (!can(principal, 'ledger:read')) return;
    let cancelled = false;
    void (async () => {
      try {
        const { entries } = await getJson<{ entries: LedgerEntry[] }>(
          'ledger',
          `/v1/ledger/tokens/${tokenId}/timeline`,
        );
        const base = entries.map((entry) => ({
          entry,
          record: parseRecord(entry.leaf),
          verdict: null,
        }));
        if (!cancelled) setRows(base);
        const verdicts = await verifyAll(entries).catch((e: Error) =>
          entries.map((): EntryVerdict => ({
            state: 'failed',
            check: 'checkpoint-signature',
            reason: e.message,
          })),
        );
        if (!cancelled) {
          setRows(base.map((r, i) => ({ ...r, verdict: verdicts[i] ?? null })));
          setRound((n) => n + 1);
        }
        setTimelineError(null);
      } catch (e) {
        if (!cancelled) setTimelineError((e as Error).message);
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [tokenId, reload, principal]);

  const rotate = async (): Promise<void> => {
    try {
      setRotated(
        await send<IssuedToken>('issuance', 'POST', `/v1/tokens/${tokenId}/rotate`, {
          graceSeconds: grace,
        }),
      );
      setReload((n) => n + 1);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <main>
      <h1>Token {token ? token.name : <code>{tokenId}</code>}</h1>
      <ErrorBox error={error} />
      {token && (
        <section class="panel" aria-labelledby="meta-title">
          <h2 id="meta-title">Metadata</h2>
          <dl class="meta">
            <dt>Token id</dt>
            <dd>
              <code>{token.tokenId}</code>
            </dd>
            <dt>Prefix</dt>
            <dd>
              <code>{token.prefix}</code>
            </dd>
            <dt>Owner</dt>
            <dd>
              {token.owner.type}:{token.owner.id}
            </dd>
            <dt>Scopes</dt>
            <dd>{token.scopes.join(' ')}</dd>
            <dt>Labels</dt>
            <dd>
              {Object.entries(token.labels)
                .map(([k, v]) => `${k}=${v}`)
                .join(', ') || 'none'}
            </dd>
            <dt>Issued</dt>
            <dd>{token.issuedAt}</dd>
            <dt>Expires</dt>
            <dd>{token.expiresAt}</dd>
            <dt>Status</dt>
            <dd class={`status-${token.status}`} data-testid="status">
              {token.status}
              {token.revokedReason ? ` (${token.revokedReason})` : ''}
            </dd>
            {token.rotatedTo && (
              <>
                <dt>Rotated to</dt>
                <dd>
                  <a href={`#/tokens/${token.rotatedTo}`}>{token.rotatedTo}</a>
                </dd>
              </>
            )}
          </dl>
          {token.status === 'active' && (
            <div class="row">
              {can(principal, 'tokens:revoke') && (
                <RevokeForm
                  tokenId={tokenId}
                  onDone={() => setTimeout(() => setReload((n) => n + 1), 500)}
                />
              )}
              {can(principal, 'tokens:issue') && (
                <div class="row">
                  <label>
                    Grace period (seconds)
                    <input
                      type="number"
                      min={0}
                      max={2592000}
                      value={grace}
                      onInput={(e) => setGrace(Number((e.target as HTMLInputElement).value))}
                    />
                  </label>
                  <button type="button" onClick={() => void rotate()}>
                    Rotate
                  </button>
                </div>
              )}
            </div>
          )}
          {rotated && (
            <p class="notice" role="status">
              Replacement issued (shown once): <code>{rotated.token}</code> ·{' '}
              <a href={`#/tokens/${rotated.tokenId}`}>open it</a>
            </p>
          )}
        </section>
      )}
      {!can(principal, 'ledger:read') ? (
        <p class="notice">Your token cannot read the ledger (it lacks ledger:read).</p>
      ) : (
        <section aria-labelledby="timeline-title">
          <h2 id="timeline-title">Ledger timeline</h2>
          <p>
            Each badge is computed in this browser with WebCrypto: the leaf hash from the leaf
            bytes, its inclusion proof to the latest checkpoint, that checkpoint's signature and its
            witness cosignatures under the keys pinned in the console's configuration.
          </p>
          <div class="row">
            <button type="button" class="secondary" onClick={() => setReload((n) => n + 1)}>
              Refresh and verify again
            </button>
            <button
              type="button"
              class="secondary"
              onClick={() =>
                void download(
                  'ledger',
                  `/v1/ledger/tokens/${tokenId}/evidence`,
                  `evidence-${tokenId}.ndjson`,
                ).catch((e: Error) => setTimelineError(e.message))
              }
            >
              Download evidence bundle
            </button>
          </div>
          <ErrorBox error={timelineError} />
          <ol class="timeline" data-testid="timeline" data-round={round}>
            {rows.map(({ entry, record, verdict }) => (
              <li
                key={`${entry.logId}/${entry.index}`}
                class={verdict?.state ?? ''}
                data-type={record?.event?.type ?? 'unknown'}
              >
                <strong>
                  {KIND[record?.event?.type ?? ''] ?? record?.event?.type ?? 'unreadable leaf'}
                </strong>{' '}
                <span>{record?.event?.time ?? ''}</span> <span>{summary(record)}</span>
                <br />
                <span class="mono">
                  {entry.logId} #{entry.index}
                </span>{' '}
                <Badge verdict={verdict} />
              </li>
            ))}
            {rows.length === 0 && <li>No recorded event yet.</li>}
          </ol>
        </section>
      )}
    </main>
  );
}
