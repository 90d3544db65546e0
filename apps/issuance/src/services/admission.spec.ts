import { DomainError } from '@tokenledger/errors';
import { Admission } from './admission';

describe('Admission', () => {
  it('refuses past its limit, as retryable with a Retry-After, and admits again once one ends', async () => {
    const admission = new Admission(2, 3);
    const gates: Array<() => void> = [];
    const held = () =>
      admission.run(() => new Promise<string>((resolve) => gates.push(() => resolve('done'))));
    const first = held();
    const second = held();
    const refused = await admission.run(() => Promise.resolve('third')).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DomainError);
    expect(refused).toMatchObject({
      code: 'overloaded',
      retryable: true,
      context: { retryAfterSeconds: 3 },
    });
    expect(admission.stats).toEqual({ active: 2, refused: 1 });
    gates[0]?.();
    await expect(first).resolves.toBe('done');
    await expect(admission.run(() => Promise.resolve('fourth'))).resolves.toBe('fourth');
    gates[1]?.();
    await expect(second).resolves.toBe('done');
    expect(admission.stats).toEqual({ active: 0, refused: 1 });
  });

  it('frees its slot when the work fails', async () => {
    const admission = new Admission(1);
    await expect(admission.run(() => Promise.reject(new Error('db down')))).rejects.toThrow(
      'db down',
    );
    await expect(admission.run(() => Promise.resolve(1))).resolves.toBe(1);
  });
});
