import { operatorActor, operatorTokenIdOf } from './authenticator';

describe('operator actors', () => {
  it('gives back the token id that operatorActor put in', () => {
    const tokenId = '0193a0c4-1b2c-7d3e-8f40-123456789abc';
    expect(operatorTokenIdOf(operatorActor(tokenId))).toBe(tokenId);
  });

  it('answers undefined for service actors, an empty id and look-alikes', () => {
    expect(operatorTokenIdOf('service:anomaly')).toBeUndefined();
    expect(operatorTokenIdOf('operator:')).toBeUndefined();
    expect(operatorTokenIdOf('Operator:abc')).toBeUndefined();
    expect(operatorTokenIdOf('xoperator:abc')).toBeUndefined();
  });
});
