export { addCheckpoint, type AddCheckpointArgs, type AddCheckpointOutcome } from './client';
export {
  parseAddCheckpointBody,
  formatAddCheckpointBody,
  MAX_PROOF_LINES,
  type AddCheckpointRequest,
  type ParseRequestResult,
} from './request';
export {
  decideAddCheckpoint,
  noteOrigin,
  REJECT_STATUS,
  type Decision,
  type LogConfig,
  type LogState,
  type RejectCode,
} from './decide';
export { Witness, SIZE_CONTENT_TYPE, type WitnessDeps, type WitnessResponse } from './witness';
export { FileStateStore, KeyedSerializer, StateCorruptError, type StateStore } from './state';
export { loadWitnessConfig, ConfigError, ENV, type WitnessConfig } from './config';
export { witnessServer } from './http';
export { startWitness, type RunningWitness } from './start';
export { lockStateDir, unlockStateDir, StateLockError } from './lock';
