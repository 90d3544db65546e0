import {
  emptyRoot,
  formatCheckpoint,
  parseVerifierKey,
  signNote,
  signerFromSeed,
} from '@tokenledger/ledger-core';
import {
  REJECT_STATUS,
  decideAddCheckpoint,
  type Decision,
  type LogConfig,
  type LogState,
} from './decide';
import { parseAddCheckpointBody, type AddCheckpointRequest } from './request';
import { TestLog } from './test-support/log';

const ORIGIN = 'example.test/log';
const log = new TestLog(ORIGIN, 40);
const fork = new TestLog(ORIGIN, 40, { fork: 10 });
const parsedKey = parseVerifierKey(log.verifierKey);
if (!parsedKey.ok) throw new Error(parsedKey.error.message);
const config: LogConfig = { origin: ORIGIN, verifiers: [parsedKey.verifier] };

const request = (body: string): AddCheckpointRequest => {
  const r = parseAddCheckpointBody(Buffer.from(body, 'utf8'));
  if (!r.ok) throw new Error(r.error.message);
  return r.request;
};
const stateAt = (size: number, l: TestLog = log): LogState => ({
  origin: ORIGIN,
  size,
  rootHash: l.root(size),
  note: l.note(size),
});
const outcome = (d: Decision): string =>
  d.kind === 'cosign' ? 'cosign' : `${REJECT_STATUS[d.code]} ${d.code}`;

describe('decideAddCheckpoint: cosigning', () => {
  it('given nothing cosigned, when old 0 -> 7, then it cosigns and records 7', () => {
    const d = decideAddCheckpoint(request(log.request(0, 7)), config, undefined);
    expect(d).toMatchObject({ kind: 'cosign', body: log.body(7), next: { size: 7 } });
    expect(d.kind === 'cosign' && d.next?.rootHash.equals(log.root(7))).toBe(true);
  });

  it('given 7 cosigned, when 7 -> 33 with a real proof, then it cosigns and records 33', () => {
    const d = decideAddCheckpoint(request(log.request(7, 33)), config, stateAt(7));
    expect(d).toMatchObject({ kind: 'cosign', next: { size: 33, note: log.note(33) } });
  });

  it('given 7 cosigned, when the same checkpoint again, then it cosigns and records nothing new', () => {
    const d = decideAddCheckpoint(request(log.request(7, 7)), config, stateAt(7));
    expect(d).toMatchObject({ kind: 'cosign', next: undefined });
  });

  it('given nothing cosigned, when the empty tree, then it cosigns size 0', () => {
    expect(outcome(decideAddCheckpoint(request(log.request(0, 0)), config, undefined))).toBe(
      'cosign',
    );
  });

  it('cosigns the whole body, extension lines included', () => {
    const body = formatCheckpoint({
      origin: ORIGIN,
      size: 3,
      rootHash: log.root(3),
      extensions: ['ext line'],
    });
    const d = decideAddCheckpoint(
      { oldSize: 0, proof: [], note: signNote(body, log.signer) },
      config,
      undefined,
    );
    expect(d).toMatchObject({ kind: 'cosign', body });
    expect(body.endsWith('\next line\n')).toBe(true);
  });

  it('ignores signatures by unknown keys next to a valid one', () => {
    const stranger = signerFromSeed('stranger.test', Buffer.alloc(32, 5));
    const note = signNote(log.body(3), stranger, log.signer);
    const d = decideAddCheckpoint({ oldSize: 0, proof: [], note }, config, undefined);
    expect(outcome(d)).toBe('cosign');
  });
});

describe('decideAddCheckpoint: refusals, with the status the spec assigns', () => {
  it('409 with the current size when old is not the last cosigned size', () => {
    const d = decideAddCheckpoint(request(log.request(0, 20)), config, stateAt(7));
    expect(d).toMatchObject({ kind: 'reject', code: 'old-size-mismatch', currentSize: 7 });
    expect(outcome(decideAddCheckpoint(request(log.request(5, 20)), config, undefined))).toBe(
      '409 old-size-mismatch',
    );
  });

  it('400 when old exceeds the checkpoint size (a smaller tree than recorded)', () => {
    const body = `old 20\n\n${log.note(7)}`;
    expect(outcome(decideAddCheckpoint(request(body), config, stateAt(20)))).toBe(
      '400 old-size-too-large',
    );
  });

  it('422 for a proof that does not verify, or a proof from a fork', () => {
    const good = log.proof(7, 33);
    const bad = good.map((h, i) => (i === 0 ? Buffer.alloc(32, 1) : h));
    const d = decideAddCheckpoint(
      { oldSize: 7, proof: bad, note: log.note(33) },
      config,
      stateAt(7),
    );
    expect(outcome(d)).toBe('422 bad-consistency-proof');
    // The same log key signing another history: the fork's own proof does not lead from our 12.
    const forked = decideAddCheckpoint(request(fork.request(12, 30)), config, stateAt(12));
    expect(outcome(forked)).toBe('422 bad-consistency-proof');
    const short = decideAddCheckpoint(
      { oldSize: 7, proof: good.slice(1), note: log.note(33) },
      config,
      stateAt(7),
    );
    expect(outcome(short)).toBe('422 bad-consistency-proof');
  });

  it('422 for a non-empty proof from old 0', () => {
    const d = decideAddCheckpoint(
      { oldSize: 0, proof: [Buffer.alloc(32)], note: log.note(5) },
      config,
      undefined,
    );
    expect(outcome(d)).toBe('422 bad-consistency-proof');
  });

  it('422 for the same size with another root', () => {
    expect(outcome(decideAddCheckpoint(request(fork.request(12, 12)), config, stateAt(12)))).toBe(
      '422 bad-consistency-proof',
    );
  });

  it('422 for size 0 with a root that is not the empty tree', () => {
    const body = formatCheckpoint({ origin: ORIGIN, size: 0, rootHash: Buffer.alloc(32, 1) });
    const d = decideAddCheckpoint(
      { oldSize: 0, proof: [], note: signNote(body, log.signer) },
      config,
      undefined,
    );
    expect(outcome(d)).toBe('422 bad-empty-root');
    expect(emptyRoot()).not.toEqual(Buffer.alloc(32, 1));
  });

  it('403 for a checkpoint signed only by an unknown key', () => {
    const stranger = signerFromSeed(ORIGIN, Buffer.alloc(32, 6));
    const d = decideAddCheckpoint(
      { oldSize: 0, proof: [], note: log.note(5, stranger) },
      config,
      undefined,
    );
    expect(outcome(d)).toBe('403 bad-signature');
  });

  it('403 for a signature by the known key that does not verify', () => {
    const note = log.note(5).replace(`\n5\n`, '\n6\n');
    const d = decideAddCheckpoint({ oldSize: 0, proof: [], note }, config, undefined);
    expect(outcome(d)).toBe('403 bad-signature');
  });

  it('400 for a note that is not a signed checkpoint', () => {
    const notCheckpoint = signNote(`${ORIGIN}\nseven\nxx\n`, log.signer);
    expect(
      outcome(
        decideAddCheckpoint({ oldSize: 0, proof: [], note: notCheckpoint }, config, undefined),
      ),
    ).toBe('400 malformed-request');
    expect(
      outcome(
        decideAddCheckpoint({ oldSize: 0, proof: [], note: `${ORIGIN}\n` }, config, undefined),
      ),
    ).toBe('400 malformed-request');
  });
});
