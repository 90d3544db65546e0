import { signerEntry, signingKeyFromSeed } from '@tokenledger/contracts';
import { ConfigError } from './config';
import { eventSigningOf } from './event-signing';

const key = signingKeyFromSeed('issuance-1', Buffer.alloc(32, 5));
const seed = key.text.split(':')[1] ?? '';
const signers = JSON.stringify([signerEntry(key, ['token.*'], ['/tokenledger/issuance'])]);

function problems(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('eventSigningOf', () => {
  it('reads the key from the variable or the file, and builds the verifier', () => {
    const fromEnv = eventSigningOf('issuance', {
      EVENT_SIGNING_KEY: key.text,
      EVENT_SIGNERS: signers,
    });
    expect(fromEnv.signingKey?.keyId).toBe('issuance-1');
    expect(fromEnv.verifier?.keyIds).toEqual(['issuance-1']);
    const fromFile = eventSigningOf('issuance', { EVENT_SIGNING_KEY_FILE: '/run/key' }, (path) =>
      path === '/run/key' ? `${key.text}\n` : '',
    );
    expect(fromFile.signingKey?.publicKey.equals(key.publicKey)).toBe(true);
    expect(fromFile.verifier).toBeUndefined();
  });

  it('outside production, nothing set is allowed (unsigned, unchecked)', () => {
    expect(eventSigningOf('ledger', {})).toEqual({});
  });

  it('production requires both; errors name the variable and never print the value', () => {
    expect(problems(() => eventSigningOf('ledger', { NODE_ENV: 'production' }))).toEqual([
      'EVENT_SIGNING_KEY: required with NODE_ENV=production (or EVENT_SIGNING_KEY_FILE)',
      'EVENT_SIGNERS: required with NODE_ENV=production',
    ]);
    const bad = problems(() =>
      eventSigningOf('ledger', {
        EVENT_SIGNING_KEY: `issuance-1:${seed.slice(1)}`,
        EVENT_SIGNERS: `[${signers}`,
      }),
    );
    expect(bad).toHaveLength(2);
    expect(bad[0]).toMatch(/^EVENT_SIGNING_KEY: expected <keyId>:/);
    expect(bad[1]).toBe('EVENT_SIGNERS: must be a JSON list of signers');
    expect(bad.join('\n')).not.toContain(seed.slice(1));
    expect(
      problems(() =>
        eventSigningOf('ledger', { EVENT_SIGNING_KEY_FILE: '/nope' }, () => {
          throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
        }),
      ),
    ).toEqual(['EVENT_SIGNING_KEY_FILE: cannot read the file (ENOENT)']);
  });
});
