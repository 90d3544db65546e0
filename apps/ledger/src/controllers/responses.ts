import { z } from 'zod';

// Answers, for the OpenAPI document (checked against real answers in e2e/src/openapi.e2e-spec.ts).

const base64 = z.base64();
const index = z.int().min(0);

export const keysSchema = z.object({
  keys: z.array(
    z.object({
      name: z.string(),
      verifierKey: z.string().describe('C2SP name+hash+base64'),
      algorithm: z.literal('ed25519'),
      active: z.boolean(),
      retiredAt: z.iso.datetime({ offset: true }).nullable(),
    }),
  ),
});

export const logsSchema = z.object({
  logs: z.array(
    z.object({
      logId: z.string(),
      origin: z.string(),
      topic: z.string(),
      partition: index,
      size: index,
      rootHash: base64,
      checkpointSize: index.nullable(),
      cosigners: index,
      witnessed: z.boolean().describe('the cosigners meet LEDGER_WITNESS_QUORUM'),
      signingHalted: z.boolean(),
    }),
  ),
});

export const entrySchema = z.object({
  logId: z.string(),
  index,
  leaf: base64.describe('the exact leaf bytes (RFC 8785 canonical JSON)'),
  leafHash: base64,
  chainHash: base64,
  record: z
    .record(z.string(), z.unknown())
    .nullable()
    .describe('the parsed leaf; null when the stored bytes are not a leaf'),
});

export const entriesSchema = z.object({ entries: z.array(entrySchema) });

export const eventsSchema = z.object({
  entries: z.array(entrySchema),
  cursor: z.string().nullable(),
});

export const timelineSchema = z.object({
  tokenId: z.uuid(),
  entries: z.array(entrySchema),
  cursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last'),
});

export const inclusionSchema = z.object({
  logId: z.string(),
  index,
  treeSize: index,
  leafHash: base64,
  rootHash: base64,
  hashes: z.array(base64),
});

export const consistencySchema = z.object({
  logId: z.string(),
  from: index,
  to: index,
  hashes: z.array(base64),
});

/** The `/v1/ledger/verify` answer (VerifyAnswer). */
export const verifyAnswerSchema = z.object({
  ok: z.boolean().describe('every log verified'),
  unreachableWitnesses: z
    .array(z.string())
    .describe('witnesses that could not be asked, or answered something invalid, for some log'),
  logs: z.array(
    z.object({
      logId: z.string(),
      ok: z.boolean(),
      size: index.describe('the stored head size'),
      checkpointsChecked: index,
      witnessedSize: index
        .optional()
        .describe('largest checkpoint a configured witness cosigned (verified)'),
      error: z
        .looseObject({
          code: z.enum([
            'missing-leaf',
            'leaf-hash-mismatch',
            'chain-mismatch',
            'bad-hash-length',
            'checkpoint-failed',
            'checkpoint-root-mismatch',
            'truncated',
            'head-root-mismatch',
            'witnessed-root-mismatch',
          ]),
          index: index.describe('first index the stored log cannot vouch for'),
          message: z.string(),
        })
        .optional(),
      witnesses: z.array(
        z.object({
          witness: z.string(),
          status: z.enum(['ok', 'none', 'unreachable', 'invalid']),
          size: index.optional(),
          message: z.string().optional(),
        }),
      ),
    }),
  ),
});

export const replayStatusSchema = z.object({
  replayId: z.uuid(),
  status: z.enum(['running', 'completed', 'failed']),
  total: index,
  done: index,
  request: z.record(z.string(), z.unknown()).describe('the request, as given'),
  requestedBy: z.string(),
  startedAt: z.iso.datetime({ offset: true }),
  finishedAt: z.iso.datetime({ offset: true }).nullable(),
  error: z.string().nullable(),
});
