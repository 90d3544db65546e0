import type { CreditSpend } from '../repositories/limits.repository';
import { SpendCoalescer, type SpendFn } from './spend-coalescer';

const A = '019ac1e2-3b4c-7d5e-8f60-00000000000a';
const B = '019ac1e2-3b4c-7d5e-8f60-00000000000b';

interface Call {
  tokenId: string;
  k: number;
  now: number;
  resolve: (r: CreditSpend) => void;
  reject: (e: unknown) => void;
}

/** A spend function whose statements settle when the test says so, recording each one. */
function controlledSpend() {
  const calls: Call[] = [];
  const spend: SpendFn = (tokenId, k, now) =>
    new Promise<CreditSpend>((resolve, reject) => calls.push({ tokenId, k, now, resolve, reject }));
  return { spend, calls };
}

function call(calls: readonly Call[], i: number): Call {
  const c = calls[i];
  if (!c) throw new Error(`no statement ${i} (${calls.length} sent)`);
  return c;
}

/** Lets every pending promise callback run (no timers involved). */
const drained = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Records how a promise settled, so a test can see that it has not yet. */
function watch<T>(p: Promise<T>): { state: 'pending' | 'resolved' | 'rejected'; value?: T } {
  const w: { state: 'pending' | 'resolved' | 'rejected'; value?: T } = { state: 'pending' };
  void p.then(
    (value) => Object.assign(w, { state: 'resolved', value }),
    () => Object.assign(w, { state: 'rejected' }),
  );
  return w;
}

/** mulberry32: a small seeded PRNG, so the random schedules below are the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('SpendCoalescer', () => {
  it('sends a lone use at once, alone, and forgets the token when it is done', async () => {
    const { spend, calls } = controlledSpend();
    const credits = new SpendCoalescer(spend, 1000);
    const first = credits.take(A, 100);
    expect(calls.map(({ tokenId, k, now }) => ({ tokenId, k, now }))).toEqual([
      { tokenId: A, k: 1, now: 100 },
    ]);
    call(calls, 0).resolve({ granted: 1, remaining: 4 });
    await expect(first).resolves.toBe(4);
    expect(credits.inFlight).toBe(0);
    const second = credits.take(A, 200);
    expect(calls).toHaveLength(2);
    expect(call(calls, 1).k).toBe(1);
    call(calls, 1).resolve({ granted: 1, remaining: 3 });
    await expect(second).resolves.toBe(3);
  });

  it('queues uses behind the statement in flight, then spends for all of them with one statement, earliest first', async () => {
    const { spend, calls } = controlledSpend();
    const credits = new SpendCoalescer(spend, 1000);
    const first = credits.take(A, 100);
    const queued = Array.from({ length: 5 }, () => credits.take(A, 101));
    expect(calls).toHaveLength(1);
    call(calls, 0).resolve({ granted: 1, remaining: 3 });
    await expect(first).resolves.toBe(3);
    // One statement for the five queued uses; 3 credits were left, so 3 are granted.
    expect(calls).toHaveLength(2);
    expect(call(calls, 1)).toMatchObject({ tokenId: A, k: 5 });
    call(calls, 1).resolve({ granted: 3, remaining: 0 });
    // As if spent one by one in arrival order: 2, 1, 0 left, then none.
    expect(await Promise.all(queued)).toEqual([2, 1, 0, undefined, undefined]);
    expect(calls).toHaveLength(2);
    expect(credits.inFlight).toBe(0);
  });

  it('refuses every use of a batch that was granted nothing', async () => {
    const { spend, calls } = controlledSpend();
    const credits = new SpendCoalescer(spend, 1000);
    const first = credits.take(A, 100);
    const queued = [credits.take(A, 100), credits.take(A, 100)];
    call(calls, 0).resolve({ granted: 0, remaining: 0 });
    await expect(first).resolves.toBeUndefined();
    call(calls, 1).resolve({ granted: 0, remaining: 0 });
    expect(await Promise.all(queued)).toEqual([undefined, undefined]);
  });

  it('never hands out more credits than the statement granted, nor more than it asked for', async () => {
    const { spend, calls } = controlledSpend();
    const credits = new SpendCoalescer(spend, 1000);
    const first = credits.take(A, 100);
    const queued = [credits.take(A, 100), credits.take(A, 100)];
    call(calls, 0).resolve({ granted: 1, remaining: 9 });
    await first;
    call(calls, 1).resolve({ granted: 7, remaining: 0 }); // a buggy answer: only 2 were asked for
    expect(await Promise.all(queued)).toEqual([1, 0]);
  });

  it('does not make one token wait for another', async () => {
    const { spend, calls } = controlledSpend();
    const credits = new SpendCoalescer(spend, 1000);
    const a = watch(credits.take(A, 100));
    const b = credits.take(B, 100);
    expect(calls.map((c) => [c.tokenId, c.k])).toEqual([
      [A, 1],
      [B, 1],
    ]);
    call(calls, 1).resolve({ granted: 1, remaining: 0 });
    await expect(b).resolves.toBe(0);
    expect(a.state).toBe('pending');
    expect(credits.inFlight).toBe(1);
  });

  it('rejects every use of a failed statement with its error, and still sends the next batch', async () => {
    const { spend, calls } = controlledSpend();
    const credits = new SpendCoalescer(spend, 1000);
    const first = credits.take(A, 100);
    const batch = [credits.take(A, 100), credits.take(A, 100), credits.take(A, 100)];
    const down = new Error('connection terminated');
    call(calls, 0).resolve({ granted: 1, remaining: 10 });
    await first;
    const late = credits.take(A, 100); // arrives while the batch of three is in flight
    call(calls, 1).reject(down);
    for (const p of batch) await expect(p).rejects.toBe(down);
    // The failed statement granted nothing: the next one asks for the late use alone.
    expect(call(calls, 2).k).toBe(1);
    call(calls, 2).resolve({ granted: 1, remaining: 9 });
    await expect(late).resolves.toBe(9);
    expect(credits.inFlight).toBe(0);
  });

  it('treats a spend function that throws at once as a failed statement', async () => {
    const down = new Error('pool closed');
    let throws = true;
    const spend: SpendFn = (_tokenId, k) => {
      if (throws) throw down;
      return Promise.resolve({ granted: k, remaining: 0 });
    };
    const credits = new SpendCoalescer(spend, 1000);
    await expect(credits.take(A, 100)).rejects.toBe(down);
    expect(credits.inFlight).toBe(0);
    throws = false;
    await expect(credits.take(A, 100)).resolves.toBe(0);
  });

  it('asks for at most maxBatch credits per statement, in arrival order', async () => {
    const { spend, calls } = controlledSpend();
    const credits = new SpendCoalescer(spend, 1000);
    const first = credits.take(A, 0);
    const queued = Array.from({ length: 2500 }, (_, i) => credits.take(A, i));
    let left = 10_000;
    call(calls, 0).resolve({ granted: 1, remaining: --left });
    await first;
    for (let i = 1; i <= 3; i++) {
      const c = call(calls, i);
      left -= c.k;
      c.resolve({ granted: c.k, remaining: left });
      await drained();
    }
    expect(calls.map((c) => c.k)).toEqual([1, 1000, 1000, 500]);
    // Each statement is sent as of the latest use in it.
    expect(calls.map((c) => c.now)).toEqual([0, 999, 1999, 2499]);
    const answers = await Promise.all(queued);
    expect(answers).toEqual(Array.from({ length: 2500 }, (_, i) => 9998 - i));
  });

  it('spends a batch as of the latest now among its uses', async () => {
    const { spend, calls } = controlledSpend();
    const credits = new SpendCoalescer(spend, 1000);
    const first = credits.take(A, 100);
    const queued = [credits.take(A, 150), credits.take(A, 190), credits.take(A, 170)];
    call(calls, 0).resolve({ granted: 1, remaining: 5 });
    await first;
    expect(call(calls, 1).now).toBe(190);
    call(calls, 1).resolve({ granted: 3, remaining: 2 });
    expect(await Promise.all(queued)).toEqual([4, 3, 2]);
  });

  it('refuses a batch bound that is not a positive integer', () => {
    const { spend } = controlledSpend();
    expect(() => new SpendCoalescer(spend, 0)).toThrow(RangeError);
    expect(() => new SpendCoalescer(spend, 2.5)).toThrow(RangeError);
  });

  /**
   * The reference: one durable balance per token, granting least(k, balance) when a statement
   * is executed (as the row does). Random schedules of arrivals and statement completions over
   * two instances (two coalescers) and two tokens; the statements of one token may even execute
   * out of order across instances. Whatever the schedule, the uses granted are exactly
   * min(uses, credits), each remaining count is handed out once, and on each instance the uses
   * granted are its earliest ones.
   */
  it('matches a durable balance on random schedules over two instances', async () => {
    for (let seed = 1; seed <= 200; seed++) {
      const random = prng(seed);
      const balance = new Map([
        [A, Math.floor(random() * 30)],
        [B, Math.floor(random() * 30)],
      ]);
      const initial = new Map(balance);
      const pending: Array<() => void> = [];
      const spend: SpendFn = (tokenId, k) =>
        new Promise((resolve) =>
          pending.push(() => {
            const left = balance.get(tokenId) ?? 0;
            const granted = Math.min(k, left);
            balance.set(tokenId, left - granted);
            resolve({ granted, remaining: left - granted });
          }),
        );
      const instances = [new SpendCoalescer(spend, 4), new SpendCoalescer(spend, 4)];
      const uses: Array<{
        tokenId: string;
        instance: number;
        answer: Promise<number | undefined>;
      }> = [];
      const count = 20 + Math.floor(random() * 60);
      while (uses.length < count || pending.length > 0) {
        if (uses.length < count && (pending.length === 0 || random() < 0.5)) {
          const tokenId = random() < 0.5 ? A : B;
          const instance = random() < 0.5 ? 0 : 1;
          const coalescer = instances[instance];
          if (!coalescer) throw new Error('no instance');
          uses.push({ tokenId, instance, answer: coalescer.take(tokenId, uses.length) });
        } else {
          const [execute] = pending.splice(Math.floor(random() * pending.length), 1);
          execute?.();
          await drained();
        }
      }
      const answers = await Promise.all(uses.map((u) => u.answer));
      for (const tokenId of [A, B]) {
        const mine = uses
          .map((u, i) => ({ ...u, got: answers[i] }))
          .filter((u) => u.tokenId === tokenId);
        const granted = mine.filter((u) => u.got !== undefined);
        const credits = initial.get(tokenId) ?? 0;
        expect([seed, granted.length]).toEqual([seed, Math.min(mine.length, credits)]);
        expect([seed, new Set(granted.map((u) => u.got)).size]).toEqual([seed, granted.length]);
        expect([seed, balance.get(tokenId)]).toEqual([seed, credits - granted.length]);
        for (const instance of [0, 1]) {
          const here = mine.filter((u) => u.instance === instance).map((u) => u.got !== undefined);
          const firstRefused = here.indexOf(false);
          // Granted uses first, refused after: no later use got a credit an earlier one did not.
          if (firstRefused >= 0)
            expect([seed, here.slice(firstRefused).includes(true)]).toEqual([seed, false]);
        }
      }
      expect(instances.map((c) => c.inFlight)).toEqual([0, 0]);
    }
  });
});
