import { cosignatureVerifier, cosignerFromSeed } from '@tokenledger/ledger-core';
import { addCheckpoint, type AddCheckpointArgs } from './client';
import { parseAddCheckpointBody } from './request';
import { TestLog } from './test-support/log';

const log = new TestLog('example.test/log', 20);
const witness = cosignerFromSeed('witness.test/w1', Buffer.alloc(32, 9));
const key = cosignatureVerifier(witness.name, witness.publicKey);

/** A fetch that records the request and answers `status`, `body`, `type`. */
function fakeFetch(status: number, body: string, type = 'text/plain') {
  const seen: { url: string; body: string }[] = [];
  const f: typeof fetch = (url, init) => {
    seen.push({
      url: url instanceof URL ? url.href : JSON.stringify(url),
      body: typeof init?.body === 'string' ? init.body : '',
    });
    return Promise.resolve(new Response(body, { status, headers: { 'content-type': type } }));
  };
  return { fetch: f, seen };
}

const args = (f: typeof fetch): AddCheckpointArgs => ({
  url: 'https://witness.test/prefix',
  oldSize: 5,
  proof: log.proof(5, 12),
  note: log.note(12),
  verifiers: [key],
  fetch: f,
});

describe('addCheckpoint (client)', () => {
  it('posts the spec body to <prefix>/add-checkpoint and returns the verified cosignature', async () => {
    const line = witness.cosign(log.body(12), 1_700_000_000);
    const { fetch, seen } = fakeFetch(200, line);
    const outcome = await addCheckpoint(args(fetch));
    expect(outcome).toMatchObject({
      kind: 'cosigned',
      lines: line,
      cosignatures: [{ timestamp: 1_700_000_000 }],
    });
    expect(seen[0]?.url).toBe('https://witness.test/prefix/add-checkpoint');
    const sent = parseAddCheckpointBody(Buffer.from(seen[0]?.body ?? ''));
    expect(sent).toMatchObject({ ok: true, request: { oldSize: 5, note: log.note(12) } });
  });

  it('reads a 409 as the witness size, and refuses an unreadable one', async () => {
    expect(await addCheckpoint(args(fakeFetch(409, '9\n', 'text/x.tlog.size').fetch))).toEqual({
      kind: 'conflict',
      size: 9,
    });
    expect(await addCheckpoint(args(fakeFetch(409, '9\n', 'text/plain').fetch))).toMatchObject({
      kind: 'refused',
      status: 409,
    });
  });

  it('refuses a 200 whose line is for another checkpoint, or not by the witness', async () => {
    const wrong = witness.cosign(log.body(11), 1);
    expect(await addCheckpoint(args(fakeFetch(200, wrong).fetch))).toMatchObject({
      kind: 'refused',
      status: 200,
      retryable: false,
    });
    const stranger = cosignerFromSeed('stranger.test', Buffer.alloc(32, 1)).cosign(log.body(12), 1);
    expect(await addCheckpoint(args(fakeFetch(200, stranger).fetch))).toMatchObject({
      kind: 'refused',
      message: 'no cosignature by a configured witness key',
    });
  });

  it('marks 5xx and network failures retryable, 4xx not', async () => {
    expect(await addCheckpoint(args(fakeFetch(503, 'busy').fetch))).toMatchObject({
      kind: 'refused',
      retryable: true,
    });
    expect(await addCheckpoint(args(fakeFetch(422, 'bad proof').fetch))).toMatchObject({
      kind: 'refused',
      status: 422,
      message: 'bad proof',
      retryable: false,
    });
    const down = (() => Promise.reject(new Error('ECONNREFUSED'))) as typeof fetch;
    expect(await addCheckpoint(args(down))).toMatchObject({
      kind: 'refused',
      status: 0,
      retryable: true,
    });
  });
});
