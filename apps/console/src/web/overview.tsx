import { useEffect, useRef, useState } from 'preact/hooks';
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  Tooltip,
} from 'chart.js';
import {
  can,
  consoleTrust,
  download,
  getJson,
  getText,
  send,
  type Anomaly,
  type LogView,
  type Principal,
  type SprawlRow,
  type TokenView,
} from './api';
import { ErrorBox } from './tokens';
import { parsePinnedKey, verifyCheckpoint, type CheckpointVerdict } from './verify';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);

function Missing({ scope, what }: { scope: string; what: string }) {
  return (
    <p class="notice">
      Your token cannot {what} (it lacks {scope}).
    </p>
  );
}

interface RuleConfig {
  rule: string;
  enabled: boolean;
  severity: Anomaly['severity'];
  action: 'alert' | 'revoke';
  params: Record<string, unknown>;
}

const SEVERITIES: Anomaly['severity'][] = ['low', 'medium', 'high', 'critical'];

/** One rule's settings; saved with PUT /v1/anomaly-rules/{rule} (policies:write). */
function RuleForm({ config, onSaved }: { config: RuleConfig; onSaved: (c: RuleConfig) => void }) {
  const [enabled, setEnabled] = useState(config.enabled);
  const [severity, setSeverity] = useState(config.severity);
  const [action, setAction] = useState(config.action);
  const [params, setParams] = useState(JSON.stringify(config.params));
  const [state, setState] = useState<{ ok: boolean; text: string } | null>(null);
  const save = async (e: Event): Promise<void> => {
    e.preventDefault();
    let parsed: unknown;
    try {
      parsed = JSON.parse(params);
    } catch {
      setState({ ok: false, text: 'Thresholds must be a JSON object.' });
      return;
    }
    try {
      const saved = await send<RuleConfig>(
        'anomaly',
        'PUT',
        `/v1/anomaly-rules/${encodeURIComponent(config.rule)}`,
        { enabled, severity, action, params: parsed },
      );
      setParams(JSON.stringify(saved.params));
      setState({ ok: true, text: 'Saved (recorded in ops.audit).' });
      onSaved(saved);
    } catch (err) {
      setState({ ok: false, text: (err as Error).message });
    }
  };
  const id = `rule-${config.rule}`;
  return (
    <form
      class="row rule"
      aria-labelledby={id}
      data-rule={config.rule}
      onSubmit={(e) => void save(e)}
    >
      <h3 id={id}>{config.rule}</h3>
      <label>
        <input
          type="checkbox"
          checked={enabled}
          onChange={(e) => setEnabled((e.target as HTMLInputElement).checked)}
        />
        Enabled
      </label>
      <label>
        Severity
        <select
          value={severity}
          onChange={(e) =>
            setSeverity((e.target as HTMLSelectElement).value as Anomaly['severity'])
          }
        >
          {SEVERITIES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label>
        Action
        <select
          value={action}
          onChange={(e) => setAction((e.target as HTMLSelectElement).value as 'alert' | 'revoke')}
        >
          <option value="alert">alert</option>
          <option value="revoke">revoke</option>
        </select>
      </label>
      <label>
        Thresholds (JSON)
        <input value={params} onInput={(e) => setParams((e.target as HTMLInputElement).value)} />
      </label>
      <button type="submit" class="secondary">
        Save
      </button>
      {state &&
        (state.ok ? (
          <span role="status">{state.text}</span>
        ) : (
          <span class="error" role="alert">
            {state.text}
          </span>
        ))}
    </form>
  );
}

function RuleSettings() {
  const [rules, setRules] = useState<RuleConfig[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    getJson<{ rules: RuleConfig[] }>('anomaly', '/v1/anomaly-rules')
      .then((r) => setRules(r.rules))
      .catch((e: Error) => setError(e.message));
  }, []);
  return (
    <section class="panel" aria-labelledby="rules-title">
      <h2 id="rules-title">Rule settings</h2>
      <ErrorBox error={error} />
      {rules?.map((r) => (
        <RuleForm
          key={r.rule}
          config={r}
          onSaved={(saved) =>
            setRules((all) => all?.map((x) => (x.rule === saved.rule ? saved : x)) ?? all)
          }
        />
      ))}
    </section>
  );
}

export function AnomaliesPage({ principal }: { principal: Principal }) {
  const [severity, setSeverity] = useState('');
  const [rule, setRule] = useState('');
  const [tokenId, setTokenId] = useState('');
  const [anomalies, setAnomalies] = useState<Anomaly[]>([]);
  const [updated, setUpdated] = useState<string>('');
  const [error, setError] = useState<string | null>(null);
  const allowed = can(principal, 'anomalies:read');
  useEffect(() => {
    if (!allowed) return;
    const q = new URLSearchParams({ limit: '50' });
    if (severity) q.set('severity', severity);
    if (rule) q.set('rule', rule);
    if (/^[0-9a-f-]{36}$/.test(tokenId)) q.set('tokenId', tokenId);
    const load = (): void => {
      getJson<{ anomalies: Anomaly[] }>('anomaly', `/v1/anomalies?${q}`)
        .then((r) => {
          setAnomalies(r.anomalies);
          setUpdated(new Date().toISOString().slice(11, 19));
          setError(null);
        })
        .catch((e: Error) => setError(e.message));
    };
    load();
    const timer = setInterval(load, 5000);
    return () => clearInterval(timer);
  }, [severity, rule, tokenId, allowed]);
  return (
    <main>
      <h1>Anomalies</h1>
      {!allowed ? (
        <Missing scope="anomalies:read" what="read anomalies" />
      ) : (
        <>
          <form class="row" onSubmit={(e) => e.preventDefault()} aria-label="Filter anomalies">
            <label>
              Severity
              <select
                value={severity}
                onChange={(e) => setSeverity((e.target as HTMLSelectElement).value)}
              >
                <option value="">any</option>
                {['low', 'medium', 'high', 'critical'].map((s) => (
                  <option key={s} value={s}>
                    {s}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Rule
              <input value={rule} onChange={(e) => setRule((e.target as HTMLInputElement).value)} />
            </label>
            <label>
              Token id
              <input
                value={tokenId}
                onChange={(e) => setTokenId((e.target as HTMLInputElement).value)}
              />
            </label>
          </form>
          <p role="status">
            Live feed, refreshed every 5 s{updated ? ` (last ${updated} UTC)` : ''}.
          </p>
          <ErrorBox error={error} />
          <div class="table-wrap">
            <table>
              <caption class="sr-only">Anomalies, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Detected</th>
                  <th scope="col">Severity</th>
                  <th scope="col">Rule</th>
                  <th scope="col">Token</th>
                  <th scope="col">Action</th>
                  <th scope="col">Summary</th>
                </tr>
              </thead>
              <tbody>
                {anomalies.map((a) => (
                  <tr key={a.id}>
                    <td>{a.detectedAt}</td>
                    <td>{a.severity}</td>
                    <td>{a.rule}</td>
                    <td>
                      <a href={`#/tokens/${a.tokenId}`}>
                        <code>{a.tokenId.slice(0, 8)}…</code>
                      </a>
                    </td>
                    <td>{a.action}</td>
                    <td>{a.summary}</td>
                  </tr>
                ))}
                {anomalies.length === 0 && (
                  <tr>
                    <td colSpan={6}>No anomaly.</td>
                  </tr>
                )}
              </tbody>
            </table>
          </div>
          {can(principal, 'policies:write') ? (
            <RuleSettings />
          ) : (
            <Missing scope="policies:write" what="change rule settings" />
          )}
        </>
      )}
    </main>
  );
}

function BarChart({
  title,
  labels,
  values,
}: {
  title: string;
  labels: string[];
  values: number[];
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!canvas.current) return;
    const chart = new Chart(canvas.current, {
      type: 'bar',
      data: { labels, datasets: [{ label: title, data: values, backgroundColor: '#0b5cad' }] },
      options: {
        animation: false,
        responsive: true,
        plugins: { legend: { display: false } },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
      },
    });
    return () => chart.destroy();
  }, [title, labels.join('|'), values.join('|')]);
  const id = `chart-${title.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <figure class="chart" aria-labelledby={id}>
      <figcaption id={id}>{title}</figcaption>
      <canvas
        ref={canvas}
        role="img"
        aria-label={`${title}: ${labels.map((l, i) => `${l} ${values[i]}`).join(', ')}`}
      />
    </figure>
  );
}

function countBy<T>(rows: T[], key: (r: T) => string): [string[], number[]] {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(key(r), (counts.get(key(r)) ?? 0) + 1);
  const sorted = [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12);
  return [sorted.map((e) => e[0]), sorted.map((e) => e[1])];
}

const BREADTHS = ['1 scope', '2-3 scopes', '4 or more', 'admin'];
/** Pages of active tokens read for the scope-breadth chart (500 each). */
const BREADTH_PAGES = 20;

/** Active tokens by how many scopes they hold, from issuance's search (tokens:read). */
async function scopeBreadth(): Promise<{ values: number[]; truncated: boolean }> {
  const values = BREADTHS.map(() => 0);
  let cursor: string | null = null;
  for (let page = 0; page < BREADTH_PAGES; page++) {
    const q = new URLSearchParams({ status: 'active', limit: '500' });
    if (cursor) q.set('cursor', cursor);
    const r: { tokens: TokenView[]; cursor: string | null } = await getJson(
      'issuance',
      `/v1/tokens?${q}`,
    );
    for (const t of r.tokens) {
      const n = t.scopes.length;
      const bucket = t.scopes.includes('admin') ? 3 : n <= 1 ? 0 : n <= 3 ? 1 : 2;
      values[bucket] = (values[bucket] ?? 0) + 1;
    }
    cursor = r.cursor;
    if (!cursor) return { values, truncated: false };
  }
  return { values, truncated: true };
}

export function SprawlPage({ principal }: { principal: Principal }) {
  const [rows, setRows] = useState<SprawlRow[] | null>(null);
  const [breadth, setBreadth] = useState<{ values: number[]; truncated: boolean } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const allowed = can(principal, 'anomalies:read');
  useEffect(() => {
    if (allowed)
      getJson<{ tokens: SprawlRow[] }>('anomaly', '/v1/reports/sprawl')
        .then((r) => setRows(r.tokens))
        .catch((e: Error) => setError(e.message));
    if (can(principal, 'tokens:read'))
      scopeBreadth()
        .then(setBreadth)
        .catch((e: Error) => setError(e.message));
  }, [allowed, principal]);
  const ages = ['< 7 days', '7-30 days', '30-90 days', '90-365 days', '> 1 year'];
  const ageOf = (d: number): string =>
    (d < 7 ? ages[0] : d < 30 ? ages[1] : d < 90 ? ages[2] : d < 365 ? ages[3] : ages[4]) ?? '';
  return (
    <main>
      <h1>Sprawl</h1>
      {!allowed && <Missing scope="anomalies:read" what="read the sprawl report" />}
      <ErrorBox error={error} />
      {rows && (
        <>
          <div class="row">
            <p>{rows.length} live tokens.</p>
            <button
              type="button"
              class="secondary"
              onClick={() =>
                void download('anomaly', '/v1/reports/sprawl?format=csv', 'sprawl.csv').catch(
                  (e: Error) => setError(e.message),
                )
              }
            >
              Download CSV
            </button>
          </div>
          <div class="charts">
            <BarChart
              title="Tokens by owner"
              {...(([l, v]) => ({ labels: l, values: v }))(countBy(rows, (r) => r.owner))}
            />
            <BarChart
              title="Tokens by age"
              labels={ages}
              values={ages.map((a) => rows.filter((r) => ageOf(r.ageDays) === a).length)}
            />
            <BarChart
              title="Hygiene"
              labels={['never used', 'unrotated', 'past maximum age', 'stale']}
              values={[
                rows.filter((r) => r.neverUsed).length,
                rows.filter((r) => r.unrotated).length,
                rows.filter((r) => r.pastMaxAge).length,
                rows.filter((r) => r.stale).length,
              ]}
            />
            {breadth && (
              <BarChart
                title={`Scope breadth (active tokens${breadth.truncated ? ', first 10,000' : ''})`}
                labels={BREADTHS}
                values={breadth.values}
              />
            )}
            <BarChart
              title="Due for rotation (expiring)"
              labels={['within 7 days', 'within 30 days', 'later']}
              values={(() => {
                const days = rows.map((r) => (Date.parse(r.expiresAt) - Date.now()) / 86_400_000);
                return [
                  days.filter((d) => d < 7).length,
                  days.filter((d) => d >= 7 && d < 30).length,
                  days.filter((d) => d >= 30).length,
                ];
              })()}
            />
          </div>
        </>
      )}
    </main>
  );
}

interface ReplayStatus {
  replayId: string;
  status: 'running' | 'completed' | 'failed';
  total: number;
  done: number;
  error: string | null;
}

/** Topics the logs come from, without the deployment's prefix (packages/contracts TOPICS). */
const BASE_TOPICS = [
  'tokens.lifecycle',
  'tokens.usage',
  'tokens.commands',
  'anomalies',
  'ops.audit',
];

/**
 * A replay target next to the log's own topic: replays may only write `<prefix>replay.*`
 * (docs/design/kafka-security.md), and the prefix is the log topic's.
 */
function defaultTarget(topic: string): string {
  const base = BASE_TOPICS.find((b) => topic.endsWith(b));
  const prefix = base ? topic.slice(0, topic.length - base.length) : '';
  const stamp = new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '');
  return `${prefix}replay.console-${stamp}`;
}

/** Start a replay (POST /v1/replays, replay:run) and watch its progress. */
function Replays({ logs }: { logs: LogView[] }) {
  const [logId, setLogId] = useState('');
  const [fromIndex, setFromIndex] = useState('0');
  const [toIndex, setToIndex] = useState('');
  const [target, setTarget] = useState('');
  const [replay, setReplay] = useState<ReplayStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const log = logs.find((l) => l.logId === logId);
  const pick = (id: string): void => {
    setLogId(id);
    const picked = logs.find((l) => l.logId === id);
    if (picked) {
      setToIndex(String(picked.size));
      setTarget(defaultTarget(picked.topic));
    }
  };
  useEffect(() => {
    if (!replay || replay.status !== 'running') return;
    const timer = setTimeout(() => {
      getJson<ReplayStatus>('ledger', `/v1/replays/${replay.replayId}`)
        .then(setReplay)
        .catch((e: Error) => setError(e.message));
    }, 1000);
    return () => clearTimeout(timer);
  }, [replay]);
  const start = async (e: Event): Promise<void> => {
    e.preventDefault();
    setError(null);
    try {
      setReplay(
        await send<ReplayStatus>('ledger', 'POST', '/v1/replays', {
          logId,
          fromIndex: Number(fromIndex),
          ...(toIndex ? { toIndex: Number(toIndex) } : {}),
          targetTopic: target.trim(),
        }),
      );
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <section class="panel" aria-labelledby="replay-title">
      <h2 id="replay-title">Replay a log</h2>
      <p>
        Republishes recorded events, their original bytes and signatures, to a target topic. The
        replay is recorded in ops.audit with you as the actor.
      </p>
      <form class="row" onSubmit={(e) => void start(e)}>
        <label>
          Log
          <select
            name="logId"
            value={logId}
            onChange={(e) => pick((e.target as HTMLSelectElement).value)}
          >
            <option value="">choose a log</option>
            {logs
              .filter((l) => l.size > 0)
              .map((l) => (
                <option key={l.logId} value={l.logId}>
                  {l.logId} ({l.size} entries)
                </option>
              ))}
          </select>
        </label>
        <label>
          From index
          <input
            type="number"
            min={0}
            name="fromIndex"
            value={fromIndex}
            onInput={(e) => setFromIndex((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          To index (exclusive)
          <input
            type="number"
            min={1}
            max={log?.size}
            name="toIndex"
            value={toIndex}
            onInput={(e) => setToIndex((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          Target topic
          <input
            name="targetTopic"
            value={target}
            onInput={(e) => setTarget((e.target as HTMLInputElement).value)}
          />
        </label>
        <button type="submit" disabled={!logId || !target.trim()}>
          Start replay
        </button>
      </form>
      <ErrorBox error={error} />
      {replay && (
        <div data-testid="replay" data-status={replay.status}>
          <label>
            Replay {replay.replayId.slice(0, 8)}…: {replay.status}, {replay.done} of {replay.total}
            <progress value={replay.done} max={Math.max(1, replay.total)} />
          </label>
          {replay.error && (
            <p class="error" role="alert">
              {replay.error}
            </p>
          )}
        </div>
      )}
    </section>
  );
}

interface LogState {
  view: LogView;
  checkpoint?: CheckpointVerdict;
}

export function LedgerPage({ principal }: { principal: Principal }) {
  const [logs, setLogs] = useState<LogState[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [verify, setVerify] = useState<string | null>(null);
  const allowed = can(principal, 'ledger:read');
  useEffect(() => {
    if (!allowed) return;
    void (async () => {
      try {
        const trust = await consoleTrust();
        const logKeys = await Promise.all(trust.logKeys.map((k) => parsePinnedKey(k, 0x01)));
        const witnessKeys = await Promise.all(
          trust.witnessKeys.map((k) => parsePinnedKey(k, 0x04)),
        );
        const { logs: views } = await getJson<{ logs: LogView[] }>('ledger', '/v1/ledger/logs');
        const states = await Promise.all(
          views.map(async (view) => {
            if (view.checkpointSize === null) return { view };
            const note = await getText(
              'ledger',
              `/v1/ledger/logs/${encodeURIComponent(view.logId)}/checkpoint`,
            );
            return {
              view,
              checkpoint: await verifyCheckpoint(
                note,
                view.logId,
                logKeys,
                witnessKeys,
                trust.witnessQuorum,
              ),
            };
          }),
        );
        setLogs(states);
      } catch (e) {
        setError((e as Error).message);
      }
    })();
  }, [allowed]);
  const runVerify = async (): Promise<void> => {
    setVerify('Verifying every log on the server…');
    try {
      const answer = await send<{
        ok: boolean;
        logs: {
          logId: string;
          ok: boolean;
          error?: { code: string; index: number; message: string };
        }[];
      }>('ledger', 'POST', '/v1/ledger/verify', {});
      const bad = answer.logs.filter((l) => !l.ok);
      setVerify(
        answer.ok
          ? `The ledger's own audit: all ${answer.logs.length} logs verify.`
          : `The ledger's own audit failed: ${bad.map((l) => `${l.logId} ${l.error?.code ?? ''} at ${l.error?.index ?? '?'}`).join('; ')}`,
      );
    } catch (e) {
      setVerify((e as Error).message);
    }
  };
  const age = (cp?: CheckpointVerdict): string => {
    if (!cp?.ok || cp.cosigners.length === 0) return 'unknown (no verified cosignature time)';
    const newest = Math.max(...cp.cosigners.map((c) => c.time));
    return `${Math.max(0, Math.round(Date.now() / 1000 - newest))} s`;
  };
  return (
    <main>
      <h1>Ledger</h1>
      {!allowed ? (
        <Missing scope="ledger:read" what="read the ledger" />
      ) : (
        <>
          <ErrorBox error={error} />
          <div class="table-wrap">
            <table>
              <caption class="sr-only">Verifiable logs</caption>
              <thead>
                <tr>
                  <th scope="col">Log</th>
                  <th scope="col">Size</th>
                  <th scope="col">Checkpoint size</th>
                  <th scope="col">Checkpoint age</th>
                  <th scope="col">Witnesses</th>
                  <th scope="col">Checked in this browser</th>
                </tr>
              </thead>
              <tbody>
                {logs.map(({ view, checkpoint }) => (
                  <tr key={view.logId}>
                    <td>
                      <code>{view.logId}</code>
                      {view.signingHalted ? ' (signing halted)' : ''}
                    </td>
                    <td>{view.size}</td>
                    <td>{view.checkpointSize ?? 'none'}</td>
                    <td>{age(checkpoint)}</td>
                    <td>
                      {view.witnessed
                        ? `witnessed (${view.cosigners})`
                        : `unwitnessed (${view.cosigners})`}
                    </td>
                    <td>
                      {!checkpoint ? (
                        <span class="badge pending">no checkpoint</span>
                      ) : checkpoint.ok ? (
                        <span class="badge verified" data-badge="verified">
                          ✓ signature and {checkpoint.cosigners.length} cosignatures
                        </span>
                      ) : (
                        <span class="badge failed" data-badge="failed">
                          ✗ {checkpoint.check}: {checkpoint.reason}
                        </span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div class="row">
            <button type="button" onClick={() => void runVerify()}>
              Ask the ledger to verify itself
            </button>
          </div>
          {verify && (
            <p role="status" data-testid="verify-result">
              {verify}
            </p>
          )}
          {can(principal, 'replay:run') ? (
            <Replays logs={logs.map((l) => l.view)} />
          ) : (
            <Missing scope="replay:run" what="start replays" />
          )}
        </>
      )}
    </main>
  );
}
