import * as fs from 'node:fs';
import * as path from 'node:path';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { SERVICE_CONFIG } from '@tokenledger/service-host';
import { isWellFormed } from '@tokenledger/token-core';
import { PinoLogger } from 'nestjs-pino';
import type { IssuanceConfig } from '../config';
import { TokensRepository } from '../repositories/tokens.repository';
import { IssuanceService } from './issuance.service';

/** Ten years: the root token is the operator of last resort; rotate it with the API. */
const ROOT_TTL_SECONDS = 10 * 365 * 86400;

/**
 * First start: registers the root operator token (scope `admin`). `TOKENLEDGER_ROOT_TOKEN` when
 * set (it must be well formed); otherwise a generated one, printed once to stdout (not to the
 * log) and written to ROOT_TOKEN_FILE with mode 0600. Later starts do nothing.
 */
@Injectable()
export class RootTokenService implements OnApplicationBootstrap {
  constructor(
    private readonly tokens: TokensRepository,
    private readonly issuance: IssuanceService,
    private readonly logger: PinoLogger,
    @Inject(SERVICE_CONFIG) private readonly config: IssuanceConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (await this.tokens.hasRoot()) return;
    const preset = this.config.TOKENLEDGER_ROOT_TOKEN;
    if (preset !== undefined && !isWellFormed(preset)) {
      throw new Error(
        'TOKENLEDGER_ROOT_TOKEN is not a well-formed Tokenledger token (format or checksum)',
      );
    }
    let issued;
    try {
      issued = await this.issuance.issue(
        {
          owner: { type: 'user', id: 'root' },
          name: 'root',
          scopes: ['admin'],
          ttlSeconds: ROOT_TTL_SECONDS,
        },
        { actor: 'system', scopes: ['admin'] },
        { isRoot: true, ...(preset ? { presetToken: preset } : {}) },
      );
    } catch (error) {
      // Another instance registered it at the same moment (unique index on is_root).
      if (await this.tokens.hasRoot()) return;
      throw error;
    }
    this.logger.info(
      { tokenId: issued.tokenId, prefix: issued.prefix },
      'registered the root operator token',
    );
    if (!preset) {
      const file = path.resolve(this.config.ROOT_TOKEN_FILE);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, `${issued.token}\n`, { mode: 0o600 });
      fs.chmodSync(file, 0o600);
      process.stdout.write(
        `\nTokenledger root operator token (shown once, also in ${file}):\n  ${issued.token}\n\n`,
      );
    }
  }
}
