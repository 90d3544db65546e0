import { createHash } from 'node:crypto';
import {
  cosignatureVerifier,
  cosignerFromSeed,
  openCosignatures,
  parseVerifierKey,
} from '@tokenledger/ledger-core';
import type { LogState } from './decide';
import { silentLogger } from './log';
import type { StateStore } from './state';
import { TestLog } from './test-support/log';
import { Witness } from './witness';

const ORIGIN = 'example.test/log';
const log = new TestLog(ORIGIN, 64);
const fork = new TestLog(ORIGIN, 64, { fork: 4 });
const key = parseVerifierKey(log.verifierKey);
if (!key.ok) throw new Error(key.error.message);
const cosigner = cosignerFromSeed('witness.test/w1', Buffer.alloc(32, 0x77));
const witnessKey = cosignatureVerifier(cosigner.name, cosigner.publicKey);

/** A store whose writes take a few event-loop turns, so concurrent requests really interleave. */
class SlowMemoryStore implements StateStore {
  readonly states = new Map<string, LogState>();
  writes = 0;
  read(origin: string): Promise<LogState | undefined> {
    return Promise.resolve(this.states.get(origin));
  }
  async write(state: LogState): Promise<void> {
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    this.writes++;
    this.states.set(state.origin, state);
  }
}

const make = (store: StateStore = new SlowMemoryStore()) =>
  new Witness({
    cosigner,
    logs: [{ origin: ORIGIN, verifiers: [key.verifier] }],
    store,
    now: () => 1_700_000_123,
    log: silentLogger,
  });
const post = (w: Witness, body: string) => w.addCheckpoint(Buffer.from(body, 'utf8'));

describe('Witness.addCheckpoint', () => {
  it('answers 200 with a cosignature line that verifies over the checkpoint body', async () => {
    const w = make();
    const r = await post(w, log.request(0, 9));
    expect(r.status).toBe(200);
    const opened = openCosignatures(log.body(9), r.body, [witnessKey]);
    expect(opened).toMatchObject({
      ok: true,
      cosignatures: { verified: [{ timestamp: 1_700_000_123 }] },
    });
  });

  it('answers 409 text/x.tlog.size with the current size', async () => {
    const w = make();
    await post(w, log.request(0, 9));
    expect(await post(w, log.request(0, 20))).toEqual({
      status: 409,
      contentType: 'text/x.tlog.size',
      body: '9\n',
    });
  });

  it('answers 404 for an unknown origin and 400 for a malformed body', async () => {
    const w = make();
    expect((await post(w, new TestLog('other.test/log', 3).request(0, 3))).status).toBe(404);
    expect((await post(w, 'old x\n\n')).status).toBe(400);
  });

  it('persists before answering', async () => {
    const store = new SlowMemoryStore();
    const r = await post(make(store), log.request(0, 9));
    expect(r.status).toBe(200);
    expect(store.states.get(ORIGIN)?.size).toBe(9);
  });

  it('never cosigns two inconsistent checkpoints from concurrent requests', async () => {
    // 20 requests race from old 0: 10 for the log, 10 for a fork sharing only 4 leaves.
    const w = make();
    const sizes = [5, 8, 13, 21, 34, 40, 44, 50, 60, 64];
    const results = await Promise.all(
      sizes.flatMap((n) => [
        post(w, log.request(0, n)).then((r) => ({ r, tree: 'log', n })),
        post(w, fork.request(0, n)).then((r) => ({ r, tree: 'fork', n })),
      ]),
    );
    const cosigned = results.filter((x) => x.r.status === 200);
    expect(cosigned).toHaveLength(1);
    expect(results.filter((x) => x.r.status === 409)).toHaveLength(19);
  });

  it('with an origin prefix, keeps one state per origin under it and refuses others', async () => {
    const a = new TestLog('example.test/ledger/t.tokens-0', 20, { keyName: 'example.test/ledger' });
    const b = new TestLog('example.test/ledger/t.tokens-1', 20, { keyName: 'example.test/ledger' });
    const prefixKey = parseVerifierKey(a.verifierKey);
    if (!prefixKey.ok) throw new Error(prefixKey.error.message);
    const store = new SlowMemoryStore();
    const w = new Witness({
      cosigner,
      logs: [{ origin: 'example.test/ledger/', prefix: true, verifiers: [prefixKey.verifier] }],
      store,
      now: () => 1_700_000_123,
      log: silentLogger,
    });
    expect((await post(w, a.request(0, 5))).status).toBe(200);
    expect((await post(w, b.request(0, 9))).status).toBe(200);
    // Each origin has its own state: a's size is 5, b's 9.
    expect([...store.states.values()].map((st) => [st.origin, st.size])).toEqual([
      [a.origin, 5],
      [b.origin, 9],
    ]);
    expect(await post(w, a.request(0, 7))).toMatchObject({ status: 409, body: '5\n' });
    expect((await post(w, a.request(5, 7))).status).toBe(200);
    // Not a name under the prefix: nested, empty, or another prefix.
    for (const origin of [
      'example.test/ledger/x/y',
      'example.test/ledger/',
      'example.test/ledgerx/t-0',
    ]) {
      const other = new TestLog(origin, 3, { keyName: 'example.test/ledger' });
      expect((await post(w, other.request(0, 3))).status).toBe(404);
    }
    const served = await w.latestCheckpoint(createHash('sha256').update(b.origin).digest('hex'));
    expect(served.status).toBe(200);
    expect(served.body.startsWith(b.note(9))).toBe(true);
  });

  it('serves the last cosigned checkpoint with the cosignature it returned, 404 before any', async () => {
    const w = make();
    const originHash = createHash('sha256').update(ORIGIN).digest('hex');
    expect((await w.latestCheckpoint(originHash)).status).toBe(404);
    const cosigned = await post(w, log.request(0, 9));
    const r = await w.latestCheckpoint(originHash);
    expect(r.body).toBe(`${log.note(9)}${cosigned.body}`);
    expect(r.status).toBe(200);
    expect(r.body.startsWith(log.note(9))).toBe(true);
    expect(openCosignatures(log.body(9), r.body.slice(log.note(9).length), [witnessKey]).ok).toBe(
      true,
    );
  });
});
