// The process group of this process (MMEngine's global dist state): null in a single-process
// run. Samplers, the runner, hooks and the optimizer wrapper consult it at a few points.

import { AnvilError } from '../errors';
import type { Collective } from './collective';

/** A joined process group and how the process was started. */
export interface DistContext extends Collective {
  /** This process's index among the processes of its machine (its GPU with NCCL). */
  readonly localRank: number;
  readonly launcher: 'mpi' | 'anvil' | 'test';
}

let current: DistContext | null = null;

/** The process group, or null when this process runs alone. */
export function getDist(): DistContext | null {
  return current;
}

/** MMEngine's `get_dist_info`: `{rank, worldSize}`, `{0, 1}` without a process group. */
export function getDistInfo(): { rank: number; worldSize: number } {
  return current ? { rank: current.rank, worldSize: current.worldSize } : { rank: 0, worldSize: 1 };
}

/** MMEngine's `is_main_process`: rank 0, or a single process. */
export function isMainProcess(): boolean {
  return !current || current.rank === 0;
}

/** Whether more than one process trains together. */
export function isDistributed(): boolean {
  return current !== null && current.worldSize > 1;
}

/** Installs the process group (initDist does; tests may install a simulated one). */
export function setDist(ctx: DistContext | null): void {
  if (ctx && current) throw new AnvilError('a process group is already set up in this process');
  current = ctx;
}

/** Leaves the process group after a barrier (nothing without one). */
export function finalizeDist(): void {
  const ctx = current;
  if (!ctx) return;
  current = null;
  ctx.finalize();
}
