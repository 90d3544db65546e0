import { Injectable } from '@nestjs/common';
import {
  TokenAuthenticator,
  operatorActor,
  type AuthenticationResult,
  type Presentation,
} from '@tokenledger/auth';
import { isWellFormed } from '@tokenledger/token-core';
import { IntrospectionService } from './introspection.service';

/**
 * Operator auth inside the status authority itself: straight from its own status projection.
 * A DPoP-bound token MUST be presented as `DPoP` with a proof that passes introspection's own
 * check (same jti store); a token that is not bound MUST be presented as `Bearer`.
 */
@Injectable()
export class LocalAuthenticator extends TokenAuthenticator {
  constructor(private readonly introspection: IntrospectionService) {
    super();
  }

  async authenticate(token: string, presentation?: Presentation): Promise<AuthenticationResult> {
    if (!isWellFormed(token)) return { ok: false, reason: 'malformed' };
    const result = await this.introspection.evaluate(token);
    if (!result.active)
      return { ok: false, reason: result.rejection === 'unknown' ? 'unknown' : 'inactive' };
    const { tokenId, scopes, dpopJkt } = result.status;
    const asDpop = presentation?.scheme === 'DPoP';
    if (dpopJkt) {
      if (!asDpop || !presentation.proof) return { ok: false, reason: 'dpop' };
      const proven = await this.introspection.checkDpop(
        { token, dpop: presentation.proof, htm: presentation.htm, htu: presentation.htu },
        result.status,
      );
      if (!proven.active) return { ok: false, reason: 'dpop' };
    } else if (asDpop) {
      return { ok: false, reason: 'dpop' };
    }
    return { ok: true, principal: { tokenId, scopes, actor: operatorActor(tokenId) } };
  }
}
