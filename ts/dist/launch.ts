// Joining a process group as MMEngine's `init_dist` does: the launcher says where rank and world
// size come from (`mpi`: mpirun's environment; `anvil`: `anvil dist`'s, which is torchrun's), the
// config's `env_cfg.dist_cfg.backend` which collective library runs ('mpi' or 'nccl').

import { AnvilError } from '../errors';
import { describe } from '../registry/registry';
import { NativeCollective, type Backend } from './collective';
import { setDist, type DistContext } from './context';
import { loadDistNative } from './native-dist';

/** Environment variables (`process.env`), typed without Node's globals so the shipped declarations stand alone. */
type Env = Record<string, string | undefined>;

export type Launcher = 'none' | 'mpi' | 'anvil';
export const LAUNCHERS: readonly Launcher[] = ['none', 'mpi', 'anvil'];

/** `env_cfg.dist_cfg`: the backend and, in seconds, how long a collective may wait. */
export interface DistCfg {
  backend: Backend;
  timeout: number | null;
}

/** Reads `env_cfg.dist_cfg` (MMEngine's keys); the backend defaults to MPI under mpirun, NCCL under `anvil dist`. */
export function readDistCfg(cfg: Record<string, unknown>, launcher: Exclude<Launcher, 'none'>): DistCfg {
  const env = cfg.env_cfg;
  if (env !== undefined && env !== null && (typeof env !== 'object' || Array.isArray(env))) throw new AnvilError(`env_cfg: expected a dict, got ${describe(env)}`);
  const raw = (env as Record<string, unknown> | undefined)?.dist_cfg ?? {};
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new AnvilError(`env_cfg.dist_cfg: expected a dict such as dict(backend='mpi'), got ${describe(raw)}`);
  const { backend = launcher === 'mpi' ? 'mpi' : 'nccl', timeout = null, ...rest } = raw as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length) throw new AnvilError(`env_cfg.dist_cfg.${extra[0]}: unknown option (accepted: backend, timeout)`);
  if (backend !== 'mpi' && backend !== 'nccl') {
    throw new AnvilError(`env_cfg.dist_cfg.backend: Anvil runs 'mpi' (CPUs) or 'nccl' (GPUs), got ${describe(backend)}`);
  }
  if (timeout !== null && (typeof timeout !== 'number' || !(timeout > 0))) throw new AnvilError(`env_cfg.dist_cfg.timeout: expected seconds (a positive number), got ${describe(timeout)}`);
  if (backend === 'mpi' && launcher !== 'mpi') {
    throw new AnvilError("env_cfg.dist_cfg.backend='mpi' needs processes started by mpirun (--launcher mpi); `anvil dist` starts NCCL process groups");
  }
  return { backend, timeout: timeout as number | null };
}

/** Rank, world size and local rank from the launcher's environment. */
export interface LaunchEnv {
  rank: number;
  worldSize: number;
  localRank: number;
  masterAddr: string | null;
  masterPort: number | null;
}

function intVar(env: Env, names: readonly string[], launcher: string, fallback?: number): number {
  for (const name of names) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const v = Number(raw);
    if (!Number.isInteger(v) || v < 0) throw new AnvilError(`--launcher ${launcher}: ${name} must be a non-negative integer, got '${raw}'`);
    return v;
  }
  if (fallback !== undefined) return fallback;
  const how = launcher === 'mpi' ? 'start the processes with mpirun -np N' : 'start the processes with `anvil dist --nproc N`';
  throw new AnvilError(`--launcher ${launcher}: ${names.join(' / ')} is not set; ${how}`);
}

/** MMEngine's `_init_dist_mpi` / `_init_dist_pytorch` environment reading. */
export function readLaunchEnv(launcher: Exclude<Launcher, 'none'>, env: Env = process.env): LaunchEnv {
  const port = (v: string | undefined, fallback: number | null) => {
    if (v === undefined || v === '') return fallback;
    const p = Number(v);
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new AnvilError(`MASTER_PORT must be a port number (1-65535), got '${v}'`);
    return p;
  };
  if (launcher === 'mpi') {
    // Open MPI's, then MPICH's (PMI_*) variables.
    return {
      rank: intVar(env, ['OMPI_COMM_WORLD_RANK', 'PMI_RANK'], 'mpi'),
      worldSize: intVar(env, ['OMPI_COMM_WORLD_SIZE', 'PMI_SIZE'], 'mpi'),
      localRank: intVar(env, ['OMPI_COMM_WORLD_LOCAL_RANK', 'MPI_LOCALRANKID'], 'mpi', 0),
      masterAddr: env.MASTER_ADDR || null,
      masterPort: port(env.MASTER_PORT, 29500),
    };
  }
  const rank = intVar(env, ['RANK'], 'anvil');
  const worldSize = intVar(env, ['WORLD_SIZE'], 'anvil');
  if (rank >= worldSize) throw new AnvilError(`--launcher anvil: RANK ${rank} is not below WORLD_SIZE ${worldSize}`);
  return {
    rank,
    worldSize,
    localRank: intVar(env, ['LOCAL_RANK'], 'anvil', 0),
    masterAddr: env.MASTER_ADDR || null,
    masterPort: port(env.MASTER_PORT, null),
  };
}

/**
 * MMEngine's `init_dist(launcher, backend)`: joins the process group and installs it for the
 * runner (null for launcher 'none'). `timeout` in seconds (default 1800, or ANVIL_DIST_TIMEOUT).
 */
export function initDist(launcher: Launcher, cfg: Record<string, unknown> = {}, env: Env = process.env): DistContext | null {
  if (!LAUNCHERS.includes(launcher)) throw new AnvilError(`--launcher must be one of ${LAUNCHERS.join(', ')}, got '${String(launcher)}'`);
  if (launcher === 'none') return null;
  const { backend, timeout } = readDistCfg(cfg, launcher);
  const where = readLaunchEnv(launcher, env);
  const envTimeout = env.ANVIL_DIST_TIMEOUT;
  if (envTimeout !== undefined && envTimeout !== '' && !(Number(envTimeout) > 0)) throw new AnvilError(`ANVIL_DIST_TIMEOUT must be a positive number of seconds, got '${envTimeout}'`);
  const timeoutS = envTimeout ? Number(envTimeout) : (timeout ?? undefined);
  if (backend === 'nccl' && (!where.masterAddr || !where.masterPort)) {
    throw new AnvilError(`backend 'nccl' needs MASTER_ADDR and MASTER_PORT (rank 0's address for the rendezvous); \`anvil dist\` sets them`);
  }
  const lib = loadDistNative(backend);
  let info;
  try {
    info = lib.distInit({
      backend,
      rank: where.rank,
      worldSize: where.worldSize,
      localRank: where.localRank,
      masterAddr: where.masterAddr ?? undefined,
      masterPort: where.masterPort ?? undefined,
      timeoutS,
    });
  } catch (e) {
    throw new AnvilError(`joining the ${backend} process group (rank ${where.rank} of ${where.worldSize}) failed: ${(e as Error).message}`);
  }
  if (info.rank !== where.rank || info.worldSize !== where.worldSize) {
    throw new AnvilError(`the ${backend} process group says rank ${info.rank} of ${info.worldSize}, the launcher's environment rank ${where.rank} of ${where.worldSize}`);
  }
  const collective = new NativeCollective(lib, info.rank, info.worldSize, backend);
  const ctx: DistContext = Object.assign(collective, { localRank: where.localRank, launcher });
  setDist(ctx);
  return ctx;
}
