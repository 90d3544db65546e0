// The witness: add-checkpoint and the monitoring checkpoint, transport-neutral (status, type, body).
import { createHash } from 'node:crypto';
import type { Cosigner } from '@tokenledger/ledger-core';
import { REJECT_STATUS, decideAddCheckpoint, logFor, noteOrigin, type LogConfig } from './decide';
import type { Logger } from './log';
import { parseAddCheckpointBody } from './request';
import { KeyedSerializer, type StateStore } from './state';

export interface WitnessResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

export interface WitnessDeps {
  readonly cosigner: Cosigner;
  readonly logs: readonly LogConfig[];
  readonly store: StateStore;
  /** POSIX seconds; injected so tests are deterministic. */
  readonly now: () => number;
  readonly log: Logger;
}

/** The spec's content type of a 409 answer: the last cosigned size and a newline. */
export const SIZE_CONTENT_TYPE = 'text/x.tlog.size';
const TEXT = 'text/plain; charset=utf-8';

const text = (status: number, body: string): WitnessResponse => ({
  status,
  contentType: TEXT,
  body: body.endsWith('\n') ? body : `${body}\n`,
});

const originHash = (origin: string): string =>
  createHash('sha256').update(origin, 'utf8').digest('hex');

export class Witness {
  private readonly byOrigin: ReadonlyMap<string, LogConfig>;
  private readonly prefixes: readonly LogConfig[];
  /** Exact origins, and the origins under a prefix that were seen since start. */
  private readonly byOriginHash = new Map<string, LogConfig>();
  private readonly serializer = new KeyedSerializer();

  constructor(private readonly deps: WitnessDeps) {
    this.byOrigin = new Map(deps.logs.filter((l) => l.prefix !== true).map((l) => [l.origin, l]));
    this.prefixes = deps.logs.filter((l) => l.prefix === true);
    for (const l of this.byOrigin.values()) this.byOriginHash.set(originHash(l.origin), l);
  }

  /**
   * POST add-checkpoint. Requests for one origin are serialized: the check against the recorded
   * state and the write of the new state happen with no other request for that origin in between,
   * and the state is durable before any cosignature leaves this method.
   */
  async addCheckpoint(body: Uint8Array): Promise<WitnessResponse> {
    const parsed = parseAddCheckpointBody(body);
    if (!parsed.ok) return text(400, parsed.error.message);
    const origin = noteOrigin(parsed.request.note);
    const log = origin === undefined ? undefined : logFor(origin, this.byOrigin, this.prefixes);
    if (log === undefined) {
      this.deps.log('info', 'unknown origin', { origin });
      return text(404, 'unknown log origin');
    }
    if (this.prefixes.length > 0) this.byOriginHash.set(originHash(log.origin), log);
    return this.serializer.run(log.origin, async () => {
      const state = await this.deps.store.read(log.origin);
      const decision = decideAddCheckpoint(parsed.request, log, state);
      if (decision.kind === 'reject') {
        const status = REJECT_STATUS[decision.code];
        this.deps.log(status === 422 ? 'warn' : 'info', 'checkpoint refused', {
          origin: log.origin,
          code: decision.code,
          status,
          reason: decision.message,
          oldSize: parsed.request.oldSize,
          // A signed checkpoint inconsistent with what was cosigned may be evidence of a split view.
          ...(status === 422 ? { note: parsed.request.note } : {}),
        });
        if (decision.currentSize !== undefined)
          return { status, contentType: SIZE_CONTENT_TYPE, body: `${decision.currentSize}\n` };
        return text(status, decision.message);
      }
      const line = this.deps.cosigner.cosign(decision.body, this.deps.now());
      // Durable before the line leaves: after a crash the witness remembers what it may have signed.
      if (decision.next !== undefined)
        await this.deps.store.write({ ...decision.next, cosignature: line });
      this.deps.log('info', 'checkpoint cosigned', {
        origin: log.origin,
        oldSize: parsed.request.oldSize,
        size: decision.checkpoint.size,
        rootHash: decision.checkpoint.rootHash.toString('base64'),
      });
      return text(200, line);
    });
  }

  /**
   * GET <origin hash>/checkpoint: the last cosigned checkpoint as the log signed it, with the
   * cosignature add-checkpoint returned for it.
   */
  async latestCheckpoint(hash: string): Promise<WitnessResponse> {
    let log = this.byOriginHash.get(hash);
    if (log === undefined && this.prefixes.length > 0 && this.deps.store.originOf) {
      // An origin under a prefix not seen since start: its state file, if any, names it.
      const origin = await this.deps.store.originOf(hash);
      log = origin === undefined ? undefined : logFor(origin, this.byOrigin, this.prefixes);
    }
    if (log === undefined) return text(404, 'unknown log origin');
    return this.serializer.run(log.origin, async () => {
      const state = await this.deps.store.read(log.origin);
      if (state?.cosignature === undefined)
        return text(404, 'no checkpoint cosigned for this log yet');
      return text(200, `${state.note}${state.cosignature}`);
    });
  }
}
