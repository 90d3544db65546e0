/** Small seeded PRNG (mulberry32) so property tests are reproducible without dependencies. */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.nextUint32() / 2 ** 32) * n);
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  /** A double drawn from uniformly random bits (any finite value, subnormals and -0 included). */
  finiteDouble(): number {
    const view = new DataView(new ArrayBuffer(8));
    for (;;) {
      view.setUint32(0, this.nextUint32());
      view.setUint32(4, this.nextUint32());
      const value = view.getFloat64(0);
      if (Number.isFinite(value)) return value;
    }
  }
}
