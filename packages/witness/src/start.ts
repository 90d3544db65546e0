// Wiring: config -> key, state store, witness, HTTP server.
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { cosignerFromSeed, type Cosigner } from '@tokenledger/ledger-core';
import type { WitnessConfig } from './config';
import { decodeSeed, loadOrCreateSeed } from './key';
import { witnessServer } from './http';
import { lockStateDir, unlockStateDir } from './lock';
import type { Logger } from './log';
import { FileStateStore, removeLeftoverTemps } from './state';
import { Witness } from './witness';

export interface RunningWitness {
  readonly port: number;
  readonly cosigner: Cosigner;
  close(): Promise<void>;
}

export async function startWitness(config: WitnessConfig, log: Logger): Promise<RunningWitness> {
  await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
  await lockStateDir(config.stateDir);
  await removeLeftoverTemps(config.stateDir);
  let seed: Buffer;
  if (config.seed !== undefined) {
    seed = decodeSeed(config.seed, 'WITNESS_SEED');
  } else {
    const loaded = await loadOrCreateSeed(config.seedFile);
    if (loaded.created) log('info', 'created witness key', { seedFile: config.seedFile });
    seed = loaded.seed;
  }
  const cosigner = cosignerFromSeed(config.name, seed);
  seed.fill(0);
  const store = await FileStateStore.open(join(config.stateDir, 'logs'));
  const witness = new Witness({
    cosigner,
    logs: config.logs,
    store,
    now: () => Math.floor(Date.now() / 1000),
    log,
  });
  const server = witnessServer(witness, { bodyLimit: config.bodyLimit, log });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  log('info', 'witness listening', {
    host: config.host,
    port,
    verifierKey: cosigner.verifierKey,
    origins: config.logs.map((l) => (l.prefix === true ? `${l.origin}*` : l.origin)),
  });
  return {
    port,
    cosigner,
    close: async () => {
      await new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      });
      await unlockStateDir(config.stateDir);
    },
  };
}
