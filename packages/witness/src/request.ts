// The add-checkpoint request body of c2sp.org/tlog-witness: `old <N>\n`, up to 63 base64 proof
// lines, an empty line, then the signed checkpoint note.
import { HASH_SIZE } from '@tokenledger/ledger-core';

/** The client MUST NOT send more than 63 consistency proof lines. */
export const MAX_PROOF_LINES = 63;

export interface AddCheckpointRequest {
  readonly oldSize: number;
  readonly proof: readonly Buffer[];
  /** The checkpoint note: body, blank line, signature lines. */
  readonly note: string;
}

export type ParseRequestResult =
  | { readonly ok: true; readonly request: AddCheckpointRequest }
  | {
      readonly ok: false;
      readonly error: { readonly code: 'malformed-request'; readonly message: string };
    };

const OLD_LINE = /^old (0|[1-9][0-9]*)$/;
const HASH_LINE = /^[A-Za-z0-9+/]{43}=$/;

function bad(message: string): ParseRequestResult {
  return { ok: false, error: { code: 'malformed-request', message } };
}

/** Parses an add-checkpoint body; never throws. The note itself is checked later. */
export function parseAddCheckpointBody(body: Uint8Array): ParseRequestResult {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body);
  } catch {
    return bad('body is not valid UTF-8');
  }
  const firstBreak = text.indexOf('\n');
  if (firstBreak < 0) return bad('body has no old size line');
  const old = OLD_LINE.exec(text.slice(0, firstBreak));
  if (old === null) return bad('first line must be "old <size>" (decimal, no leading zeros)');
  const oldSize = Number(old[1]);
  if (!Number.isSafeInteger(oldSize)) return bad('old size exceeds 2^53 - 1');

  const proof: Buffer[] = [];
  let at = firstBreak + 1;
  for (;;) {
    const end = text.indexOf('\n', at);
    if (end < 0) return bad('body has no empty line before the checkpoint');
    const line = text.slice(at, end);
    at = end + 1;
    if (line === '') break;
    if (proof.length === MAX_PROOF_LINES)
      return bad(`more than ${MAX_PROOF_LINES} consistency proof lines`);
    if (!HASH_LINE.test(line))
      return bad(`proof line ${proof.length + 1} is not the base64 of a ${HASH_SIZE}-byte hash`);
    const hash = Buffer.from(line, 'base64');
    if (hash.length !== HASH_SIZE || hash.toString('base64') !== line)
      return bad(`proof line ${proof.length + 1} is not canonical base64`);
    proof.push(hash);
  }
  const note = text.slice(at);
  if (note.length === 0) return bad('body has no checkpoint after the empty line');
  return { ok: true, request: { oldSize, proof, note } };
}

/** The body a client sends: the inverse of parseAddCheckpointBody. */
export function formatAddCheckpointBody(request: AddCheckpointRequest): string {
  if (!Number.isSafeInteger(request.oldSize) || request.oldSize < 0)
    throw new RangeError(`old size ${request.oldSize} is not a non-negative safe integer`);
  const proof = request.proof.map((h) => `${Buffer.from(h).toString('base64')}\n`).join('');
  return `old ${request.oldSize}\n${proof}\n${request.note}`;
}
