export { checkCheckpoint, type CheckpointCheck } from './checkpoint';
export { watchOnce, type WatchOptions } from './watch';
