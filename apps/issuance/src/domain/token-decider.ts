import type {
  TokenExpiredV1,
  TokenIssuedV1,
  TokenRevokedV1,
  TokenRotatedV1,
  RevocationReason,
} from '@tokenledger/contracts';
import { DomainError } from '@tokenledger/errors';

/** What issuance knows of one token, rebuilt from its lifecycle events by `evolve`. */
export interface TokenState {
  tokenId: string;
  status: 'active' | 'revoked' | 'expired';
  expiresAt: string;
  /** Set once rotated: the replacement, and when this token stops working. */
  rotatedTo?: string;
  graceEndsAt?: string;
}

export type LifecycleEvent =
  | { type: 'tokenledger.token.issued.v1'; data: TokenIssuedV1 }
  | { type: 'tokenledger.token.rotated.v1'; data: TokenRotatedV1 }
  | { type: 'tokenledger.token.revoked.v1'; data: TokenRevokedV1 }
  | { type: 'tokenledger.token.expired.v1'; data: TokenExpiredV1 };

export type TokenCommand =
  | { type: 'issue'; token: TokenIssuedV1 }
  | { type: 'rotate'; newTokenId: string; graceSeconds: number; now: Date }
  | { type: 'revoke'; reason: RevocationReason; now: Date; requestId?: string }
  | { type: 'expire'; now: Date };

/**
 * The token lifecycle rules, pure: which events a command causes in a given state. Throws a
 * DomainError when the command is not allowed; returns [] when it has nothing left to do
 * (revoking a revoked token is idempotent).
 */
export function decide(command: TokenCommand, state: TokenState | undefined): LifecycleEvent[] {
  switch (command.type) {
    case 'issue':
      if (state) throw new DomainError('token_exists', `token ${state.tokenId} already exists`);
      return [{ type: 'tokenledger.token.issued.v1', data: command.token }];
    case 'rotate': {
      const current = requireState(state);
      if (current.status !== 'active') {
        throw new DomainError(
          'token_inactive',
          `token ${current.tokenId} is ${current.status} and cannot be rotated`,
        );
      }
      if (current.rotatedTo) {
        throw new DomainError(
          'token_already_rotated',
          `token ${current.tokenId} was already rotated to ${current.rotatedTo}`,
        );
      }
      const graceEndsAt = new Date(
        Math.min(
          command.now.getTime() + command.graceSeconds * 1000,
          Date.parse(current.expiresAt),
        ),
      );
      return [
        {
          type: 'tokenledger.token.rotated.v1',
          data: {
            tokenId: current.tokenId,
            newTokenId: command.newTokenId,
            graceSeconds: command.graceSeconds,
            graceEndsAt: graceEndsAt.toISOString(),
          },
        },
      ];
    }
    case 'revoke': {
      const current = requireState(state);
      if (current.status !== 'active') return [];
      return [
        {
          type: 'tokenledger.token.revoked.v1',
          data: {
            tokenId: current.tokenId,
            reason: command.reason,
            revokedAt: command.now.toISOString(),
            ...(command.requestId ? { requestId: command.requestId } : {}),
          },
        },
      ];
    }
    case 'expire': {
      const current = requireState(state);
      if (current.status !== 'active' || command.now.getTime() < Date.parse(current.expiresAt))
        return [];
      return [
        {
          type: 'tokenledger.token.expired.v1',
          data: { tokenId: current.tokenId, expiredAt: current.expiresAt },
        },
      ];
    }
  }
}

/** Applies one lifecycle event to the state it belongs to. */
export function evolve(
  state: TokenState | undefined,
  event: LifecycleEvent,
): TokenState | undefined {
  switch (event.type) {
    case 'tokenledger.token.issued.v1':
      return { tokenId: event.data.tokenId, status: 'active', expiresAt: event.data.expiresAt };
    case 'tokenledger.token.rotated.v1':
      return (
        state && { ...state, rotatedTo: event.data.newTokenId, graceEndsAt: event.data.graceEndsAt }
      );
    case 'tokenledger.token.revoked.v1':
      return state && { ...state, status: 'revoked' };
    case 'tokenledger.token.expired.v1':
      return state && (state.status === 'active' ? { ...state, status: 'expired' } : state);
  }
}

function requireState(state: TokenState | undefined): TokenState {
  if (!state) throw new DomainError('token_not_found', 'no such token');
  return state;
}
