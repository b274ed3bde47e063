// `anvil dist`: starts one training process per GPU of this machine with torchrun's environment
// (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT) and watches them.
// When one fails, the others get a few seconds to notice on their own (their watchdog prints
// which peer was lost), then are terminated; the launcher exits with the failed rank's status.

import { spawn, type ChildProcess } from 'node:child_process';

import { AnvilError } from '../errors';

/** Environment variables (`process.env`), typed without Node's globals so the shipped declarations stand alone. */
type Env = Record<string, string | undefined>;

export interface DistLaunchOptions {
  /** Processes on this machine (one per GPU). */
  nproc: number;
  /** Machines taking part. Default 1. */
  nnodes?: number;
  /** This machine's index among them. Default 0. */
  nodeRank?: number;
  /** Rank 0's machine. Default 127.0.0.1. */
  masterAddr?: string;
  /** Rank 0's rendezvous port. Default 29500 (torchrun's). */
  masterPort?: number;
  /** How long the others may take to stop by themselves after a failure before SIGTERM. Default 5000 ms. */
  graceMs?: number;
  /** Where the launcher's own messages go. */
  log?: (line: string) => void;
}

function positiveInt(v: unknown, name: string, min: number): number {
  if (!Number.isInteger(v) || (v as number) < min) throw new AnvilError(`dist: ${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return v as number;
}

/** The environment of each local process, rank order. */
export function workerEnvs(options: DistLaunchOptions, base: Env = process.env): Env[] {
  const nproc = positiveInt(options.nproc, '--nproc', 1);
  const nnodes = positiveInt(options.nnodes ?? 1, '--nnodes', 1);
  const nodeRank = positiveInt(options.nodeRank ?? 0, '--node-rank', 0);
  if (nodeRank >= nnodes) throw new AnvilError(`dist: --node-rank ${nodeRank} must be below --nnodes ${nnodes}`);
  const port = positiveInt(options.masterPort ?? 29500, '--master-port', 1);
  if (port > 65535) throw new AnvilError(`dist: --master-port must be at most 65535, got ${port}`);
  const addr = options.masterAddr ?? '127.0.0.1';
  return Array.from({ length: nproc }, (_, i) => ({
    ...base,
    RANK: String(nodeRank * nproc + i),
    LOCAL_RANK: String(i),
    WORLD_SIZE: String(nnodes * nproc),
    LOCAL_WORLD_SIZE: String(nproc),
    GROUP_RANK: String(nodeRank),
    MASTER_ADDR: addr,
    MASTER_PORT: String(port),
  }));
}

/** Runs `node <script> ...args` once per local rank; resolves to 0, or the first failure's status. */
export function launchWorkers(script: string, args: readonly string[], options: DistLaunchOptions): Promise<number> {
  const envs = workerEnvs(options);
  const log = options.log ?? ((line: string) => console.error(line));
  const grace = options.graceMs ?? 5000;
  return new Promise((resolve) => {
    const children: ChildProcess[] = [];
    const alive = new Set<number>();
    let failure: number | null = null;
    const stopOthers = () => {
      setTimeout(() => {
        for (const i of alive) children[i].kill('SIGTERM');
        setTimeout(() => {
          for (const i of alive) children[i].kill('SIGKILL');
        }, 5000).unref();
      }, grace).unref();
    };
    const forward = (signal: NodeJS.Signals) => () => {
      for (const i of alive) children[i].kill(signal);
    };
    const onInt = forward('SIGINT');
    const onTerm = forward('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    envs.forEach((env, i) => {
      const child = spawn(process.execPath, [script, ...args], { env, stdio: 'inherit' });
      children.push(child);
      alive.add(i);
      child.on('error', (e) => log(`anvil dist: cannot start rank ${env.RANK}: ${e.message}`));
      child.on('exit', (code, signal) => {
        alive.delete(i);
        if ((code !== 0 || signal) && failure === null) {
          failure = code && code > 0 ? code : 1;
          log(`anvil dist: rank ${env.RANK} ${signal ? `was killed by ${signal}` : `exited with status ${code}`}; stopping the other ${alive.size} local rank(s)`);
          stopOthers();
        }
        if (alive.size === 0) {
          process.off('SIGINT', onInt);
          process.off('SIGTERM', onTerm);
          resolve(failure ?? 0);
        }
      });
    });
  });
}
