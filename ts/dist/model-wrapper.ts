// `model_wrapper_cfg`: MMEngine wraps the model in MMDistributedDataParallel when it trains on
// several processes; Anvil has no wrapper object, so the options land where they act: the
// optimizer wrappers' gradient sync and the runner's per-iteration buffer broadcast.

import { AnvilError } from '../errors';
import { gradSyncOptions, type GradSyncOptions } from './grad-sync';

export interface DataParallelCfg {
  gradSync: GradSyncOptions;
  /** DDP's `broadcast_buffers`: rank 0's buffers before every training forward. */
  broadcastBuffers: boolean;
}

const KEYS = ['type', 'bucket_cap_mb', 'overlap_grad_reduce', 'broadcast_buffers', 'find_unused_parameters'];

/**
 * Reads `model_wrapper_cfg` (and MMEngine's top-level `find_unused_parameters`). Absent, it is
 * MMEngine's default: MMDistributedDataParallel with broadcast_buffers=False. Unused parameters
 * always count as zero gradients (what find_unused_parameters=True gives), so that key is accepted.
 */
export function readModelWrapperCfg(raw: unknown, findUnused?: unknown): DataParallelCfg {
  const where = 'model_wrapper_cfg';
  if (findUnused !== undefined && findUnused !== null && typeof findUnused !== 'boolean') {
    throw new AnvilError(`find_unused_parameters must be True or False, got ${JSON.stringify(findUnused)}`);
  }
  if (raw === undefined || raw === null) return { gradSync: {}, broadcastBuffers: false };
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new AnvilError(`${where}: expected a dict, got ${JSON.stringify(raw)}`);
  const cfg = raw as Record<string, unknown>;
  const extra = Object.keys(cfg).find((k) => !KEYS.includes(k));
  if (extra !== undefined) throw new AnvilError(`${where}.${extra}: unknown option (accepted: ${KEYS.join(', ')})`);
  const type = cfg.type ?? 'MMDistributedDataParallel';
  if (type !== 'MMDistributedDataParallel') {
    throw new AnvilError(`${where}.type: Anvil's data parallelism is MMDistributedDataParallel, got ${JSON.stringify(type)}`);
  }
  for (const k of ['broadcast_buffers', 'find_unused_parameters']) {
    if (cfg[k] !== undefined && typeof cfg[k] !== 'boolean') throw new AnvilError(`${where}.${k} must be True or False, got ${JSON.stringify(cfg[k])}`);
  }
  const gradSync = { bucketCapMb: cfg.bucket_cap_mb as number | undefined, overlap: cfg.overlap_grad_reduce as boolean | undefined };
  gradSyncOptions(gradSync);
  return { gradSync, broadcastBuffers: (cfg.broadcast_buffers as boolean | undefined) ?? false };
}
