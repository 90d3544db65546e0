export { verifyBundle, type BundleResult, type BundleSummary } from './bundle';
export { checkCheckpoint, type CheckpointCheck } from './checkpoint';
export { watchOnce, type WatchOptions } from './watch';
