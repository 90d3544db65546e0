import * as fs from 'node:fs';
import * as path from 'node:path';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { Clock } from '@tokenledger/contracts';
import { CLOCK, SERVICE_CONFIG } from '@tokenledger/service-host';
import { isWellFormed } from '@tokenledger/token-core';
import { PinoLogger } from 'nestjs-pino';
import type { IssuanceConfig } from '../config';
import { planRoot, type RootFacts } from '../domain/root-bootstrap';
import { TokensRepository } from '../repositories/tokens.repository';
import { IssuanceService } from './issuance.service';

/** Ten years: the root token is the operator of last resort; rotate it with the API. */
const ROOT_TTL_SECONDS = 10 * 365 * 86400;

/**
 * Root bootstrap (domain/root-bootstrap.ts decides). First start: registers the root operator
 * token (scope `admin`): `TOKENLEDGER_ROOT_TOKEN` when set (it must be well formed), otherwise a
 * generated one, written to ROOT_TOKEN_FILE with mode 0600 and, unless ROOT_TOKEN_STDOUT=off,
 * printed once to stdout (never to the log). Later starts: when no admin token is active any more (every one revoked or
 * expired) and a root token is configured (env, else the file), break-glass: a new root is
 * registered together with an `ops.break-glass` event in one statement.
 */
@Injectable()
export class RootTokenService implements OnApplicationBootstrap {
  constructor(
    private readonly tokens: TokensRepository,
    private readonly issuance: IssuanceService,
    private readonly logger: PinoLogger,
    @Inject(SERVICE_CONFIG) private readonly config: IssuanceConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const preset = this.config.TOKENLEDGER_ROOT_TOKEN;
    if (preset !== undefined && !isWellFormed(preset)) {
      throw new Error(
        'TOKENLEDGER_ROOT_TOKEN is not a well-formed Tokenledger token (format or checksum)',
      );
    }
    const configured =
      preset !== undefined ? { from: 'env' as const, token: preset } : this.fromFile();
    const rootIds = await this.tokens.rootIds();
    const facts: RootFacts = {
      rootsEver: rootIds.length,
      activeAdmin:
        rootIds.length > 0 && (await this.tokens.hasActiveAdmin(new Date(this.clock.now()))),
      configured: configured && {
        from: configured.from,
        alreadyRegistered: (await this.issuance.resolve(configured.token)) !== undefined,
      },
    };
    const plan = planRoot(facts);
    switch (plan.kind) {
      case 'nothing':
        return;
      case 'locked-out':
        this.logger.error(
          'no admin token is active and no root token is configured (TOKENLEDGER_ROOT_TOKEN or ROOT_TOKEN_FILE): set one and restart issuance to break the glass',
        );
        return;
      case 'first-root':
      case 'break-glass': {
        const token = plan.use === 'generated' ? undefined : configured?.token;
        const breakGlass = plan.kind === 'break-glass';
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
            {
              isRoot: true,
              ...(token ? { presetToken: token } : {}),
              ...(breakGlass
                ? {
                    alsoRecord: (tokenId: string) => [
                      {
                        type: 'tokenledger.ops.break-glass.v1' as const,
                        data: {
                          tokenId,
                          rootTokenFrom: plan.use,
                          previousRootIds: rootIds.slice(-100),
                          reason: 'no-active-admin' as const,
                          at: new Date(this.clock.now()).toISOString(),
                        },
                      },
                    ],
                  }
                : {}),
            },
          );
        } catch (error) {
          // Another instance registered it at the same moment (unique index on the active root).
          if ((await this.tokens.rootIds()).length > rootIds.length) return;
          throw error;
        }
        if (breakGlass) {
          this.logger.warn(
            { tokenId: issued.tokenId, prefix: issued.prefix, rootTokenFrom: plan.use },
            'break-glass: no admin token was active; registered a new root operator token (recorded in ops.audit)',
          );
        } else {
          this.logger.info(
            { tokenId: issued.tokenId, prefix: issued.prefix },
            'registered the root operator token',
          );
        }
        if (plan.use === 'generated') this.writeGenerated(issued.token);
      }
    }
  }

  /** The root token in ROOT_TOKEN_FILE, when the file exists and holds a well-formed token. */
  private fromFile(): { from: 'file'; token: string } | undefined {
    const file = path.resolve(this.config.ROOT_TOKEN_FILE);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8').trim();
    } catch {
      return undefined;
    }
    if (!isWellFormed(text)) {
      this.logger.warn({ file }, 'ROOT_TOKEN_FILE does not hold a well-formed token; ignored');
      return undefined;
    }
    return { from: 'file', token: text };
  }

  private writeGenerated(token: string): void {
    const file = path.resolve(this.config.ROOT_TOKEN_FILE);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${token}\n`, { mode: 0o600 });
    fs.chmodSync(file, 0o600);
    if (this.config.ROOT_TOKEN_STDOUT === 'off') {
      this.logger.info({ file }, 'the root operator token was written to ROOT_TOKEN_FILE (0600)');
      return;
    }
    process.stdout.write(
      `\nTokenledger root operator token (shown once, also in ${file}):\n  ${token}\n\n`,
    );
  }
}
