import {
  parseCosignerVerifierKey,
  parseVerifierKey,
  type CosignatureVerifier,
  type NoteVerifier,
} from '@tokenledger/ledger-core';
import { serviceConfigSchema } from '@tokenledger/service-host';
import { z } from 'zod';

/** A witness the ledger submits its checkpoints to (c2sp.org/tlog-witness). */
export interface WitnessEndpoint {
  /** `<name>+<hex key ID>+<base64(0x04 || key)>`, as the witness prints it at start. */
  readonly verifierKey: string;
  readonly verifier: CosignatureVerifier;
  /** Submission prefix; `add-checkpoint` is appended. */
  readonly url: string;
}

/** A log key that `/v1/ledger/verify` trusts; a retired key only for checkpoints before `retiredAt`. */
export interface TrustedLogKey {
  readonly verifierKey: string;
  readonly verifier: NoteVerifier;
  /** POSIX seconds; absent for the active key(s). */
  readonly retiredAt?: number;
}

/** Entries are separated by commas, spaces or newlines. */
const entries = (value: string): string[] => value.split(/[\s,]+/).filter((e) => e.length > 0);

/** `LEDGER_WITNESSES`: entries `<witness vkey>@<submission URL>`. */
const witnessList = z
  .string()
  .default('')
  .transform((value, ctx): WitnessEndpoint[] => {
    const out: WitnessEndpoint[] = [];
    for (const [i, entry] of entries(value).entries()) {
      const at = entry.indexOf('@');
      const vkey = at < 0 ? entry : entry.slice(0, at);
      const key = parseCosignerVerifierKey(vkey);
      const url = at < 0 ? '' : entry.slice(at + 1);
      if (!key.ok) {
        ctx.addIssue({ code: 'custom', message: `entry ${i + 1}: ${key.error.message}` });
        continue;
      }
      if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
        ctx.addIssue({
          code: 'custom',
          message: `entry ${i + 1} (${key.verifier.name}): must be <witness vkey>@<http(s) URL>`,
        });
        continue;
      }
      if (out.some((w) => w.verifier.name === key.verifier.name))
        ctx.addIssue({ code: 'custom', message: `witness ${key.verifier.name} is listed twice` });
      out.push({ verifierKey: vkey, verifier: key.verifier, url });
    }
    return out;
  });

/** `LEDGER_TRUSTED_KEYS`: entries `<log vkey>` or `<log vkey>;retired=<RFC 3339 time>`. */
const trustedKeyList = z
  .string()
  .default('')
  .transform((value, ctx): TrustedLogKey[] => {
    const out: TrustedLogKey[] = [];
    for (const [i, entry] of entries(value).entries()) {
      const [vkey = '', ...options] = entry.split(';');
      const key = parseVerifierKey(vkey);
      if (!key.ok) {
        ctx.addIssue({ code: 'custom', message: `entry ${i + 1}: ${key.error.message}` });
        continue;
      }
      let retiredAt: number | undefined;
      for (const option of options) {
        const retired = /^retired=(.+)$/.exec(option);
        const ms = retired ? Date.parse(retired[1] ?? '') : NaN;
        if (Number.isNaN(ms)) {
          ctx.addIssue({
            code: 'custom',
            message: `entry ${i + 1}: unknown option "${option}" (only retired=<RFC 3339 time>)`,
          });
          continue;
        }
        retiredAt = Math.floor(ms / 1000);
      }
      out.push({ verifierKey: vkey, verifier: key.verifier, ...(retiredAt ? { retiredAt } : {}) });
    }
    return out;
  });

export const ledgerConfigSchema = serviceConfigSchema(4004, 'ledger')
  .extend({
    /** Checkpoint origins are `<LEDGER_ORIGIN>/<logId>`; also the signing key's name. */
    LEDGER_ORIGIN: z
      .string()
      .regex(/^[a-z0-9.-]+(\/[A-Za-z0-9._-]+)*$/, 'must look like tokenledger.example.com/ledger')
      .default('tokenledger.local/ledger'),
    /** Ed25519 seed (base64, 32 bytes) of the checkpoint signing key. */
    LEDGER_SIGNING_KEY: z.string().optional(),
    /** Or a file holding it; created (mode 0600) when neither is set. */
    LEDGER_SIGNING_KEY_FILE: z.string().default('.tokenledger/ledger-signing-key'),
    /** Checkpoints are signed at most this often per log whose size changed. */
    CHECKPOINT_INTERVAL_MS: z.coerce.number().int().min(50).max(3_600_000).default(1000),
    LEDGER_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6000).max(300_000).default(30_000),
    /**
     * Start with a signing key other than the active one although checkpoints signed under the
     * active key exist: a deliberate rotation (ops.key-rotated). Without it such a start is refused.
     */
    LEDGER_ROTATE_KEY: z.stringbool().default(false),
    /** Witnesses every new checkpoint is submitted to. */
    LEDGER_WITNESSES: witnessList,
    /** Per-request timeout of a submission to a witness (and of a read of its checkpoint). */
    LEDGER_WITNESS_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(2000),
    /** How many of LEDGER_WITNESSES must cosign for a checkpoint to count as witnessed (default: 1 if any). */
    LEDGER_WITNESS_QUORUM: z.coerce.number().int().min(0).optional(),
    /**
     * Log keys that `/v1/ledger/verify` accepts (never rows of `signing_keys`). Default: the
     * ledger's own signing key, active.
     */
    LEDGER_TRUSTED_KEYS: trustedKeyList,
    /**
     * Serve /v1/ledger/tiles/ (C2SP tlog-tiles) without a token, cacheable by shared caches.
     * Default: like every ledger read, an operator token with `ledger:read`.
     */
    LEDGER_TILES_PUBLIC: z.stringbool().default(false),
  })
  .transform((config, ctx) => {
    const witnesses = config.LEDGER_WITNESSES.length;
    const quorum = config.LEDGER_WITNESS_QUORUM ?? Math.min(1, witnesses);
    if (quorum > witnesses)
      ctx.addIssue({
        code: 'custom',
        path: ['LEDGER_WITNESS_QUORUM'],
        message: `is ${quorum} but LEDGER_WITNESSES lists ${witnesses} witness(es)`,
      });
    return { ...config, LEDGER_WITNESS_QUORUM: quorum };
  });

export type LedgerConfig = z.infer<typeof ledgerConfigSchema>;
