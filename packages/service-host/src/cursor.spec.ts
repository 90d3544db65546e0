import { decodeCursor, encodeCursor } from './cursor';

describe('page cursors', () => {
  it('round-trips typed parts', () => {
    expect(
      decodeCursor(encodeCursor(['2026-11-27T00:00:00.000Z', 'tokens.usage-1', 42]), [
        'string',
        'string',
        'integer',
      ]),
    ).toEqual(['2026-11-27T00:00:00.000Z', 'tokens.usage-1', 42]);
  });

  it('refuses garbage, wrong lengths and wrong types as bad_cursor', () => {
    for (const bad of [
      '%%%',
      encodeCursor(['a']),
      encodeCursor(['a', 1]),
      encodeCursor(['a', 'b', 1.5]),
      Buffer.from('{"a":1}').toString('base64url'),
    ]) {
      let code: string | undefined;
      try {
        decodeCursor(bad, ['string', 'string']);
      } catch (error) {
        code = (error as { code?: string }).code;
      }
      expect([bad, code]).toEqual([bad, 'bad_cursor']);
    }
  });
});
