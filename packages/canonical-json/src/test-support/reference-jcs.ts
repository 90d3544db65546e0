/**
 * Deliberately naive RFC 8785 serializer used only as a test oracle. It shares no code with the
 * real implementation: numbers come from a shortest-round-trip digit search plus the ECMAScript
 * Number::toString layout rules, strings are escaped code unit by code unit, and keys are
 * sorted with an explicit UTF-16 code unit comparison. Input: plain JSON-like values only.
 */
export function referenceCanonicalize(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return referenceNumber(value);
  if (typeof value === 'string') return referenceString(value);
  if (Array.isArray(value))
    return `[${value.map((item) => referenceCanonicalize(item)).join(',')}]`;
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const members = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort(compareUtf16)
      .map((key) => `${referenceString(key)}:${referenceCanonicalize(record[key])}`);
    return `{${members.join(',')}}`;
  }
  throw new Error(`reference: unsupported ${typeof value}`);
}

export function compareUtf16(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const diff = a.charCodeAt(i) - b.charCodeAt(i);
    if (diff !== 0) return diff;
  }
  return a.length - b.length;
}

const SHORT_ESCAPES: Record<number, string> = {
  0x08: '\\b',
  0x09: '\\t',
  0x0a: '\\n',
  0x0c: '\\f',
  0x0d: '\\r',
  0x22: '\\"',
  0x5c: '\\\\',
};

function hex4(unit: number): string {
  return `\\u${unit.toString(16).padStart(4, '0')}`;
}

export function referenceString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    const next = i + 1 < text.length ? text.charCodeAt(i + 1) : -1;
    const isHigh = unit >= 0xd800 && unit <= 0xdbff;
    const isLow = unit >= 0xdc00 && unit <= 0xdfff;
    const short = SHORT_ESCAPES[unit];
    if (short !== undefined) {
      out += short;
    } else if (unit < 0x20) {
      out += hex4(unit);
    } else if (isHigh && next >= 0xdc00 && next <= 0xdfff) {
      out += text.charAt(i) + text.charAt(i + 1);
      i++;
    } else if (isHigh || isLow) {
      throw new Error('reference: lone surrogate'); // RFC 8785 §3.2.2.2
    } else {
      out += text.charAt(i);
    }
  }
  return `${out}"`;
}

/** x (finite, positive) as an exact fraction num / den. */
function exactFraction(x: number): { num: bigint; den: bigint } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const exponent = (biased === 0 ? 1 : biased) - 1075;
  return exponent >= 0
    ? { num: mantissa << BigInt(exponent), den: 1n }
    : { num: mantissa, den: 1n << BigInt(-exponent) };
}

/** |s * 10^q - x| as a fraction, for exact comparisons. */
function distance(
  s: bigint,
  q: number,
  x: { num: bigint; den: bigint },
): { num: bigint; den: bigint } {
  const c = q >= 0 ? { num: s * 10n ** BigInt(q), den: 1n } : { num: s, den: 10n ** BigInt(-q) };
  const diff = c.num * x.den - x.num * c.den;
  return { num: diff < 0n ? -diff : diff, den: c.den * x.den };
}

/**
 * ECMA-262 Number::toString(x) for radix 10, derived from the spec text: the smallest k such that
 * some k-digit s with s * 10^(n-k) rounds to x; among those, the s closest to x, ties to even
 * (the Note 2 refinement that V8 and RFC 8785 Appendix B follow).
 */
export function referenceNumber(x: number): string {
  if (!Number.isFinite(x)) throw new Error('reference: non-finite');
  if (x === 0) return '0';
  if (x < 0) return `-${referenceNumber(-x)}`;
  let k = 1;
  let exponential = x.toExponential(0);
  while (Number(exponential) !== x) {
    k++;
    exponential = x.toExponential(k - 1);
  }
  const [mantissa = '', exponentText = ''] = exponential.split('e');
  const q = Number(exponentText) - (k - 1); // x ~ s * 10^q
  const closest = BigInt(mantissa.replace('.', ''));
  const exact = exactFraction(x);
  let best: { s: bigint; d: { num: bigint; den: bigint } } | undefined;
  for (const s of [closest - 1n, closest, closest + 1n]) {
    if (s < 10n ** BigInt(k - 1) || s >= 10n ** BigInt(k) || Number(`${s}e${q}`) !== x) continue;
    const d = distance(s, q, exact);
    const cmp = best === undefined ? -1n : d.num * best.d.den - best.d.num * d.den;
    if (best === undefined || cmp < 0n || (cmp === 0n && s % 2n === 0n)) best = { s, d };
  }
  if (best === undefined) throw new Error('reference: no candidate');

  const digits = best.s.toString().replace(/0+$/, '');
  const n = q + k;
  const length = digits.length;
  if (length <= n && n <= 21) return digits + '0'.repeat(n - length);
  if (0 < n && n <= 21) return `${digits.slice(0, n)}.${digits.slice(n)}`;
  if (-6 < n && n <= 0) return `0.${'0'.repeat(-n)}${digits}`;
  const e = n - 1;
  const sign = e < 0 ? '-' : '+';
  const head = length === 1 ? digits : `${digits.slice(0, 1)}.${digits.slice(1)}`;
  return `${head}e${sign}${Math.abs(e)}`;
}
