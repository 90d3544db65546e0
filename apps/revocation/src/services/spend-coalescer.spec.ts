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

describe('SpendCoalescer with credit leases', () => {
  const V1 = '019ac1e2-3b4c-7d5e-8f60-0000000000f1';
  const V2 = '019ac1e2-3b4c-7d5e-8f60-0000000000f2';

  /** Refunds recorded, each answered as the test says (default: given back). */
  function recordingRefund(answer = true) {
    const refunds: Array<{ tokenId: string; n: number; version: string }> = [];
    const refund = (tokenId: string, n: number, version: string) => {
      refunds.push({ tokenId, n, version });
      return Promise.resolve(answer);
    };
    return { refund, refunds };
  }

  it('leases with its second statement, sized by the balance, and serves later uses without a statement', async () => {
    const { spend, calls } = controlledSpend();
    const { refund } = recordingRefund();
    const credits = new SpendCoalescer(spend, 1000, { refund, max: 100, divisor: 1000 });
    const first = credits.take(A, 1);
    expect(call(calls, 0).k).toBe(1); // nothing known yet: no lease
    call(calls, 0).resolve({ granted: 1, remaining: 50_000, leaseVersion: V1 });
    await expect(first).resolves.toBe(50_000);
    // 50,000 left / 1000 = 50 more than the use that needs a statement.
    const second = credits.take(A, 2);
    expect(call(calls, 1).k).toBe(51);
    call(calls, 1).resolve({ granted: 51, remaining: 49_949, leaseVersion: V1 });
    await expect(second).resolves.toBe(49_949 + 50);
    expect(credits.leased).toBe(50);
    // The next 24 uses come from the lease: no statement, each told the balance as if spent.
    const fromLease = await Promise.all(Array.from({ length: 24 }, () => credits.take(A, 3)));
    expect(fromLease).toEqual(Array.from({ length: 24 }, (_, i) => 49_949 + 49 - i));
    expect(calls).toHaveLength(2);
    // The 25th leaves 25 of 50 (half is not yet below half); the 26th asks for the next lease in
    // the background and is answered from the lease at once.
    await credits.take(A, 4);
    expect(calls).toHaveLength(2);
    await expect(credits.take(A, 5)).resolves.toBe(49_949 + 24);
    expect(calls).toHaveLength(3);
    // Tops the lease up to floor(49,949 / 1000) = 49: 25 more, no use waiting.
    expect(call(calls, 2).k).toBe(25);
    expect(credits.leased).toBe(24);
  });

  it('never leases a small balance or a token whose spend gives no version (refill)', async () => {
    const { spend, calls } = controlledSpend();
    const { refund } = recordingRefund();
    const credits = new SpendCoalescer(spend, 1000, { refund, max: 100, divisor: 1000 });
    for (let i = 0; i < 3; i++) {
      const use = credits.take(A, i);
      call(calls, i).resolve({ granted: 1, remaining: 999 - i, leaseVersion: V1 });
      await use;
    }
    for (let i = 3; i < 6; i++) {
      const use = credits.take(B, i);
      call(calls, i).resolve({ granted: 1, remaining: 1_000_000 - i }); // a refill: no version
      await use;
    }
    expect(calls.map((c) => c.k)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(credits.leased).toBe(0);
  });

  it('with max 0 it spends exactly as without leases', async () => {
    const { spend, calls } = controlledSpend();
    const { refund } = recordingRefund();
    const credits = new SpendCoalescer(spend, 1000, { refund, max: 0, divisor: 1000 });
    for (let i = 0; i < 3; i++) {
      const use = credits.take(A, i);
      call(calls, i).resolve({ granted: 1, remaining: 10_000_000, leaseVersion: V1 });
      await use;
    }
    expect(calls.map((c) => c.k)).toEqual([1, 1, 1]);
  });

  /** A coalescer whose token A holds a lease of 50 under V1 (two statements made). */
  async function leased(refund = recordingRefund()) {
    const { spend, calls } = controlledSpend();
    const credits = new SpendCoalescer(spend, 1000, {
      refund: refund.refund,
      max: 100,
      divisor: 1000,
    });
    const first = credits.take(A, 1);
    call(calls, 0).resolve({ granted: 1, remaining: 50_000, leaseVersion: V1 });
    await first;
    const second = credits.take(A, 2);
    call(calls, 1).resolve({ granted: 51, remaining: 49_949, leaseVersion: V1 });
    await second;
    expect(credits.leased).toBe(50);
    return { credits, calls, refunds: refund.refunds };
  }

  it('release gives the unused lease back under its version, and only for tokens idle since', async () => {
    const { credits, refunds } = await leased();
    await credits.take(A, 10);
    expect(await credits.release(10)).toBe(0); // used at 10: not idle since 10
    expect(refunds).toEqual([]);
    expect(await credits.release(11)).toBe(49);
    expect(refunds).toEqual([{ tokenId: A, n: 49, version: V1 }]);
    expect(credits.leased).toBe(0);
  });

  it('release waits for a lease statement in flight and gives back what it brought', async () => {
    const { credits, calls, refunds } = await leased();
    for (let i = 0; i < 26; i++) await credits.take(A, 3); // 24 left, the next lease asked for
    const released = credits.release();
    await drained();
    expect(refunds).toEqual([]);
    call(calls, 2).resolve({ granted: 25, remaining: 49_900, leaseVersion: V1 });
    await expect(released).resolves.toBe(24 + 25);
    expect(refunds).toEqual([{ tokenId: A, n: 49, version: V1 }]);
  });

  it('a refund the row refuses (reset since) gives back nothing', async () => {
    const { credits, refunds } = await leased(recordingRefund(false));
    expect(await credits.release()).toBe(0);
    expect(refunds).toHaveLength(1);
    expect(credits.leased).toBe(0);
  });

  it('drop forgets the lease: the next use needs a statement, and no refund is made', async () => {
    const { credits, calls, refunds } = await leased();
    credits.drop([A]);
    expect(credits.leased).toBe(0);
    const use = credits.take(A, 3);
    expect(calls).toHaveLength(3);
    expect(call(calls, 2).k).toBe(1); // forgotten: sized as a first statement
    call(calls, 2).resolve({ granted: 1, remaining: 7, leaseVersion: V2 });
    await expect(use).resolves.toBe(7);
    expect(await credits.release()).toBe(0);
    expect(refunds).toEqual([]);
  });

  it('a lease asked for before a drop is not handed out when it comes back', async () => {
    const { credits, calls } = await leased();
    // Use 26 credits: the next lease is asked for in the background.
    for (let i = 0; i < 26; i++) await credits.take(A, 3);
    expect(calls).toHaveLength(3);
    credits.drop([A]);
    const waiting = credits.take(A, 4); // no lease left: waits for the statement in flight
    call(calls, 2).resolve({ granted: 25, remaining: 49_900, leaseVersion: V1 });
    await drained();
    // The statement had no use in it, and its lease is discarded: the waiting use gets its own
    // statement (with a new lease, sized by the balance that statement saw).
    expect(call(calls, 3).k).toBe(1 + 49);
    call(calls, 3).resolve({ granted: 50, remaining: 49_850, leaseVersion: V2 });
    await expect(waiting).resolves.toBe(49_850 + 49);
    expect(credits.leased).toBe(49); // not 49 + 25: the discarded top-up was never handed out
  });

  it('a statement answering under another version forgets the lease it had', async () => {
    const { credits, calls } = await leased();
    for (let i = 0; i < 26; i++) await credits.take(A, 3);
    expect(credits.leased).toBe(24);
    // A reset on another instance set 100 credits (V2); the background statement sees it.
    call(calls, 2).resolve({ granted: 25, remaining: 75, leaseVersion: V2 });
    await drained();
    expect(credits.leased).toBe(25); // what V2 granted only; the 24 of V1 are gone
  });

  it('confirm drops a lease granted under limits that are no longer current', async () => {
    const { credits } = await leased();
    credits.confirm(A, V1);
    expect(credits.leased).toBe(50);
    credits.confirm(A, V2);
    expect(credits.leased).toBe(0);
  });

  it('rejects lease options that make no sense', () => {
    const { spend } = controlledSpend();
    const { refund } = recordingRefund();
    expect(() => new SpendCoalescer(spend, 1000, { refund, max: -1, divisor: 1000 })).toThrow(
      RangeError,
    );
    expect(() => new SpendCoalescer(spend, 1000, { refund, max: 10, divisor: 0 })).toThrow(
      RangeError,
    );
  });

  /**
   * Against one durable balance, random schedules over two instances with leases: no credit is
   * granted that the balance did not give, every use granted had a credit, and once both
   * instances released their leases the balance plus the uses granted is the initial balance.
   */
  it('never grants more than the balance gave, and loses nothing once released, on random schedules', async () => {
    for (let seed = 1; seed <= 200; seed++) {
      const random = prng(seed);
      const balance = new Map([
        [A, Math.floor(random() * 20_000)],
        [B, Math.floor(random() * 3_000)],
      ]);
      const initial = new Map(balance);
      const pending: Array<() => void> = [];
      const spend: SpendFn = (tokenId, k) =>
        new Promise((resolve) =>
          pending.push(() => {
            const left = balance.get(tokenId) ?? 0;
            const granted = Math.min(k, left);
            balance.set(tokenId, left - granted);
            resolve({ granted, remaining: left - granted, leaseVersion: V1 });
          }),
        );
      const refund = (tokenId: string, n: number) => {
        balance.set(tokenId, (balance.get(tokenId) ?? 0) + n);
        return Promise.resolve(true);
      };
      const lease = { refund, max: 8, divisor: 1000 };
      const instances = [new SpendCoalescer(spend, 4, lease), new SpendCoalescer(spend, 4, lease)];
      const uses: Array<{ tokenId: string; answer: Promise<number | undefined> }> = [];
      const count = 50 + Math.floor(random() * 150);
      while (uses.length < count || pending.length > 0) {
        if (uses.length < count && (pending.length === 0 || random() < 0.6)) {
          const tokenId = random() < 0.5 ? A : B;
          const coalescer = instances[random() < 0.5 ? 0 : 1];
          if (!coalescer) throw new Error('no instance');
          uses.push({ tokenId, answer: coalescer.take(tokenId, uses.length) });
        } else {
          const [execute] = pending.splice(Math.floor(random() * pending.length), 1);
          execute?.();
          await drained();
        }
      }
      const answers = await Promise.all(uses.map((u) => u.answer));
      await Promise.all(instances.map((c) => c.release()));
      for (const tokenId of [A, B]) {
        const granted = uses.filter((u, i) => u.tokenId === tokenId && answers[i] !== undefined);
        const credits = initial.get(tokenId) ?? 0;
        expect([seed, granted.length <= credits]).toEqual([seed, true]);
        expect([seed, (balance.get(tokenId) ?? 0) + granted.length]).toEqual([seed, credits]);
      }
      expect(instances.map((c) => c.leased)).toEqual([0, 0]);
    }
  });
});
