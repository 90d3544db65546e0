import * as fs from 'node:fs';
import {
  openCheckpoint,
  parseVerifierKey,
  verifyConsistency,
  type NoteVerifier,
} from '@tokenledger/ledger-core';

export interface CheckpointCheck {
  ok: boolean;
  message: string;
}

/**
 * A transparency-log monitor's step: fetch the latest checkpoint of a log, check its signature
 * (with pinned keys, or the ledger's published ones), and when a checkpoint was saved before,
 * check that the new one extends it (consistency proof); a smaller size is a rollback, a failing
 * proof a fork. The latest is then saved.
 */
export async function checkCheckpoint(options: {
  url: string;
  logId: string;
  token: string;
  savedFile?: string;
  trustedKeys?: string[];
}): Promise<CheckpointCheck> {
  const headers = { authorization: `Bearer ${options.token}` };
  const get = async (path: string): Promise<Response> => {
    const res = await fetch(`${options.url}${path}`, { headers });
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    return res;
  };
  const keyStrings =
    options.trustedKeys ??
    (
      (await (await get('/v1/ledger/keys')).json()) as { keys: Array<{ verifierKey: string }> }
    ).keys.map((k) => k.verifierKey);
  const verifiers: NoteVerifier[] = keyStrings.flatMap((k) => {
    const parsed = parseVerifierKey(k);
    return parsed.ok ? [parsed.verifier] : [];
  });
  const note = await (
    await get(`/v1/ledger/logs/${encodeURIComponent(options.logId)}/checkpoint`)
  ).text();
  const latest = openCheckpoint(note, verifiers);
  if (!latest.ok)
    return {
      ok: false,
      message: `latest checkpoint of ${options.logId} does not verify: ${latest.error.message}`,
    };
  if (!latest.checkpoint.origin.endsWith(`/${options.logId}`))
    return {
      ok: false,
      message: `checkpoint origin ${latest.checkpoint.origin} is not for ${options.logId}`,
    };
  const size = latest.checkpoint.size;

  if (options.savedFile && fs.existsSync(options.savedFile)) {
    const saved = openCheckpoint(
      fs.readFileSync(options.savedFile, 'utf8'),
      verifiers,
      latest.checkpoint.origin,
    );
    if (!saved.ok)
      return { ok: false, message: `saved checkpoint does not verify: ${saved.error.message}` };
    const old = saved.checkpoint;
    if (size < old.size)
      return {
        ok: false,
        message: `ROLLBACK: latest size ${size} is below the saved size ${old.size}`,
      };
    if (size === old.size) {
      if (!Buffer.from(old.rootHash).equals(Buffer.from(latest.checkpoint.rootHash)))
        return { ok: false, message: `FORK: two different roots signed for size ${size}` };
    } else {
      const proof = (await (
        await get(
          `/v1/ledger/logs/${encodeURIComponent(options.logId)}/proofs/consistency?from=${old.size}&to=${size}`,
        )
      ).json()) as { hashes: string[] };
      const check = verifyConsistency(
        old.size,
        size,
        proof.hashes.map((h) => Buffer.from(h, 'base64')),
        old.rootHash,
        latest.checkpoint.rootHash,
      );
      if (!check.ok)
        return {
          ok: false,
          message: `FORK: the checkpoint of size ${size} does not extend the saved one of size ${old.size} (${check.error.message})`,
        };
    }
  }
  if (options.savedFile) fs.writeFileSync(options.savedFile, note);
  return {
    ok: true,
    message: `${options.logId}: size ${size} verified${options.savedFile ? ' and consistent with the saved checkpoint; saved' : ''}`,
  };
}
