import { createHash } from 'node:crypto';
import type { TokenUsedV1 } from '@tokenledger/contracts';
import type { RuleName, RuleSet, Severity } from './rules';

/** What the detector remembers of one token. Plain JSON (stored as jsonb). */
export interface DetectorState {
  tokenId: string;
  issuedAt?: string;
  expiresAt?: string;
  revokedAt?: string;
  dpopJkt?: string;
  uses: number;
  lastUseAt?: string;
  networks: string[];
  lastCountry?: { country: string; at: string; eventId: string };
  probes: Array<{ at: string; eventId: string }>;
  rate?: {
    first: number;
    counts: Record<string, number>;
    ids: Record<string, string[]>;
    fired: number[];
  };
  /** Once-per-token findings already raised (rule or rule:key). */
  fired: string[];
  /**
   * The latest uses, so that a lifecycle fact learned after a use (topics interleave differently
   * on every replay) still judges it: the finding is the same whichever arrives first.
   */
  recent?: Array<{ id: string; at: string; dpopJkt?: string; introspected?: true }>;
}

export type DetectorEvent =
  | {
      kind: 'used';
      id: string;
      data: TokenUsedV1 & { tokenId: string };
      /**
       * Reported by introspection (the revocation app), the only place that checks DPoP proofs.
       * Only such uses are DPoP facts: a usage report's `dpopJkt` (or its absence) MUST NOT
       * fire `dpop-mismatch`, else any `usage:report` holder could get a bound token revoked.
       */
      introspected?: boolean;
    }
  | {
      kind: 'issued';
      id: string;
      tokenId: string;
      issuedAt: string;
      expiresAt: string;
      dpopJkt?: string;
    }
  | { kind: 'revoked'; id: string; tokenId: string; revokedAt: string }
  | { kind: 'expired'; id: string; tokenId: string; expiredAt: string }
  | { kind: 'leaked'; id: string; tokenId: string; at: string };

export interface Finding {
  anomalyId: string;
  rule: RuleName;
  severity: Severity;
  action: 'alert' | 'revoke';
  tokenId: string;
  evidence: string[];
  /** Event time of the last piece of evidence: findings do not depend on when they are computed. */
  detectedAt: string;
  summary: string;
}

const MAX_NETWORKS = 200;
const MAX_RECENT = 100;
const MAX_EVIDENCE = 50;

export function emptyState(tokenId: string): DetectorState {
  return { tokenId, uses: 0, networks: [], probes: [], fired: [] };
}

/**
 * A deterministic UUIDv7 for a finding: its 48-bit time is the finding's event time and its other
 * bits come from SHA-256(rule | evidence ids). The same evidence always gives the same id, so
 * processing a stream twice raises the same findings and no duplicate actions.
 */
export function anomalyIdOf(rule: string, evidence: readonly string[], atMs: number): string {
  const bytes = createHash('sha256')
    .update(`${rule}|${evidence.join(',')}`)
    .digest()
    .subarray(0, 16);
  bytes.writeUIntBE(Math.max(0, Math.min(atMs, 2 ** 48 - 1)), 0, 6);
  bytes[6] = 0x70 | ((bytes[6] as number) & 0x0f);
  bytes[8] = 0x80 | ((bytes[8] as number) & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The network a use came from: /24 for IPv4, /48 for IPv6. */
export function networkOf(ip: string): string {
  if (ip.includes(':')) {
    const [head = '', tail] = ip.split('::');
    const left = head ? head.split(':') : [];
    const right = tail !== undefined && tail !== '' ? tail.split(':') : [];
    const groups =
      tail === undefined
        ? left
        : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
    return `${groups
      .slice(0, 3)
      .map((g) => (g || '0').toLowerCase().replace(/^0+(?=.)/, ''))
      .join(':')}::/48`;
  }
  return `${ip.split('.').slice(0, 3).join('.')}.0/24`;
}

export interface Detection {
  findings: Finding[];
  /**
   * The event is a use older than the token's newest use by more than the look-back of the
   * windowed rules (see `windowMsOf`): only the lifecycle rules judged it, it left no trace in the
   * rate, probing or travel state. Counted by the caller.
   */
  outsideWindow: boolean;
}

/**
 * How far before a token's newest use a use still counts for the windowed rules: the longest
 * look-back among rate-spike (`historyBuckets` buckets), scope-probing and impossible-travel.
 */
export function windowMsOf(rules: RuleSet): number {
  const rate = rules['rate-spike'].params;
  return Math.max(
    rate.historyBuckets * rate.bucketSeconds * 1000,
    rules['scope-probing'].params.windowSeconds * 1000,
    rules['impossible-travel'].params.minutes * 60_000,
  );
}

/**
 * Applies one event to a token's state and returns the findings it raises. Pure and
 * deterministic: rules look at event time (`at`, `revokedAt`, ...), never at the wall clock.
 */
export function detect(
  state: DetectorState,
  event: DetectorEvent,
  rules: RuleSet,
): { state: DetectorState } & Detection {
  const s: DetectorState = structuredClone(state);
  return { state: s, ...detectInPlace(s, event, rules) };
}

/**
 * `detect` on a state the caller owns, changed in place: the same result without copying the
 * state for every event (a batch applies thousands of events to one token's state).
 *
 * The state is bounded whatever the order of the events (a flood sent newest-first included): at
 * most MAX_RECENT recent uses, MAX_NETWORKS networks (and their once-keys), `threshold` probes,
 * and for the rate 2 x `historyBuckets` + 1 bucket counts, evidence ids for the newest
 * `historyBuckets` + 1 buckets only, MAX_EVIDENCE ids each.
 */
export function detectInPlace(s: DetectorState, event: DetectorEvent, rules: RuleSet): Detection {
  const findings: Finding[] = [];
  let outsideWindow = false;
  const raise = (
    rule: RuleName,
    evidence: string[],
    at: string,
    summary: string,
    onceKey?: string,
  ): void => {
    const config = rules[rule];
    if (!config.enabled) return;
    if (onceKey !== undefined) {
      if (s.fired.includes(onceKey)) return;
      s.fired.push(onceKey);
    }
    const ids = evidence.slice(-MAX_EVIDENCE);
    findings.push({
      anomalyId: anomalyIdOf(rule, ids, Date.parse(at)),
      rule,
      severity: config.severity,
      action: config.action,
      tokenId: s.tokenId,
      evidence: ids,
      detectedAt: at,
      summary,
    });
  };

  switch (event.kind) {
    case 'issued':
      s.issuedAt = event.issuedAt;
      s.expiresAt = event.expiresAt;
      if (event.dpopJkt) s.dpopJkt = event.dpopJkt;
      judgeRecent(s, raise);
      break;
    case 'revoked':
      if (!s.revokedAt || event.revokedAt < s.revokedAt) s.revokedAt = event.revokedAt;
      judgeRecent(s, raise);
      break;
    case 'expired':
      if (!s.expiresAt || event.expiredAt < s.expiresAt) s.expiresAt = event.expiredAt;
      judgeRecent(s, raise);
      break;
    case 'leaked':
      raise('leaked', [event.id], event.at, 'a leak of this token was reported', 'leaked');
      break;
    case 'used':
      outsideWindow = !onUse(s, event.id, event.data, event.introspected === true, rules, raise);
      break;
  }
  return { findings, outsideWindow };
}

type Raise = (
  rule: RuleName,
  evidence: string[],
  at: string,
  summary: string,
  onceKey?: string,
) => void;

/** Lifecycle-dependent rules over uses seen before the lifecycle event (earliest use first). */
function judgeRecent(s: DetectorState, raise: Raise): void {
  const uses = [...(s.recent ?? [])].sort((a, b) =>
    a.at < b.at ? -1 : a.at > b.at ? 1 : a.id < b.id ? -1 : 1,
  );
  const afterRevocation = s.revokedAt
    ? uses.find((u) => u.at > (s.revokedAt as string))
    : undefined;
  if (afterRevocation)
    raise(
      'revoked-token-use',
      [afterRevocation.id],
      afterRevocation.at,
      `used at ${afterRevocation.at} after its revocation at ${s.revokedAt ?? ''}`,
      'revoked-token-use',
    );
  const afterExpiry = s.expiresAt ? uses.find((u) => u.at >= (s.expiresAt as string)) : undefined;
  if (afterExpiry)
    raise(
      'expired-token-use',
      [afterExpiry.id],
      afterExpiry.at,
      `used at ${afterExpiry.at} after its expiry at ${s.expiresAt ?? ''}`,
      'expired-token-use',
    );
  const wrongKey = s.dpopJkt
    ? uses.find((u) => u.introspected && u.dpopJkt !== s.dpopJkt)
    : undefined;
  if (wrongKey)
    raise(
      'dpop-mismatch',
      [wrongKey.id],
      wrongKey.at,
      wrongKey.dpopJkt
        ? `DPoP proof by key ${wrongKey.dpopJkt}, bound to ${s.dpopJkt ?? '?'}`
        : 'bound token used without a valid DPoP proof',
      'dpop-mismatch',
    );
}

/** Applies a use; false when it is outside the window (only the lifecycle rules judged it). */
function onUse(
  s: DetectorState,
  id: string,
  u: TokenUsedV1,
  introspected: boolean,
  rules: RuleSet,
  raise: Raise,
): boolean {
  const at = u.at;
  const t = Date.parse(at);

  // Lifecycle-dependent rules judge uses against lifecycle facts only (revocation time, expiry,
  // DPoP binding), never against a rejection reason alone: facts may arrive before or after the
  // use (two topics), and judgeRecent() then picks the same earliest use either way.
  const recent = (s.recent ??= []);
  recent.push({
    id,
    at,
    ...(introspected && u.dpopJkt ? { dpopJkt: u.dpopJkt } : {}),
    ...(introspected ? { introspected: true as const } : {}),
  });
  if (recent.length > MAX_RECENT) recent.splice(0, recent.length - MAX_RECENT);
  judgeRecent(s, raise);

  // A use from before the window of the token's newest use (a late or reversed-time flood):
  // counted, judged above, and nothing else. Keeping it would grow the state with every older
  // bucket and make each later event pay for it.
  if (s.lastUseAt && t < Date.parse(s.lastUseAt) - windowMsOf(rules)) {
    s.uses += 1;
    return false;
  }

  if (u.rejection === 'insufficient-scope') {
    const window = rules['scope-probing'].params.windowSeconds * 1000;
    s.probes = [...s.probes.filter((p) => t - Date.parse(p.at) < window), { at, eventId: id }];
    if (s.probes.length >= rules['scope-probing'].params.threshold) {
      raise(
        'scope-probing',
        s.probes.map((p) => p.eventId),
        at,
        `${s.probes.length} uses refused for insufficient scope within ${window / 1000} s`,
      );
      s.probes = [];
    }
  }

  if (
    s.lastUseAt &&
    t - Date.parse(s.lastUseAt) >= rules['dormant-reactivation'].params.days * 86_400_000
  ) {
    raise('dormant-reactivation', [id], at, `first use since ${s.lastUseAt}`);
  }

  if (
    u.country &&
    s.lastCountry &&
    s.lastCountry.country !== u.country &&
    t - Date.parse(s.lastCountry.at) <= rules['impossible-travel'].params.minutes * 60_000 &&
    t >= Date.parse(s.lastCountry.at)
  ) {
    const pair = [s.lastCountry.country, u.country].sort().join('-');
    raise(
      'impossible-travel',
      [s.lastCountry.eventId, id],
      at,
      `used from ${s.lastCountry.country} at ${s.lastCountry.at} and from ${u.country} at ${at}`,
      `impossible-travel:${pair}`,
    );
  }

  const network = networkOf(u.ip);
  if (!s.networks.includes(network)) {
    if (s.uses >= rules['new-network'].params.warmupUses) {
      raise(
        'new-network',
        [id],
        at,
        `first use from ${network} after ${s.uses} uses`,
        `new-network:${network}`,
      );
    }
    s.networks.push(network);
    if (s.networks.length > MAX_NETWORKS) {
      s.networks.splice(0, s.networks.length - MAX_NETWORKS);
      // The once-keys of networks no longer remembered go with them (else `fired` would grow).
      const kept = new Set(s.networks);
      s.fired = s.fired.filter(
        (k) => !k.startsWith('new-network:') || kept.has(k.slice('new-network:'.length)),
      );
    }
  }

  rateSpike(s, id, t, at, rules, raise);

  s.uses += 1;
  if (!s.lastUseAt || at > s.lastUseAt) s.lastUseAt = at;
  if (u.country && (!s.lastCountry || at >= s.lastCountry.at))
    s.lastCountry = { country: u.country, at, eventId: id };
  return true;
}

/**
 * Per-bucket use counts (event-time buckets) against an EWMA baseline with deviation, computed
 * over the buckets before the use's own bucket. Counts are kept per bucket, so a late use lands
 * in its own bucket instead of being lost; results depend only on the events, in order.
 */
function rateSpike(
  s: DetectorState,
  id: string,
  t: number,
  at: string,
  rules: RuleSet,
  raise: Raise,
): void {
  const p = rules['rate-spike'].params;
  const bucket = Math.floor(t / (p.bucketSeconds * 1000));
  const r = (s.rate ??= { first: bucket, counts: {}, ids: {}, fired: [] });
  r.first = Math.min(r.first, bucket);
  const key = String(bucket);
  const created = r.counts[key] === undefined;
  r.counts[key] = (r.counts[key] ?? 0) + 1;
  const ids = (r.ids[key] ??= []);
  ids.push(id);
  if (ids.length > MAX_EVIDENCE) ids.splice(0, ids.length - MAX_EVIDENCE);
  // Keep what the baseline can still look at, relative to the newest bucket (not this use's: a
  // late use must not keep older buckets alive): counts of 2 x historyBuckets buckets (a late
  // bucket's own baseline), evidence of the newest historyBuckets (where a use can still land).
  const newest = Math.max(
    bucket,
    s.lastUseAt ? Math.floor(Date.parse(s.lastUseAt) / (p.bucketSeconds * 1000)) : bucket,
  );
  const oldest = newest - p.historyBuckets;
  // The newest bucket only moves when a use opens a bucket: prune then, not on every use.
  if (created) {
    for (const k of Object.keys(r.counts)) {
      const b = Number(k);
      if (b < oldest - p.historyBuckets) delete r.counts[k];
      if (b < oldest) delete r.ids[k];
    }
    if (r.fired.length > 0) r.fired = r.fired.filter((b) => b >= oldest - p.historyBuckets);
  }

  const from = Math.max(r.first, bucket - p.historyBuckets);
  if (bucket - from < p.minBuckets) return;
  let mean = 0;
  let variance = 0;
  for (let b = from; b < bucket; b += 1) {
    const x = r.counts[String(b)] ?? 0;
    if (b === from) {
      mean = x;
      continue;
    }
    const diff = x - mean;
    mean += p.alpha * diff;
    variance = (1 - p.alpha) * (variance + p.alpha * diff * diff);
  }
  const count = r.counts[key] ?? 0;
  const limit = mean + p.deviations * Math.sqrt(variance);
  if (!r.fired.includes(bucket) && count >= p.floor && count > limit) {
    r.fired.push(bucket);
    raise(
      'rate-spike',
      r.ids[key] ?? [id],
      at,
      `${count} uses in ${p.bucketSeconds} s against a baseline of ${mean.toFixed(1)} (limit ${limit.toFixed(1)})`,
    );
  }
}
