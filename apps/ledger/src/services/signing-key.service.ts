import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { EVENT_TYPES } from '@tokenledger/contracts';
import {
  openNote,
  signerFromSeed,
  verifierFromPublicKey,
  verifierKey,
  type NoteSigner,
  type NoteVerifier,
} from '@tokenledger/ledger-core';
import { EventOutbox } from '@tokenledger/messaging-nest';
import { ReadinessChecks, SERVICE_CONFIG } from '@tokenledger/service-host';
import type { Tx } from '@tokenledger/sql';
import { PinoLogger } from 'nestjs-pino';
import type { LedgerConfig } from '../config';
import { SigningKeyRepository } from '../repositories/signing-key.repository';

/** Why the ledger refuses to start with the configured key. Carries public keys only. */
export class SigningKeyChangeRefused extends Error {
  override readonly name = 'SigningKeyChangeRefused';
  readonly code = 'signing_key_change_refused';
  readonly retryable = false;
}

/** `checkpoint-<hex key ID>`: an ops event keyId for a note verifier key (names hold "/"). */
export function keyIdOf(vkey: string): string {
  return `checkpoint-${vkey.split('+')[1] ?? 'unknown'}`;
}

/**
 * The checkpoint signing key: LEDGER_SIGNING_KEY (base64 Ed25519 seed), else the seed in
 * LEDGER_SIGNING_KEY_FILE, created with mode 0600 when missing. The seed never leaves this
 * process. The verifier key is published (`GET /v1/ledger/keys`); keys used before stay listed.
 *
 * Lifecycle, recorded by INSERT only (signing_key_events): at start the configured key MUST be
 * the active one, unless no checkpoint signed by another key exists. Otherwise the start is
 * refused, except with LEDGER_ROTATE_KEY: then, in one transaction, the old key is retired (its
 * retirement time recorded), the new one activated, and `ops.key-rotated` written to the outbox.
 */
@Injectable()
export class SigningKeyService implements OnModuleInit {
  readonly signer: NoteSigner;
  readonly verifier: NoteVerifier;
  readonly verifierKey: string;
  /** The active key when it is not this process's (another instance rotated), else undefined. */
  private supersededBy: string | undefined;

  constructor(
    private readonly keys: SigningKeyRepository,
    private readonly outbox: EventOutbox,
    private readonly logger: PinoLogger,
    readiness: ReadinessChecks,
    @Inject(SERVICE_CONFIG) private readonly config: LedgerConfig,
  ) {
    readiness.register('signingKey', () =>
      this.supersededBy === undefined
        ? { status: 'ok' }
        : {
            status: 'degraded',
            reason: `not signing: the active signing key is ${this.supersededBy}, not this instance's ${this.verifierKey}`,
          },
    );
    const seed = SigningKeyService.loadSeed(config);
    const name = config.LEDGER_ORIGIN;
    this.signer = signerFromSeed(name, seed);
    this.verifier = verifierFromPublicKey(name, this.signer.publicKey);
    this.verifierKey = verifierKey(name, this.signer.publicKey);
  }

  /**
   * Before any onApplicationBootstrap hook: nothing is signed before the key is settled. Under the
   * exclusive key-lifecycle lock, so that instances starting at once record one activation (or
   * one rotation), each deciding on the history as the one before it left it.
   */
  async onModuleInit(): Promise<void> {
    const rotated = await this.keys.transaction(async (m) => {
      await this.keys.lockLifecycle(m, 'exclusive');
      const active = await this.keys.activeKey();
      if (active === this.verifierKey) {
        // A database from before migration 306 has no activation event yet.
        if (!(await this.keys.hasActivation(this.verifierKey)))
          await this.keys.activate(m, this.signer.name, this.verifierKey);
        if (this.config.LEDGER_ROTATE_KEY)
          this.logger.warn('LEDGER_ROTATE_KEY is set but the key is already the active one');
        return false;
      }
      const foreign = (await this.keys.latestNotes()).filter(
        (c) => !openNote(c.note, [this.verifier]).ok,
      );
      if (foreign.length > 0 && !this.config.LEDGER_ROTATE_KEY)
        throw new SigningKeyChangeRefused(
          `the configured signing key ${this.verifierKey} is not the active key ${active ?? '(none recorded)'}, ` +
            `and ${foreign.length} log(s) have checkpoints signed by another key (e.g. ${foreign[0]?.logId} at size ${foreign[0]?.size}). ` +
            'Refusing to start: a changed key would go unnoticed. To rotate deliberately, start once with LEDGER_ROTATE_KEY=1 ' +
            '(docs/design/ledger.md, "Signing-key lifecycle"); otherwise restore the previous key.',
        );
      let retiredAt = new Date();
      if (active !== undefined) retiredAt = await this.keys.retire(m, this.signer.name, active);
      await this.keys.activate(m, this.signer.name, this.verifierKey);
      if (active !== undefined)
        await this.outbox.append(
          m,
          [
            {
              type: EVENT_TYPES.opsKeyRotated,
              data: {
                keyId: keyIdOf(this.verifierKey),
                purpose: 'checkpoint-signing',
                previousKeyId: keyIdOf(active),
                verifierKey: this.verifierKey,
                rotatedAt: retiredAt.toISOString(),
              },
            },
          ],
          { actor: 'service:ledger' },
        );
      if (active !== undefined)
        this.logger.warn(
          { previous: active, current: this.verifierKey, retiredAt: retiredAt.toISOString() },
          `signing key rotated; add the old key to LEDGER_TRUSTED_KEYS as ${active};retired=${retiredAt.toISOString()} ` +
            'and the new key to the witnesses’ log keys',
        );
      return active !== undefined;
    });
    if (rotated) this.outbox.publishSoon();
  }

  /**
   * Whether this process's key is still the active one, to be asked in a signing transaction
   * after `holdForSigning`. With several instances another one may have rotated the key (a rolling
   * restart with a new key): from then on this process signs nothing (a retired key's later
   * checkpoints would not verify), says so in readiness, and must be restarted with the new key.
   */
  async mayStillSign(m: Tx): Promise<boolean> {
    await this.keys.lockLifecycle(m, 'shared');
    const active = await this.keys.activeKey();
    const ok = active === this.verifierKey;
    if (!ok && this.supersededBy !== active)
      this.logger.error(
        { configured: this.verifierKey, active },
        'NOT SIGNING: another instance made another signing key the active one; restart this instance with that key',
      );
    this.supersededBy = ok ? undefined : active;
    return ok;
  }

  private static loadSeed(config: LedgerConfig): Buffer {
    const parse = (text: string, where: string): Buffer => {
      const seed = Buffer.from(text.trim(), 'base64');
      if (seed.length !== 32)
        throw new Error(`${where} must hold a base64 Ed25519 seed of 32 bytes`);
      return seed;
    };
    if (config.LEDGER_SIGNING_KEY) return parse(config.LEDGER_SIGNING_KEY, 'LEDGER_SIGNING_KEY');
    const file = path.resolve(config.LEDGER_SIGNING_KEY_FILE);
    if (!fs.existsSync(file)) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, {
        mode: 0o600,
        flag: 'wx',
      });
    }
    return parse(fs.readFileSync(file, 'utf8'), `LEDGER_SIGNING_KEY_FILE (${file})`);
  }
}
