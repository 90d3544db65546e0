import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { signerFromSeed, verifierKey, type NoteSigner } from '@tokenledger/ledger-core';
import { SERVICE_CONFIG } from '@tokenledger/service-host';
import type { LedgerConfig } from '../config';
import { LedgerRepository } from '../repositories/ledger.repository';

/**
 * The checkpoint signing key: LEDGER_SIGNING_KEY (base64 Ed25519 seed), else the seed in
 * LEDGER_SIGNING_KEY_FILE, created with mode 0600 when missing. The seed never leaves this
 * process. The verifier key is published (`GET /v1/ledger/keys`); keys used before stay listed.
 */
@Injectable()
export class SigningKeyService implements OnApplicationBootstrap {
  readonly signer: NoteSigner;
  readonly verifierKey: string;

  constructor(
    private readonly repository: LedgerRepository,
    @Inject(SERVICE_CONFIG) config: LedgerConfig,
  ) {
    const seed = SigningKeyService.loadSeed(config);
    const name = config.LEDGER_ORIGIN;
    this.signer = signerFromSeed(name, seed);
    this.verifierKey = verifierKey(name, this.signer.publicKey);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.repository.activateKey(this.signer.name, this.verifierKey);
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
