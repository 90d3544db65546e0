import { Injectable } from '@nestjs/common';
import { TokenAuthenticator, operatorActor, type AuthenticationResult } from '@tokenledger/auth';
import { isWellFormed } from '@tokenledger/token-core';
import { IntrospectionService } from './introspection.service';

/** Operator auth inside the status authority itself: straight from its own status projection. */
@Injectable()
export class LocalAuthenticator extends TokenAuthenticator {
  constructor(private readonly introspection: IntrospectionService) {
    super();
  }

  async authenticate(token: string): Promise<AuthenticationResult> {
    if (!isWellFormed(token)) return { ok: false, reason: 'malformed' };
    const result = await this.introspection.evaluate(token);
    if (!result.active)
      return { ok: false, reason: result.rejection === 'unknown' ? 'unknown' : 'inactive' };
    const { tokenId, scopes } = result.status;
    return { ok: true, principal: { tokenId, scopes, actor: operatorActor(tokenId) } };
  }
}
