import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { ConfigError, SERVICE_CONFIG } from '@tokenledger/service-host';
import { TokenHasher } from '@tokenledger/token-core';
import { PinoLogger } from 'nestjs-pino';
import type { IssuanceConfig } from '../config';
import { PepperFingerprintRepository } from '../repositories/pepper-fingerprint.repository';

/** What a start with the wrong pepper says (and exits 1): what happened, and what to do. */
export const PEPPER_MISMATCH =
  'TOKEN_PEPPER: does not match the pepper this database was set up with (its fingerprint is ' +
  'in issuance.pepper_fingerprint). The pepper was changed or lost (a new .tokenledger/secrets.json, ' +
  'or another TOKEN_PEPPER), so no stored token hash would match any token and every token would ' +
  'be refused. Start refused. Restore the original TOKEN_PEPPER (npm start: restore ' +
  '.tokenledger/secrets.json from its backup) and start again.';

/**
 * At every start, before anything is issued or resolved: the fingerprint of TOKEN_PEPPER MUST
 * equal the one stored at the first start, or the start is refused (exit 1 with
 * {@link PEPPER_MISMATCH}). A database that has tokens but no fingerprint yet (made before the
 * fingerprint existed) adopts the current pepper, with a warning: it cannot be checked.
 */
@Injectable()
export class PepperCheckService implements OnModuleInit {
  constructor(
    private readonly fingerprints: PepperFingerprintRepository,
    private readonly logger: PinoLogger,
    @Inject(SERVICE_CONFIG) private readonly config: IssuanceConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    const hasher = new TokenHasher(Buffer.from(this.config.TOKEN_PEPPER, 'base64'));
    const mine = hasher.fingerprint();
    const { stored, inserted, tokensBefore } = await this.fingerprints.recordOnce(mine);
    if (!hasher.equals(stored, mine)) throw new ConfigError('issuance', [PEPPER_MISMATCH]);
    if (inserted && tokensBefore)
      this.logger.warn(
        'recorded the fingerprint of TOKEN_PEPPER for tokens stored before fingerprints existed; ' +
          'whether they were hashed with this pepper cannot be checked',
      );
  }
}
