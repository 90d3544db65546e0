import { CanonicalJsonError } from './errors';
import { serializeNumber } from './number';
import { childPath } from './path';
import { serializeString } from './string';

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

/** UTF-16 code unit order (RFC 8785 §3.2.3); `<` on strings compares code units. */
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

class Canonicalizer {
  /** Objects on the current path from the root: a repeat is a cycle; shared subtrees are fine. */
  private readonly ancestors = new Set<object>();

  serialize(input: unknown, key: string, path: string): string | undefined {
    let value = input;
    if (typeof value === 'object' && value !== null && hasToJson(value)) {
      value = value.toJSON(key);
    }
    // Boxed primitives are unwrapped, as JSON.stringify does.
    if (value instanceof Number) value = Number(value);
    else if (value instanceof String) value = String(value);
    else if (value instanceof Boolean) value = value.valueOf();

    switch (typeof value) {
      case 'string':
        return serializeString(value);
      case 'number':
        return serializeNumber(value, path);
      case 'boolean':
        return value ? 'true' : 'false';
      case 'undefined':
        return undefined;
      case 'bigint':
        throw new CanonicalJsonError('bigint', path, 'bigint is not a JSON number (I-JSON allows IEEE 754 doubles only)');
      case 'function':
        throw new CanonicalJsonError('function', path, 'functions cannot be serialized');
      case 'symbol':
        throw new CanonicalJsonError('symbol', path, 'symbols cannot be serialized');
      case 'object':
        if (value === null) return 'null';
        return this.serializeContainer(value, path);
    }
  }

  private serializeContainer(value: object, path: string): string {
    if (this.ancestors.has(value)) {
      throw new CanonicalJsonError('cycle', path, 'cyclic structure');
    }
    if (isLossyContainer(value)) {
      throw new CanonicalJsonError('unsupported-object', path, `${value.constructor.name} has no JSON form`);
    }
    this.ancestors.add(value);
    try {
      return Array.isArray(value) ? this.serializeArray(value, path) : this.serializeObject(value, path);
    } finally {
      this.ancestors.delete(value);
    }
  }

  private serializeArray(items: readonly unknown[], path: string): string {
    const parts: string[] = [];
    for (let i = 0; i < items.length; i++) {
      const itemPath = childPath(path, i);
      const text = this.serialize(items[i], String(i), itemPath);
      if (text === undefined) {
        throw new CanonicalJsonError('undefined', itemPath, 'undefined is not allowed in an array');
      }
      parts.push(text);
    }
    return `[${parts.join(',')}]`;
  }

  private serializeObject(object: object, path: string): string {
    const record = object as Record<string, unknown>;
    const parts: string[] = [];
    for (const key of Object.keys(record).sort(compareCodeUnits)) {
      const text = this.serialize(record[key], key, childPath(path, key));
      // An undefined member is omitted, as JSON.stringify omits it.
      if (text !== undefined) parts.push(`${serializeString(key)}:${text}`);
    }
    return `{${parts.join(',')}}`;
  }
}

/**
 * RFC 8785 (JCS) canonical JSON text of `value`.
 *
 * Same input model as JSON.stringify (toJSON is honoured, boxed primitives unwrapped, undefined
 * object members omitted, own enumerable string keys only) but strict where JSON.stringify is
 * lossy: non-finite numbers, bigint, functions, symbols, undefined array items or root, cycles,
 * and Map/Set/typed arrays throw a {@link CanonicalJsonError} naming the path.
 */
export function canonicalize(value: unknown): string {
  const text = new Canonicalizer().serialize(value, '', '$');
  if (text === undefined) {
    throw new CanonicalJsonError('undefined', '$', 'undefined has no JSON form');
  }
  return text;
}

/** UTF-8 bytes of {@link canonicalize} (RFC 8785 §3.2.4). */
export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalize(value), 'utf8');
}
