import { CanonicalJsonError, type CanonicalJsonErrorCode } from './errors';
import { childPath } from './path';
import { isWellFormed, serializeString } from './string';

type ToJson = { toJSON: (key: string) => unknown };

function hasToJson(value: object): value is ToJson {
  return typeof (value as Partial<ToJson>).toJSON === 'function';
}

/** Containers whose data JSON.stringify would silently drop: refuse them instead. */
function isLossyContainer(value: object): boolean {
  return (
    value instanceof Map ||
    value instanceof Set ||
    value instanceof WeakMap ||
    value instanceof WeakSet ||
    value instanceof Promise ||
    ArrayBuffer.isView(value) ||
    value instanceof ArrayBuffer
  );
}

/**
 * One serialization. The path to the current value is kept as a stack of keys and rendered
 * (`$.a[2]`) only when an error is thrown: the hot path allocates no path strings.
 */
class Canonicalizer {
  /** Objects on the current path from the root: a repeat is a cycle; shared subtrees are fine. */
  private readonly ancestors: object[] = [];
  private readonly keys: Array<string | number> = [];

  private fail(code: CanonicalJsonErrorCode, detail: string): never {
    const path = this.keys.reduce<string>((parent, key) => childPath(parent, key), '$');
    throw new CanonicalJsonError(code, path, detail);
  }

  serialize(input: unknown, key: string): string | undefined {
    let value = input;
    if (typeof value === 'object' && value !== null) {
      if (hasToJson(value)) value = value.toJSON(key);
      // Boxed primitives are unwrapped, as JSON.stringify does.
      if (value instanceof Number) value = Number(value);
      else if (value instanceof String) value = String(value);
      else if (value instanceof Boolean) value = value.valueOf();
    }

    switch (typeof value) {
      case 'string':
        if (!isWellFormed(value))
          this.fail('lone-surrogate', 'string holds a lone surrogate (RFC 8785 §3.2.2.2)');
        return serializeString(value);
      case 'number':
        // RFC 8785 §3.2.2.3: ECMAScript Number::toString; String(-0) is already "0".
        if (!Number.isFinite(value))
          this.fail('non-finite-number', `${String(value)} is not a JSON number`);
        return String(value);
      case 'boolean':
        return value ? 'true' : 'false';
      case 'undefined':
        return undefined;
      case 'bigint':
        return this.fail(
          'bigint',
          'bigint is not a JSON number (I-JSON allows IEEE 754 doubles only)',
        );
      case 'function':
        return this.fail('function', 'functions cannot be serialized');
      case 'symbol':
        return this.fail('symbol', 'symbols cannot be serialized');
      case 'object':
        if (value === null) return 'null';
        return this.serializeContainer(value);
    }
  }

  private serializeContainer(value: object): string {
    if (this.ancestors.includes(value)) this.fail('cycle', 'cyclic structure');
    if (isLossyContainer(value))
      this.fail('unsupported-object', `${value.constructor.name} has no JSON form`);
    this.ancestors.push(value);
    const text = Array.isArray(value) ? this.serializeArray(value) : this.serializeObject(value);
    this.ancestors.pop();
    return text;
  }

  private serializeArray(items: readonly unknown[]): string {
    let text = '[';
    for (let i = 0; i < items.length; i++) {
      this.keys.push(i);
      const item = this.serialize(items[i], String(i));
      if (item === undefined) this.fail('undefined', 'undefined is not allowed in an array');
      this.keys.pop();
      text += i === 0 ? item : `,${item}`;
    }
    return `${text}]`;
  }

  private serializeObject(object: object): string {
    const record = object as Record<string, unknown>;
    let text = '{';
    // The default sort compares UTF-16 code units, the order RFC 8785 §3.2.3 requires.
    for (const key of Object.keys(record).sort()) {
      this.keys.push(key);
      const member = this.serialize(record[key], key);
      // The key of an omitted member is not written, so it cannot make the text ill-formed.
      if (member !== undefined && !isWellFormed(key))
        this.fail('lone-surrogate', 'key holds a lone surrogate (RFC 8785 §3.2.2.2)');
      this.keys.pop();
      // An undefined member is omitted, as JSON.stringify omits it.
      if (member !== undefined)
        text += `${text.length === 1 ? '' : ','}${serializeString(key)}:${member}`;
    }
    return `${text}}`;
  }
}

/** Marks a value the fast path does not handle; the full {@link Canonicalizer} then decides. */
const NOT_PLAIN = Symbol('not plain JSON data');
/** Deeper than this, the fast path gives up (a cycle, or data no event has). */
const FAST_DEPTH = 64;

/** True when `keys` is already in UTF-16 code unit order (RFC 8785 §3.2.3). */
function isSorted(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++)
    if ((keys[i - 1] as string) > (keys[i] as string)) return false;
  return true;
}

/**
 * For plain JSON data (what JSON.parse returns: strings, finite numbers, booleans, null, arrays,
 * objects with Object.prototype or no prototype and no toJSON), a value whose object keys are
 * inserted in RFC 8785 order; JSON.stringify of it is then the canonical text, since it writes
 * strings and numbers exactly as RFC 8785 requires. Copy on change: a part already in order (as
 * JSON.parse of canonical text returns it) is returned as it is. Anything else (including keys
 * starting with a digit, which JavaScript enumerates in numeric order) returns NOT_PLAIN.
 */
function sortedPlain(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string':
      return isWellFormed(value) ? value : NOT_PLAIN;
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : NOT_PLAIN;
    case 'object': {
      if (value === null) return null;
      if (depth > FAST_DEPTH) return NOT_PLAIN;
      if (Array.isArray(value)) {
        let items: unknown[] | undefined;
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          const sorted = item === undefined ? NOT_PLAIN : sortedPlain(item, depth + 1);
          if (sorted === NOT_PLAIN) return NOT_PLAIN;
          if (sorted !== item) items ??= value.slice();
          if (items) items[i] = sorted;
        }
        return items ?? value;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return NOT_PLAIN;
      const record = value as Record<string, unknown>;
      if (typeof record.toJSON === 'function') return NOT_PLAIN;
      const keys = Object.keys(record);
      let changed = !isSorted(keys);
      if (changed) keys.sort(); // the default sort compares UTF-16 code units
      const members: unknown[] = new Array(keys.length);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i] as string;
        const first = key.charCodeAt(0);
        if (first >= 0x30 && first <= 0x39) return NOT_PLAIN;
        const member = record[key];
        if (member !== undefined && !isWellFormed(key)) return NOT_PLAIN;
        // An undefined member is omitted (as JSON.stringify omits it): a copy drops it.
        const sorted = member === undefined ? undefined : sortedPlain(member, depth + 1);
        if (sorted === NOT_PLAIN) return NOT_PLAIN;
        if (sorted !== member || member === undefined) changed = true;
        members[i] = sorted;
      }
      if (!changed) return value;
      const copy: Record<string, unknown> = {};
      for (let i = 0; i < keys.length; i++)
        if (members[i] !== undefined) copy[keys[i] as string] = members[i];
      return copy;
    }
    default:
      return NOT_PLAIN;
  }
}

/**
 * RFC 8785 (JCS) canonical JSON text of `value`.
 *
 * Same input model as JSON.stringify (toJSON is honoured, boxed primitives unwrapped, undefined
 * object members omitted, own enumerable string keys only) but strict where JSON.stringify is
 * lossy: non-finite numbers, bigint, functions, symbols, undefined array items or root, cycles,
 * lone surrogates in strings or keys (RFC 8785 §3.2.2.2 MUST reject them) and Map/Set/typed arrays throw a {@link CanonicalJsonError} naming the path.
 *
 * Plain JSON data (the common case: parsed or built events) takes a fast path, a key-sorted copy
 * written by the native JSON.stringify; the property tests check both paths against a reference.
 */
export function canonicalize(value: unknown): string {
  const plain = sortedPlain(value, 0);
  if (plain !== NOT_PLAIN) return JSON.stringify(plain);
  const text = new Canonicalizer().serialize(value, '');
  if (text === undefined) {
    throw new CanonicalJsonError('undefined', '$', 'undefined has no JSON form');
  }
  return text;
}

/** UTF-8 bytes of {@link canonicalize} (RFC 8785 §3.2.4). */
export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalize(value), 'utf8');
}
