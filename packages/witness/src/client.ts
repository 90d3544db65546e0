// What a log needs to ask a witness for a cosignature (c2sp.org/tlog-witness add-checkpoint).
import {
  openCosignatures,
  type CosignatureVerifier,
  type ParsedCosignature,
} from '@tokenledger/ledger-core';
import { formatAddCheckpointBody } from './request';

export type AddCheckpointOutcome =
  /** The witness cosigned: its verified lines (append them to the note) and all it sent. */
  | {
      readonly kind: 'cosigned';
      readonly cosignatures: readonly ParsedCosignature[];
      readonly lines: string;
    }
  /** 409: the witness's last cosigned size; retry from it with a proof from that size. */
  | { readonly kind: 'conflict'; readonly size: number }
  | {
      readonly kind: 'refused';
      readonly status: number;
      readonly message: string;
      /** 5xx and network failures are worth retrying; 4xx are not. */
      readonly retryable: boolean;
    };

export interface AddCheckpointArgs {
  /** The witness's submission prefix, e.g. `https://witness.example/` (add-checkpoint is appended). */
  readonly url: string;
  readonly oldSize: number;
  readonly proof: readonly Uint8Array[];
  /** The signed checkpoint note. */
  readonly note: string;
  /** The witness's key(s); a 200 answer without a valid cosignature by one of them is refused. */
  readonly verifiers: readonly CosignatureVerifier[];
  readonly fetch?: typeof fetch;
  readonly signal?: AbortSignal;
}

export async function addCheckpoint(args: AddCheckpointArgs): Promise<AddCheckpointOutcome> {
  const doFetch = args.fetch ?? fetch;
  const url = new URL('add-checkpoint', args.url.endsWith('/') ? args.url : `${args.url}/`);
  const body = formatAddCheckpointBody({
    oldSize: args.oldSize,
    proof: args.proof.map((p) => Buffer.from(p)),
    note: args.note,
  });
  let res: Response;
  try {
    res = await doFetch(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      ...(args.signal === undefined ? {} : { signal: args.signal }),
    });
  } catch (err) {
    return { kind: 'refused', status: 0, message: (err as Error).message, retryable: true };
  }
  const text = await res.text();
  if (res.status === 409) {
    const size = /^(0|[1-9][0-9]*)\n$/.exec(text);
    if (res.headers.get('content-type')?.startsWith('text/x.tlog.size') && size !== null)
      return { kind: 'conflict', size: Number(size[1]) };
    return {
      kind: 'refused',
      status: 409,
      message: `unreadable 409 answer: ${text.slice(0, 200)}`,
      retryable: false,
    };
  }
  if (res.status !== 200)
    return {
      kind: 'refused',
      status: res.status,
      message: text.trim().slice(0, 500),
      retryable: res.status >= 500,
    };
  const split = args.note.lastIndexOf('\n\n');
  const checkpointBody = args.note.slice(0, split + 1);
  const opened = openCosignatures(checkpointBody, text, args.verifiers);
  if (!opened.ok)
    return {
      kind: 'refused',
      status: 200,
      message: `answer line ${opened.error.line}: ${opened.error.code}: ${opened.error.message}`,
      retryable: false,
    };
  if (opened.cosignatures.verified.length === 0)
    return {
      kind: 'refused',
      status: 200,
      message: 'no cosignature by a configured witness key',
      retryable: false,
    };
  return { kind: 'cosigned', cosignatures: opened.cosignatures.verified, lines: text };
}
