import * as fs from 'node:fs';
import {
  verifyConsistency,
  verifyTrustedCheckpoint,
  type TrustPolicy,
} from '@tokenledger/ledger-core';
import { refusedBy } from './refusal';

export interface CheckpointCheck {
  ok: boolean;
  message: string;
}

/**
 * A transparency-log monitor's step: fetch the latest checkpoint of a log and check it against the
 * pinned policy (pinned log key, origin `<prefix>/<logId>`, quorum of pinned witnesses; nothing is
 * taken from the ledger), and when a checkpoint was saved before, check that the new one extends
 * it (consistency proof): a smaller size is a rollback, a failing proof a fork, a log that is gone
 * (404) while a checkpoint of it was saved is DISAPPEARED. Only a good latest one is saved.
 */
export async function checkCheckpoint(options: {
  url: string;
  logId: string;
  token: string;
  savedFile?: string;
  trust: TrustPolicy;
}): Promise<CheckpointCheck> {
  const { logId, trust } = options;
  const headers = { authorization: `Bearer ${options.token}` };
  const get = async (path: string): Promise<Response> => {
    const res = await fetch(`${options.url}${path}`, { headers });
    if (!res.ok) throw await refusedBy(path, res);
    return res;
  };
  const savedNote =
    options.savedFile && fs.existsSync(options.savedFile)
      ? fs.readFileSync(options.savedFile, 'utf8')
      : undefined;
  const saved =
    savedNote === undefined
      ? undefined
      : verifyTrustedCheckpoint(savedNote, trust, logId, { requireQuorum: false });
  if (saved && !saved.ok)
    return {
      ok: false,
      message: `${logId}: saved checkpoint does not verify: ${saved.error.code}: ${saved.error.message}`,
    };
  const old = saved?.trusted.checkpoint;

  const res = await fetch(`${options.url}/v1/ledger/logs/${encodeURIComponent(logId)}/checkpoint`, {
    headers,
  });
  if (res.status === 404 && old)
    return {
      ok: false,
      message: `DISAPPEARED: ${logId} has no checkpoint any more (HTTP 404), but one of size ${old.size} was saved`,
    };
  if (!res.ok) throw await refusedBy(`/v1/ledger/logs/${logId}/checkpoint`, res);
  const note = await res.text();
  const latest = verifyTrustedCheckpoint(note, trust, logId);
  if (!latest.ok)
    return {
      ok: false,
      message: `latest checkpoint of ${logId} does not verify: ${latest.error.code}: ${latest.error.message}`,
    };
  const checkpoint = latest.trusted.checkpoint;
  const size = checkpoint.size;

  if (old) {
    if (size < old.size)
      return {
        ok: false,
        message: `ROLLBACK: ${logId}: latest size ${size} is below the saved size ${old.size}`,
      };
    if (size === old.size) {
      if (!old.rootHash.equals(checkpoint.rootHash))
        return {
          ok: false,
          message: `FORK: ${logId}: two different roots signed for size ${size}`,
        };
    } else {
      const proof = (await (
        await get(
          `/v1/ledger/logs/${encodeURIComponent(logId)}/proofs/consistency?from=${old.size}&to=${size}`,
        )
      ).json()) as { hashes: string[] };
      const check = verifyConsistency(
        old.size,
        size,
        proof.hashes.map((h) => Buffer.from(h, 'base64')),
        old.rootHash,
        checkpoint.rootHash,
      );
      if (!check.ok)
        return {
          ok: false,
          message: `FORK: ${logId}: the checkpoint of size ${size} does not extend the saved one of size ${old.size} (${check.error.message})`,
        };
    }
  }
  if (options.savedFile) fs.writeFileSync(options.savedFile, note);
  const witnessed =
    trust.quorum > 0
      ? `, ${latest.trusted.cosignatures.length} of quorum ${trust.quorum} witnesses`
      : '';
  return {
    ok: true,
    message: `${logId}: size ${size} verified${witnessed}${options.savedFile ? (old ? ' and consistent with the saved checkpoint; saved' : '; saved') : ''}`,
  };
}
