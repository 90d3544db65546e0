// The real witness process over HTTP: statuses of c2sp.org/tlog-witness, restarts, and SIGKILL.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  openCosignatures,
  parseCosignerVerifierKey,
  signerFromSeed,
  type CosignatureVerifier,
} from '@tokenledger/ledger-core';
import { addCheckpoint } from './client';
import { TestLog } from './test-support/log';
import { post, startWitnessProcess, type WitnessProcess } from './test-support/process';

const ORIGIN = 'example.test/tokenledger/int';
const log = new TestLog(ORIGIN, 1000);
const FORK_AT = 4;
const fork = new TestLog(ORIGIN, 1000, { fork: FORK_AT });

let dir: string;
const running: WitnessProcess[] = [];

const env = (stateDir: string) => ({
  WITNESS_NAME: 'witness.test/int',
  WITNESS_STATE_DIR: stateDir,
  WITNESS_LOGS: JSON.stringify([{ origin: ORIGIN, keys: [log.verifierKey] }]),
});
const start = async (stateDir: string): Promise<WitnessProcess> => {
  const w = await startWitnessProcess(env(stateDir));
  running.push(w);
  return w;
};
const keyOf = (w: WitnessProcess): CosignatureVerifier => {
  const parsed = parseCosignerVerifierKey(w.verifierKey);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.verifier;
};
/** The witness's recorded size: a request from old 0 is answered 409 with it (or cosigns size 0). */
const recordedSize = async (w: WitnessProcess): Promise<number> => {
  const r = await post(w.url, log.request(0, 0));
  if (r.status === 200) return 0;
  expect(r).toMatchObject({ status: 409, type: 'text/x.tlog.size' });
  return Number(r.body);
};

/** Posts `chunks` chunks of `size` bytes without a content-length; resolves to the status. */
function postChunked(url: string, chunks: number, size: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(new URL('add-checkpoint', url), { method: 'POST' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    for (let i = 0; i < chunks; i++) req.write(Buffer.alloc(size, 0x61));
    req.end();
  });
}

/** The `field` of the first `count` log lines with message `msg`, once that many were printed. */
async function loggedStatuses(
  w: WitnessProcess,
  msg: string,
  count: number,
  field = 'status',
): Promise<unknown[]> {
  const matching = () => w.lines.filter((l) => l.msg === msg);
  for (let i = 0; i < 100 && matching().length < count; i++)
    await new Promise((r) => setTimeout(r, 20));
  return matching()
    .slice(0, count)
    .map((l) => l[field]);
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'witness-int-'));
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((w) => w.stop('SIGKILL')));
  await rm(dir, { recursive: true, force: true });
});

describe('witness process: add-checkpoint', () => {
  it('cosigns 0 -> 5 -> 300 with real proofs; the client verifies each cosignature', async () => {
    const w = await start(dir);
    const key = keyOf(w);
    for (const [from, to] of [
      [0, 5],
      [5, 300],
      [300, 300],
    ] as const) {
      const outcome = await addCheckpoint({
        url: w.url,
        oldSize: from,
        proof: log.proof(from, to),
        note: log.note(to),
        verifiers: [key],
      });
      expect(outcome).toMatchObject({
        kind: 'cosigned',
        cosignatures: [{ name: 'witness.test/int' }],
      });
    }
    expect(await recordedSize(w)).toBe(300);
    expect(await loggedStatuses(w, 'checkpoint cosigned', 3, 'size')).toEqual([5, 300, 300]);
    // The monitoring endpoint serves the checkpoint with the witness's cosignature on it.
    const originHash = createHash('sha256').update(ORIGIN).digest('hex');
    const served = await (await fetch(new URL(`${originHash}/checkpoint`, w.url))).text();
    expect(served.startsWith(log.note(300))).toBe(true);
    expect(
      openCosignatures(log.body(300), served.slice(log.note(300).length), [key]),
    ).toMatchObject({
      ok: true,
      cosignatures: { verified: [{ name: 'witness.test/int' }] },
    });
  });

  it('answers 409 with the size, 422, 403, 404, 400, 413 and 405 as the spec says', async () => {
    const w = await start(dir);
    expect((await post(w.url, log.request(0, 10))).status).toBe(200);
    // 409: the client learns the size and retries from it.
    const conflict = await addCheckpoint({
      url: w.url,
      oldSize: 3,
      proof: log.proof(3, 20),
      note: log.note(20),
      verifiers: [keyOf(w)],
    });
    expect(conflict).toEqual({ kind: 'conflict', size: 10 });
    expect(await post(w.url, log.request(3, 20))).toEqual({
      status: 409,
      type: 'text/x.tlog.size',
      body: '10\n',
    });
    // 422: a bad proof, and the fork's proof.
    const proof = log.proof(10, 20);
    proof[0] = Buffer.alloc(32, 0xaa);
    expect(
      (
        await post(
          w.url,
          `old 10\n${proof.map((p) => `${p.toString('base64')}\n`).join('')}\n${log.note(20)}`,
        )
      ).status,
    ).toBe(422);
    expect((await post(w.url, fork.request(10, 20))).status).toBe(422);
    // 403: unknown key, and a known key whose signature fails.
    const stranger = signerFromSeed(ORIGIN, Buffer.alloc(32, 0x55));
    expect(
      (
        await post(
          w.url,
          `old 10\n${log
            .proof(10, 20)
            .map((p) => `${p.toString('base64')}\n`)
            .join('')}\n${log.note(20, stranger)}`,
        )
      ).status,
    ).toBe(403);
    expect((await post(w.url, log.request(10, 20).replace('\n20\n', '\n21\n'))).status).toBe(403);
    // 404, 400, 413, 405.
    expect((await post(w.url, new TestLog('unknown.test/log', 3).request(0, 3))).status).toBe(404);
    expect((await post(w.url, 'old 10\nnot a hash\n\n')).status).toBe(400);
    expect((await post(w.url, `old 20\n\n${log.note(10)}`)).status).toBe(400);
    expect((await post(w.url, Buffer.alloc(70 * 1024, 0x61))).status).toBe(413);
    expect(await postChunked(w.url, 80, 1024)).toBe(413);
    expect((await fetch(new URL('add-checkpoint', w.url))).status).toBe(405);
    // Each refusal with a known origin and a readable body is logged (the log lines may trail the answers).
    const refused = await loggedStatuses(w, 'checkpoint refused', 7);
    expect(refused).toEqual([409, 409, 422, 422, 403, 403, 400]);
    // None of that moved the state.
    expect(await recordedSize(w)).toBe(10);
  });

  it('keeps its key and state across a restart; the seed file is 0600', async () => {
    const first = await start(dir);
    expect((await post(first.url, log.request(0, 42))).status).toBe(200);
    expect(await first.stop('SIGTERM')).toBe(0);
    const second = await start(dir);
    expect(second.verifierKey).toBe(first.verifierKey);
    expect(await recordedSize(second)).toBe(42);
    expect((await post(second.url, log.request(42, 50))).status).toBe(200);
    expect((await stat(join(dir, 'witness.seed'))).mode & 0o777).toBe(0o600);
    const logged = JSON.stringify([...first.lines, ...second.lines]);
    const seed = (await readFile(join(dir, 'witness.seed'), 'utf8')).trim();
    expect(logged).not.toContain(seed);
  });

  it('witnesses every log under an origin prefix, and serves each after a restart', async () => {
    const ledger = 'example.test/tokenledger';
    const logs = ['t.tokens.lifecycle-0', 't.tokens.lifecycle-1'].map(
      (id) => new TestLog(`${ledger}/${id}`, 30, { keyName: ledger }),
    );
    const prefixEnv = {
      WITNESS_NAME: 'witness.test/int',
      WITNESS_STATE_DIR: dir,
      WITNESS_LOGS: JSON.stringify([{ originPrefix: `${ledger}/`, keys: [logs[0]?.verifierKey] }]),
    };
    const first = await startWitnessProcess(prefixEnv);
    running.push(first);
    expect(first.lines.find((l) => l.msg === 'witness listening')?.origins).toEqual([
      `${ledger}/*`,
    ]);
    for (const [i, l] of logs.entries())
      expect((await post(first.url, l.request(0, 10 + i))).status).toBe(200);
    const other = new TestLog('example.test/other/x-0', 3, { keyName: ledger });
    expect((await post(first.url, other.request(0, 3))).status).toBe(404);
    expect(await first.stop('SIGTERM')).toBe(0);
    const second = await startWitnessProcess(prefixEnv);
    running.push(second);
    for (const [i, l] of logs.entries()) {
      const hash = createHash('sha256').update(l.origin).digest('hex');
      const served = await (await fetch(new URL(`${hash}/checkpoint`, second.url))).text();
      expect(served.startsWith(l.note(10 + i))).toBe(true);
      expect(await post(second.url, l.request(0, 20))).toMatchObject({ body: `${10 + i}\n` });
    }
    const unknown = createHash('sha256').update(`${ledger}/never-0`).digest('hex');
    expect((await fetch(new URL(`${unknown}/checkpoint`, second.url))).status).toBe(404);
  });

  it('refuses a second witness on the same state directory, and takes over a killed one', async () => {
    const first = await start(dir);
    await expect(start(dir)).rejects.toThrow(
      new RegExp(`in use by the witness with pid ${first.child.pid}`),
    );
    await first.stop('SIGKILL');
    const second = await start(dir);
    expect(await recordedSize(second)).toBe(0);
    expect(await second.stop('SIGTERM')).toBe(0);
    await expect(stat(join(dir, 'LOCK'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses to start with a bad configuration, naming the problems', async () => {
    await expect(
      startWitnessProcess({ WITNESS_NAME: 'bad name', WITNESS_STATE_DIR: dir }),
    ).rejects.toThrow(/WITNESS_NAME: must be a key name.*WITNESS_LOGS/);
  });
});

describe('witness process: SIGKILL during concurrent submissions', () => {
  interface Returned {
    readonly tree: TestLog;
    readonly size: number;
  }

  /** A client racing the others: follows 409s, switches history on 422, stops when the witness dies. */
  async function client(
    url: string,
    key: CosignatureVerifier,
    returned: Returned[],
    seed: number,
  ): Promise<'done' | 'cut off'> {
    let tree = seed % 2 === 0 ? log : fork;
    let old = 0;
    let rnd = seed;
    const next = (): number => (rnd = (rnd * 1103515245 + 12345) % 2 ** 31);
    for (;;) {
      if (old >= 1000) return 'done';
      const size = Math.min(1000, old + 1 + (next() % 25));
      const outcome = await addCheckpoint({
        url,
        oldSize: old,
        proof: tree.proof(old, size),
        note: tree.note(size),
        verifiers: [key],
      });
      if (outcome.kind === 'cosigned') {
        returned.push({ tree, size });
        old = size;
      } else if (outcome.kind === 'conflict') {
        old = outcome.size;
      } else if (outcome.status === 422) {
        tree = tree === log ? fork : log;
      } else {
        return 'cut off'; // killed: this request's outcome is unknown, and it returned no cosignature.
      }
    }
  }

  it('never lets the recorded size go back, nor cosigns two histories', async () => {
    const returned: Returned[] = [];
    let lastSeen = 0;
    for (let round = 0; round < 4; round++) {
      const w = await start(dir);
      // What was recorded before the kill is still there, and never less than any cosigned size.
      const recorded = await recordedSize(w);
      expect(recorded).toBeGreaterThanOrEqual(lastSeen);
      expect(recorded).toBeGreaterThanOrEqual(Math.max(0, ...returned.map((r) => r.size)));
      const key = keyOf(w);
      const clients = Array.from({ length: 8 }, (_, i) =>
        client(w.url, key, returned, round * 100 + i + 1),
      );
      // Kill once this round got cosignatures back (a fixed delay gave none on a loaded machine),
      // a little later each round.
      const before = returned.length;
      const deadline = Date.now() + 15_000;
      while (returned.length < before + 2 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, round * 30));
      await w.stop('SIGKILL');
      // The kill lands while requests are in flight (some of them between check and write).
      expect(await Promise.all(clients)).toContain('cut off');
      lastSeen = Math.max(recorded, ...returned.map((r) => r.size));
    }
    const w = await start(dir);
    const finalSize = await recordedSize(w);
    expect(returned.length).toBeGreaterThan(4);
    expect(finalSize).toBeGreaterThanOrEqual(lastSeen);

    // Every cosignature past the fork point is for one history only...
    const histories = new Set(returned.filter((r) => r.size > FORK_AT).map((r) => r.tree));
    expect(histories.size).toBeLessThanOrEqual(1);
    // ...and a checkpoint of the other history is refused from the recorded size.
    const winner = [...histories][0] ?? log;
    const loser = winner === log ? fork : log;
    if (finalSize > FORK_AT && finalSize < 1000) {
      expect((await post(w.url, loser.request(finalSize, 1000))).status).toBe(422);
      expect((await post(w.url, winner.request(finalSize, 1000))).status).toBe(200);
    }
    // No half-written state was left to read: only the committed file remains.
    expect((await readdir(join(dir, 'logs'))).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
