import { ACTOR_PATTERN } from './events/common';

export const SYSTEM_ACTOR = 'system';

/** `operator:<tokenId>`: an operator, identified by the token they authenticated with. */
export function operatorActor(tokenId: string): string {
  return checked(`operator:${tokenId}`);
}

/** `service:<name>`. */
export function serviceActor(name: string): string {
  return checked(`service:${name}`);
}

export type ParsedActor =
  { kind: 'operator'; tokenId: string } | { kind: 'service'; name: string } | { kind: 'system' };

/** Splits an actor string; undefined when it is not a valid actor. */
export function parseActor(actor: string): ParsedActor | undefined {
  if (!ACTOR_PATTERN.test(actor)) return undefined;
  if (actor === SYSTEM_ACTOR) return { kind: 'system' };
  const [kind, rest] = [actor.slice(0, actor.indexOf(':')), actor.slice(actor.indexOf(':') + 1)];
  return kind === 'operator'
    ? { kind: 'operator', tokenId: rest }
    : { kind: 'service', name: rest };
}

function checked(actor: string): string {
  if (!ACTOR_PATTERN.test(actor))
    throw new RangeError(`${JSON.stringify(actor)} is not a valid actor`);
  return actor;
}
