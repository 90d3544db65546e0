import { serviceConfigSchema } from '@tokenledger/service-host';
import { z } from 'zod';

export const ledgerConfigSchema = serviceConfigSchema(4004, 'ledger').extend({
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
});

export type LedgerConfig = z.infer<typeof ledgerConfigSchema>;
