// Pairs one local witness with one Tokenledger ledger, for a one-shot job run before both start
// (docker-compose's `witness-keys`): each side's key is made once in its own state directory, and
// each side gets the other's verifier key pinned in a file it reads at start.
import { mkdir } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { cosignerFromSeed, signerFromSeed, verifierKey } from '@tokenledger/ledger-core';
import { loadOrCreateSeed } from './key';
import { replaceFileAtomically } from './state';

export interface PairOptions {
  /** The ledger's LEDGER_ORIGIN: its key name, and the prefix `<origin>/` of its logs' origins. */
  readonly ledgerOrigin: string;
  /** The ledger's LEDGER_SIGNING_KEY_FILE (base64 Ed25519 seed), created 0600 if missing. */
  readonly ledgerKeyFile: string;
  /** Written: the ledger's LEDGER_WITNESSES, `<witness vkey>@<witnessUrl>`. */
  readonly ledgerWitnessesFile: string;
  readonly witnessName: string;
  /** The witness's WITNESS_SEED_FILE, created 0600 if missing. */
  readonly witnessSeedFile: string;
  /** Written: the witness's WITNESS_CONFIG, its name and the ledger's logs with the ledger's key. */
  readonly witnessConfigFile: string;
  /** Where the ledger submits checkpoints (`add-checkpoint` is appended). */
  readonly witnessUrl: string;
}

export interface Pairing {
  readonly ledgerVerifierKey: string;
  readonly witnessVerifierKey: string;
  /** Which of the two keys this run made (a made ledger key is new to auditors too). */
  readonly created: readonly ('ledger' | 'witness')[];
}

async function seedIn(file: string): Promise<{ seed: Buffer; created: boolean }> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  return loadOrCreateSeed(file);
}

async function writePublic(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await replaceFileAtomically(dirname(file), basename(file), text);
}

/**
 * Makes the missing keys and (re)writes both pinned files from the keys as they are, so running it
 * again changes nothing, and after a key is replaced the pins follow it. MUST NOT overwrite a key.
 * The pinned files hold verifier keys only; they are written 0600 all the same.
 */
export async function pairWitnessWithLedger(options: PairOptions): Promise<Pairing> {
  const ledger = await seedIn(options.ledgerKeyFile);
  const witness = await seedIn(options.witnessSeedFile);
  const ledgerVerifierKey = verifierKey(
    options.ledgerOrigin,
    signerFromSeed(options.ledgerOrigin, ledger.seed).publicKey,
  );
  const witnessVerifierKey = cosignerFromSeed(options.witnessName, witness.seed).verifierKey;
  ledger.seed.fill(0);
  witness.seed.fill(0);
  await writePublic(
    options.witnessConfigFile,
    `${JSON.stringify({
      name: options.witnessName,
      logs: [{ originPrefix: `${options.ledgerOrigin}/`, keys: [ledgerVerifierKey] }],
    })}\n`,
  );
  await writePublic(options.ledgerWitnessesFile, `${witnessVerifierKey}@${options.witnessUrl}\n`);
  return {
    ledgerVerifierKey,
    witnessVerifierKey,
    created: [
      ...(ledger.created ? ['ledger' as const] : []),
      ...(witness.created ? ['witness' as const] : []),
    ],
  };
}
