/**
 * What the browser checks itself, with WebCrypto only (SHA-256, Ed25519), trusting nothing the
 * server says: leaf hashes are recomputed from the leaf bytes, inclusion proofs (RFC 6962/9162)
 * are recomputed to the checkpoint's root, the checkpoint's C2SP signed-note signature is checked
 * under the log keys pinned in the console's configuration, and its `cosignature/v1` lines under
 * the pinned witness keys. Every failure names the check and the reason.
 */

const subtle = globalThis.crypto.subtle;
const utf8 = new TextEncoder();

export type CheckName = 'leaf' | 'inclusion' | 'checkpoint-signature' | 'witness-cosignatures';

export type EntryVerdict =
  | { state: 'verified'; checkpointSize: number; cosigners: string[] }
  | { state: 'pending'; reason: string }
  | { state: 'failed'; check: CheckName; reason: string };

export function fromBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function toBase64(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtle.digest('SHA-256', concat(bytes)));
}

/** RFC 6962 leaf hash: SHA-256(0x00 || leaf). */
export const leafHash = (leaf: Uint8Array): Promise<Uint8Array> =>
  sha256(concat(new Uint8Array([0]), leaf));
const nodeHash = (l: Uint8Array, r: Uint8Array): Promise<Uint8Array> =>
  sha256(concat(new Uint8Array([1]), l, r));

/** RFC 9162 §2.1.3.2: the root an inclusion proof leads to, or a reason it cannot. */
export async function rootFromInclusionProof(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: Uint8Array[],
): Promise<{ ok: true; root: Uint8Array } | { ok: false; reason: string }> {
  if (index >= size) return { ok: false, reason: `index ${index} is not below tree size ${size}` };
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (p.length !== 32) return { ok: false, reason: 'a proof hash is not 32 bytes' };
    if (sn === 0) return { ok: false, reason: 'the proof is longer than the tree allows' };
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0)
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) return { ok: false, reason: 'the proof is shorter than the tree needs' };
  return { ok: true, root: r };
}

export interface PinnedKey {
  name: string;
  keyHash: Uint8Array;
  key: CryptoKey;
  vkey: string;
}

/** Parses a pinned `name+hash+base64(type || key)` verifier key and checks its key hash. */
export async function parsePinnedKey(vkey: string, type: 0x01 | 0x04): Promise<PinnedKey> {
  // The base64 part may itself hold '+': split at the first two only.
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+=*)$/.exec(vkey);
  if (!m) throw new Error(`pinned key ${vkey}: not name+hash+base64`);
  const [, name = '', hashHex = '', b64 = ''] = m;
  const raw = fromBase64(b64);
  if (raw.length !== 33 || raw[0] !== type)
    throw new Error(`pinned key ${name}: not an Ed25519 key of type 0x0${type}`);
  const publicKey = raw.subarray(1);
  const computed = (
    await sha256(concat(utf8.encode(name), new Uint8Array([0x0a, type]), publicKey))
  ).subarray(0, 4);
  const hex = [...computed].map((b) => b.toString(16).padStart(2, '0')).join('');
  if (hex !== hashHex)
    throw new Error(`pinned key ${name}: key hash ${hashHex} does not match the key`);
  const key = await subtle.importKey('raw', concat(publicKey), { name: 'Ed25519' }, false, [
    'verify',
  ]);
  return { name, keyHash: computed, key, vkey };
}

export interface SignedNote {
  /** The signed text, ending in "\n". */
  text: string;
  signatures: { name: string; bytes: Uint8Array }[];
}

export function parseNote(note: string): SignedNote {
  const split = note.indexOf('\n\n');
  if (split < 0) throw new Error('the note has no signature block');
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2).split('\n');
  if (lines.pop() !== '') throw new Error('the note does not end in a newline');
  const signatures = lines.map((line) => {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/]+=*)$/.exec(line);
    if (!m?.[1] || !m[2]) throw new Error(`malformed signature line ${JSON.stringify(line)}`);
    return { name: m[1], bytes: fromBase64(m[2]) };
  });
  return { text, signatures };
}

export interface CheckpointBody {
  origin: string;
  size: number;
  root: Uint8Array;
}

export function parseCheckpointBody(text: string): CheckpointBody {
  const [origin, size, root] = text.split('\n');
  if (!origin || !size || !root || !/^(0|[1-9][0-9]*)$/.test(size))
    throw new Error('the checkpoint body is not origin/size/root');
  const hash = fromBase64(root);
  if (hash.length !== 32) throw new Error('the checkpoint root is not 32 bytes');
  return { origin, size: Number(size), root: hash };
}

export type CheckpointVerdict =
  | { ok: true; body: CheckpointBody; signer: string; cosigners: { name: string; time: number }[] }
  | {
      ok: false;
      check: 'checkpoint-signature' | 'witness-cosignatures';
      reason: string;
      body?: CheckpointBody;
    };

/**
 * Checks a cosigned checkpoint of `logId`: one valid signature by a pinned log key, and at least
 * `quorum` valid cosignatures by distinct pinned witness keys.
 */
export async function verifyCheckpoint(
  note: string,
  logId: string,
  logKeys: PinnedKey[],
  witnessKeys: PinnedKey[],
  quorum: number,
): Promise<CheckpointVerdict> {
  let parsed: SignedNote;
  let body: CheckpointBody;
  try {
    parsed = parseNote(note);
    body = parseCheckpointBody(parsed.text);
  } catch (e) {
    return { ok: false, check: 'checkpoint-signature', reason: (e as Error).message };
  }
  if (!body.origin.endsWith(`/${logId}`))
    return {
      ok: false,
      check: 'checkpoint-signature',
      reason: `origin ${body.origin} is not of log ${logId}`,
      body,
    };
  const message = utf8.encode(parsed.text);
  let signer: string | undefined;
  for (const sig of parsed.signatures) {
    const key = logKeys.find(
      (k) => k.name === sig.name && equal(k.keyHash, sig.bytes.subarray(0, 4)),
    );
    if (!key || sig.bytes.length !== 68) continue;
    if (await subtle.verify({ name: 'Ed25519' }, key.key, concat(sig.bytes.subarray(4)), message)) {
      signer = key.name;
      break;
    }
    return {
      ok: false,
      check: 'checkpoint-signature',
      reason: `the signature by ${key.name} does not verify`,
      body,
    };
  }
  if (!signer)
    return {
      ok: false,
      check: 'checkpoint-signature',
      reason:
        logKeys.length === 0
          ? 'no log key is pinned in the console configuration'
          : 'no signature by a pinned log key',
      body,
    };
  const cosigners: { name: string; time: number }[] = [];
  for (const sig of parsed.signatures) {
    const key = witnessKeys.find(
      (k) => k.name === sig.name && equal(k.keyHash, sig.bytes.subarray(0, 4)),
    );
    if (!key || cosigners.some((c) => c.name === key.name)) continue;
    if (sig.bytes.length !== 4 + 8 + 64)
      return {
        ok: false,
        check: 'witness-cosignatures',
        reason: `the cosignature by ${key.name} is malformed`,
        body,
      };
    const view = new DataView(sig.bytes.buffer, sig.bytes.byteOffset);
    const time = Number(view.getBigUint64(4));
    const signed = concat(utf8.encode(`cosignature/v1\ntime ${time}\n`), message);
    if (
      !(await subtle.verify({ name: 'Ed25519' }, key.key, concat(sig.bytes.subarray(12)), signed))
    )
      return {
        ok: false,
        check: 'witness-cosignatures',
        reason: `the cosignature by ${key.name} does not verify`,
        body,
      };
    cosigners.push({ name: key.name, time });
  }
  if (cosigners.length < quorum)
    return {
      ok: false,
      check: 'witness-cosignatures',
      reason: `${cosigners.length} of ${quorum} required pinned witnesses cosigned`,
      body,
    };
  return { ok: true, body, signer, cosigners };
}

/**
 * One entry against its log's verified checkpoint: the leaf hash recomputed from the leaf bytes,
 * then the inclusion proof recomputed to the checkpoint root.
 */
export async function verifyEntry(
  entry: { index: number; leaf: string },
  checkpoint: CheckpointVerdict | undefined,
  proof: string[] | undefined,
): Promise<EntryVerdict> {
  if (!checkpoint) return { state: 'pending', reason: 'no checkpoint of its log yet' };
  if (!checkpoint.ok) {
    if (checkpoint.body && entry.index >= checkpoint.body.size)
      return { state: 'pending', reason: `not yet in a checkpoint (size ${checkpoint.body.size})` };
    return { state: 'failed', check: checkpoint.check, reason: checkpoint.reason };
  }
  if (entry.index >= checkpoint.body.size)
    return { state: 'pending', reason: `not yet in a checkpoint (size ${checkpoint.body.size})` };
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(entry.leaf);
    JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return { state: 'failed', check: 'leaf', reason: 'the leaf bytes are not canonical JSON' };
  }
  if (!proof)
    return { state: 'failed', check: 'inclusion', reason: 'no inclusion proof was served' };
  const root = await rootFromInclusionProof(
    entry.index,
    checkpoint.body.size,
    await leafHash(bytes),
    proof.map(fromBase64),
  );
  if (!root.ok) return { state: 'failed', check: 'inclusion', reason: root.reason };
  if (!equal(root.root, checkpoint.body.root))
    return {
      state: 'failed',
      check: 'inclusion',
      reason: `the leaf's inclusion proof does not lead to the checkpoint root (size ${checkpoint.body.size})`,
    };
  return {
    state: 'verified',
    checkpointSize: checkpoint.body.size,
    cosigners: checkpoint.cosigners.map((c) => c.name),
  };
}
