import type { BuildEventInput } from '../build';
import { EVENT_TYPES, type EventType } from '../events/registry';
import { uuidv7 } from '../uuidv7';

/** Deterministic UUIDv7 number n (distinct n give distinct, time-ordered ids). */
export function sampleId(n: number): string {
  return uuidv7(1_714_564_800_000 + n, (size) => new Uint8Array(size).fill(n & 0xff));
}

export const TOKEN = sampleId(1);
export const NEW_TOKEN = sampleId(2);
export const OPERATOR = sampleId(3);
export const ANOMALY = sampleId(4);
export const EVIDENCE = [sampleId(5), sampleId(6)];
export const REPLAY = sampleId(7);
const JKT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';

type Sample<T extends EventType> = Omit<BuildEventInput<T>, 'type'>;

/** A valid build input for every event type. */
export const SAMPLES: { [T in EventType]: Sample<T> } = {
  [EVENT_TYPES.tokenIssued]: {
    source: '/tokenledger/issuance',
    actor: `operator:${OPERATOR}`,
    data: {
      tokenId: TOKEN,
      prefix: 'tlk_live_AbC1',
      owner: { type: 'service', id: 'billing' },
      name: 'billing reader',
      scopes: ['invoices:read', 'ledger:read'],
      labels: { env: 'prod', 'team/cost-center': '42' },
      expiresAt: '2024-08-01T00:00:00.000Z',
      issuedAt: '2024-05-01T12:00:00.000Z',
      dpopJkt: JKT,
      policyId: 'default',
    },
  },
  [EVENT_TYPES.tokenRotated]: {
    source: '/tokenledger/issuance',
    actor: `operator:${OPERATOR}`,
    data: {
      tokenId: TOKEN,
      newTokenId: NEW_TOKEN,
      graceSeconds: 3600,
      graceEndsAt: '2024-05-01T13:00:00.000Z',
    },
  },
  [EVENT_TYPES.tokenRevoked]: {
    source: '/tokenledger/revocation',
    actor: 'service:revocation',
    data: {
      tokenId: TOKEN,
      reason: 'leaked',
      revokedAt: '2024-05-01T12:00:01.250Z',
      requestId: 'req-7f3a',
    },
  },
  [EVENT_TYPES.tokenExpired]: {
    source: '/tokenledger/revocation',
    actor: 'system',
    data: { tokenId: TOKEN, expiredAt: '2024-08-01T00:00:00Z' },
  },
  [EVENT_TYPES.tokenIssuanceDenied]: {
    source: '/tokenledger/issuance',
    actor: `operator:${OPERATOR}`,
    data: {
      rule: 'max-ttl',
      requested: {
        owner: { type: 'user', id: 'alice@example.com' },
        scopes: ['admin'],
        ttlSeconds: 31_536_000,
      },
      message: 'ttl 31536000 s exceeds the policy maximum of 7776000 s',
    },
  },
  [EVENT_TYPES.tokenLeakReported]: {
    source: '/tokenledger/revocation',
    actor: 'service:github-secret-scanning',
    data: {
      tokenId: TOKEN,
      prefix: 'tlk_live_AbC1',
      source: 'github-secret-scanning',
      url: 'https://github.com/example/repo/blob/main/.env',
      type: 'tokenledger_live_token',
      outcome: 'revoked',
    },
  },
  [EVENT_TYPES.tokenRotationDue]: {
    source: '/tokenledger/anomaly',
    actor: 'service:anomaly',
    data: {
      tokenId: TOKEN,
      issuedAt: '2024-05-01T12:00:00.000Z',
      revokeAt: '2024-07-30T12:00:00.000Z',
      maxAgeDays: 90,
      rotationReminderDays: 14,
      dueAt: '2024-07-16T12:00:00.000Z',
    },
  },
  [EVENT_TYPES.tokenLimitsChanged]: {
    source: '/tokenledger/revocation',
    actor: `operator:${OPERATOR}`,
    data: {
      tokenId: TOKEN,
      rateLimit: { limit: 100, windowSeconds: 60 },
      credits: { remaining: 5000, refill: { amount: 5000, intervalSeconds: 86_400 } },
      changedAt: '2024-05-01T12:00:00.000Z',
    },
  },
  [EVENT_TYPES.tokenUsed]: {
    source: '/tokenledger/revocation',
    actor: 'service:billing',
    data: {
      tokenId: TOKEN,
      service: 'billing',
      operation: 'GET /v1/invoices',
      ip: '2001:db8::1',
      country: 'FR',
      userAgent: 'billing-worker/1.4',
      scopesRequested: ['invoices:read'],
      outcome: 'rejected',
      rejection: 'insufficient-scope',
      dpopJkt: JKT,
      at: '2024-05-01T12:00:00.123Z',
    },
  },
  [EVENT_TYPES.tokenRevokeRequested]: {
    source: '/tokenledger/anomaly',
    actor: 'service:anomaly',
    data: { tokenId: TOKEN, reason: 'anomaly', requester: 'service:anomaly', anomalyId: ANOMALY },
  },
  [EVENT_TYPES.anomalyDetected]: {
    source: '/tokenledger/anomaly',
    actor: 'service:anomaly',
    data: {
      anomalyId: ANOMALY,
      rule: 'impossible-travel',
      severity: 'high',
      tokenId: TOKEN,
      evidence: EVIDENCE,
      action: 'revoke',
      detectedAt: '2024-05-01T12:00:02.000Z',
      summary: 'used from FR and NZ within 5 minutes',
    },
  },
  [EVENT_TYPES.opsReplayStarted]: {
    source: '/tokenledger/ledger',
    actor: `operator:${OPERATOR}`,
    data: {
      replayId: REPLAY,
      topic: 'tokens.lifecycle',
      partitions: [0, 1],
      fromOffset: '0',
      target: 'projection:token-status',
      reason: 'rebuild after schema fix',
      startedAt: '2024-05-01T12:00:00Z',
    },
  },
  [EVENT_TYPES.opsReplayFinished]: {
    source: '/tokenledger/ledger',
    actor: `operator:${OPERATOR}`,
    data: {
      replayId: REPLAY,
      outcome: 'completed',
      recordsReplayed: 1234,
      finishedAt: '2024-05-01T12:05:00Z',
    },
  },
  [EVENT_TYPES.opsPolicyChanged]: {
    source: '/tokenledger/issuance',
    actor: `operator:${OPERATOR}`,
    data: {
      policyId: 'default',
      version: 3,
      changedFields: ['maxTtlSeconds'],
      policyDigest: 'a'.repeat(64),
      changedAt: '2024-05-01T12:00:00Z',
    },
  },
  [EVENT_TYPES.opsKeyRotated]: {
    source: '/tokenledger/ledger',
    actor: 'system',
    data: {
      keyId: 'checkpoint-2024-05',
      purpose: 'checkpoint-signing',
      previousKeyId: 'checkpoint-2024-04',
      verifierKey:
        'tokenledger.example/ledger+0a1b2c3d+AeXnKs7zvYdxWNMoGlf3I8Ylsq6xM3MhHbyTfwALvWAo',
      rotatedAt: '2024-05-01T00:00:00Z',
    },
  },
  [EVENT_TYPES.opsSigningHalted]: {
    source: '/tokenledger/ledger',
    actor: 'service:ledger',
    data: {
      logId: 'tokens.lifecycle-0',
      severity: 'critical',
      reason: 'smaller-than-published',
      publishedSize: 120,
      headSize: 115,
      source: 'ledger.checkpoints',
      haltedAt: '2024-05-01T00:00:00Z',
    },
  },
  [EVENT_TYPES.opsBreakGlass]: {
    source: '/tokenledger/issuance',
    actor: 'system',
    data: {
      tokenId: TOKEN,
      rootTokenFrom: 'env',
      previousRootIds: [OPERATOR],
      reason: 'no-active-admin',
      at: '2024-05-01T00:00:00Z',
    },
  },
  [EVENT_TYPES.opsWebhookChanged]: {
    source: '/tokenledger/anomaly',
    actor: `operator:${OPERATOR}`,
    data: {
      webhookId: REPLAY,
      change: 'created',
      urlOrigin: 'https://hooks.example.com',
      eventTypes: ['tokenledger.anomaly.detected.v1'],
      format: 'standard',
      changedAt: '2024-05-01T12:00:00Z',
    },
  },
};

export function sampleInput<T extends EventType>(type: T): BuildEventInput<T> {
  return { type, ...SAMPLES[type] };
}

/** Fixed clock and randomness: buildEvent output is then byte-for-byte reproducible. */
export const FIXED = {
  now: () => 1_714_564_800_000,
  random: (n: number) => new Uint8Array(n).fill(0x5a),
};
