import { FixedClock } from '@tokenledger/contracts';
import type { RevocationConfig } from '../config';
import type { TokenStatus } from '../repositories/status.repository';
import type { StatusSource } from './status-source';
import { StatusCache } from './status-cache';

const TOKEN = '019ac1e2-3b4c-7d5e-8f60-123456789abc';

function status(state: TokenStatus['status']): TokenStatus {
  return { tokenId: TOKEN, status: state } as TokenStatus;
}

/** A status source whose reads resolve when the test says so, counting them. */
function controlledRepository() {
  const reads: Array<(s: TokenStatus | undefined) => void> = [];
  const repository = {
    find: () => new Promise<TokenStatus | undefined>((resolve) => reads.push(resolve)),
  } as unknown as StatusSource;
  return { repository, reads };
}

const config = { STATUS_CACHE_MS: 500 } as RevocationConfig;
const clock = new FixedClock('2026-12-01T12:00:00Z');

describe('StatusCache', () => {
  it('serves concurrent misses for one token with one read, then from the cache', async () => {
    const { repository, reads } = controlledRepository();
    const cache = new StatusCache(repository, config, clock);
    const answers = Promise.all(Array.from({ length: 50 }, () => cache.get(TOKEN)));
    expect(reads).toHaveLength(1);
    reads[0]?.(status('active'));
    expect((await answers).every((s) => s?.status === 'active')).toBe(true);
    await expect(cache.get(TOKEN)).resolves.toMatchObject({ status: 'active' });
    expect(reads).toHaveLength(1);
  });

  it('after invalidate, reads again and does not let the older read fill the cache', async () => {
    const { repository, reads } = controlledRepository();
    const cache = new StatusCache(repository, config, clock);
    const before = cache.get(TOKEN);
    cache.invalidate([TOKEN]); // a revocation committed while the first read was in flight
    const after = cache.get(TOKEN);
    expect(reads).toHaveLength(2);
    reads[1]?.(status('revoked'));
    await expect(after).resolves.toMatchObject({ status: 'revoked' });
    reads[0]?.(status('active'));
    await expect(before).resolves.toMatchObject({ status: 'active' });
    await expect(cache.get(TOKEN)).resolves.toMatchObject({ status: 'revoked' });
    expect(reads).toHaveLength(2);
  });

  it('reads again once STATUS_CACHE_MS has passed on its clock', async () => {
    const { repository, reads } = controlledRepository();
    const ticking = new FixedClock('2026-12-01T12:00:00Z');
    const cache = new StatusCache(repository, config, ticking);
    const first = cache.get(TOKEN);
    reads[0]?.(status('active'));
    await first;
    ticking.advance(499);
    await expect(cache.get(TOKEN)).resolves.toMatchObject({ status: 'active' });
    expect(reads).toHaveLength(1);
    ticking.advance(1);
    const stale = cache.get(TOKEN);
    expect(reads).toHaveLength(2);
    reads[1]?.(status('revoked'));
    await expect(stale).resolves.toMatchObject({ status: 'revoked' });
  });

  it('does not cache an unknown token', async () => {
    const { repository, reads } = controlledRepository();
    const cache = new StatusCache(repository, config, clock);
    const first = cache.get(TOKEN);
    reads[0]?.(undefined);
    await expect(first).resolves.toBeUndefined();
    const second = cache.get(TOKEN);
    expect(reads).toHaveLength(2);
    reads[1]?.(status('active'));
    await expect(second).resolves.toMatchObject({ status: 'active' });
  });
});
