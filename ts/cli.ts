#!/usr/bin/env node
// The `anvil` command: `train <config>` runs a training job from a config file, `test` evaluates
// a checkpoint, `hooks` prints the hook order, `print-config <config>` prints the merged config,
// `conformance <dir>` checks against reference cases.

import * as fs from 'node:fs';
import * as path from 'node:path';

import { AnvilError, CheckpointHook, Config, loadConfig, Runner, runConformance } from './index';
import { finalizeDist, initDist, isMainProcess, launchWorkers, type Launcher } from './dist';
import { loadCheckpoint } from './runner/checkpoint';

const USAGE = `Usage:
  anvil train <config> [--work-dir DIR] [--resume [CKPT]] [--amp] [--launcher none|mpi|anvil] [--cfg-options K=V ...]
                                          train from a config file (.py, .json, .yaml, .js, .ts);
                                          --resume alone resumes the latest checkpoint in the work dir;
                                          --launcher mpi: started by mpirun, anvil: by \`anvil dist\`
  anvil test <config> --checkpoint FILE [--work-dir DIR] [--launcher none|mpi|anvil] [--cfg-options K=V ...]
                                          evaluate a checkpoint on the config's test_dataloader
  anvil dist --nproc N [--nnodes M --node-rank R --master-addr A --master-port P] <config> [train options]
                                          start N training processes here (torchrun's environment; NCCL)
  anvil hooks <config> [--cfg-options K=V ...]
                                          print each stage's hooks and priorities, without training
  anvil print-config <config> [--cfg-options K=V ...] [--format py|json|yaml]
                                          print the merged config (json: exactly its to_dict())
  anvil conformance <dir> [--device cuda] run reference case files, print pass/FAIL per case
                                          (--device: the kernel kinds on a GPU)
  anvil --version | --help`;

function main(argv: string[]): number | Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'dist':
      return dist(rest);
    case 'train':
      return train(rest);
    case 'test':
      return test(rest);
    case 'hooks':
      return hooks(rest);
    case 'print-config':
      return printConfig(rest);
    case 'conformance': {
      const d = rest.indexOf('--device');
      const device = d >= 0 ? rest.splice(d, 2)[1] : undefined;
      if (d >= 0 && device === undefined) throw new AnvilError(`conformance: --device needs a value ('cuda' or 'cuda:N')`);
      if (rest.length !== 1) throw new AnvilError(`conformance: expected one directory argument\n${USAGE}`);
      return runConformance(rest[0], { device }).failed > 0 ? 1 : 0;
    }
    case '--version':
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      console.log(require('../package.json').version);
      return 0;
    case undefined:
    case '--help':
    case '-h':
      console.log(USAGE);
      return command === undefined ? 1 : 0;
    default:
      throw new AnvilError(`unknown command '${command}'\n${USAGE}`);
  }
}

/** The `K=V` arguments after `--cfg-options` at args[i] (up to the next `--option`); returns the last index used. */
function takeCfgOptions(args: string[], i: number, into: string[]): number {
  let j = i + 1;
  for (; j < args.length && !args[j].startsWith('--'); j++) into.push(args[j]);
  if (j === i + 1) throw new AnvilError('--cfg-options needs at least one KEY=VALUE');
  return j - 1;
}

function printConfig(args: string[]): number {
  let configFile: string | undefined;
  let format = 'py';
  const cfgOptions: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--cfg-options') {
      i = takeCfgOptions(args, i, cfgOptions);
    } else if (args[i] === '--format') {
      format = args[++i];
      if (format !== 'py' && format !== 'json' && format !== 'yaml') throw new AnvilError(`print-config: --format must be py, json or yaml, got '${format ?? ''}'`);
    } else if (args[i].startsWith('--')) {
      throw new AnvilError(`print-config: unknown option '${args[i]}'\n${USAGE}`);
    } else if (configFile === undefined) {
      configFile = args[i];
    } else {
      throw new AnvilError(`print-config: unexpected argument '${args[i]}'`);
    }
  }
  if (!configFile) throw new AnvilError(`print-config: expected a config file\n${USAGE}`);
  const cfg = Config.fromFile(configFile, { cfgOptions: cfgOptions.length ? cfgOptions : undefined });
  process.stdout.write(cfg.format(format as 'py' | 'json' | 'yaml'));
  return 0;
}

/** `<config> [--cfg-options ...]` plus the value options `valueOptions` names (e.g. --checkpoint). */
function parseConfigArgs(command: string, args: string[], valueOptions: readonly string[]) {
  let configFile: string | undefined;
  const cfgOptions: string[] = [];
  const values: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--cfg-options') {
      i = takeCfgOptions(args, i, cfgOptions);
    } else if (valueOptions.includes(args[i])) {
      const v = args[++i];
      if (!v || v.startsWith('--')) throw new AnvilError(`${command}: ${args[i - 1]} needs a value`);
      values[args[i - 1]] = v;
    } else if (args[i].startsWith('--')) {
      throw new AnvilError(`${command}: unknown option '${args[i]}'\n${USAGE}`);
    } else if (configFile === undefined) {
      configFile = args[i];
    } else {
      throw new AnvilError(`${command}: unexpected argument '${args[i]}'`);
    }
  }
  if (!configFile) throw new AnvilError(`${command}: expected a config file\n${USAGE}`);
  return { configFile, cfg: loadConfig(configFile, cfgOptions.length ? cfgOptions : undefined), values };
}

/** Builds the config's runner (no run folder) and prints MMEngine's `get_hooks_info()`. */
function hooks(args: string[]): number {
  const { cfg } = parseConfigArgs('hooks', args, []);
  const runner = Runner.fromConfig(cfg, { workDir: null, echo: () => {} });
  console.log(runner.getHooksInfo());
  return 0;
}

/** As MMEngine's tools/test.py: the checkpoint is loaded after before_run, then the test loop runs. */
function test(args: string[]): number {
  const { configFile, cfg, values } = parseConfigArgs('test', args, ['--checkpoint', '--work-dir', '--launcher']);
  const checkpoint = values['--checkpoint'];
  if (!checkpoint) throw new AnvilError('test: --checkpoint FILE is required');
  if (!fs.existsSync(checkpoint)) throw new AnvilError(`test: checkpoint '${checkpoint}' not found`);
  const name = path.basename(configFile, path.extname(configFile));
  const dir = values['--work-dir'] ?? (cfg.work_dir as string | undefined) ?? path.join('work_dirs', name);
  initDist(readLauncher(values['--launcher'] ?? 'none'), cfg);
  const main = isMainProcess();
  const runner = Runner.fromConfig(cfg, { workDir: dir, experimentName: name });
  const metrics = runner.test({ load: () => loadCheckpoint(runner, checkpoint) });
  finalizeDist();
  if (!main) return 0;
  for (const [metric, value] of Object.entries(metrics)) console.log(`test ${metric}: ${value.toFixed(4)}`);
  return 0;
}

function train(args: string[]): number {
  let configFile: string | undefined;
  let workDir: string | undefined;
  let resume: string | null | undefined;
  let amp = false;
  let launcher: Launcher = 'none';
  const cfgOptions: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--work-dir') {
      workDir = args[++i];
      if (!workDir) throw new AnvilError('--work-dir needs a folder');
    } else if (args[i] === '--resume') {
      // As MMEngine's tools/train.py: a checkpoint may follow; alone, the latest in work_dir.
      const next = args[i + 1];
      resume = next !== undefined && !next.startsWith('--') ? args[++i] : null;
    } else if (args[i] === '--launcher') {
      launcher = readLauncher(args[++i]);
    } else if (args[i] === '--amp') {
      amp = true;
    } else if (args[i] === '--cfg-options') {
      i = takeCfgOptions(args, i, cfgOptions);
    } else if (args[i].startsWith('--')) {
      throw new AnvilError(`train: unknown option '${args[i]}'\n${USAGE}`);
    } else if (configFile === undefined) {
      configFile = args[i];
    } else {
      throw new AnvilError(`train: unexpected argument '${args[i]}'`);
    }
  }
  if (!configFile) throw new AnvilError(`train: expected a config file\n${USAGE}`);
  const cfg = loadConfig(configFile, cfgOptions.length ? cfgOptions : undefined);
  // As MMEngine's tools/train.py: join the process group before the runner is built.
  initDist(launcher, cfg);
  const main = isMainProcess();
  if (amp) enableAmp(cfg);
  if (resume !== undefined) {
    cfg.resume = true;
    cfg.load_from = resume;
  }
  // As MMEngine's tools/train.py: --work-dir, else the config's, else work_dirs/<config name>.
  const name = path.basename(configFile, path.extname(configFile));
  const dir = workDir ?? (cfg.work_dir as string | undefined) ?? path.join('work_dirs', name);
  const runner = Runner.fromConfig(cfg, { workDir: dir, experimentName: name });
  runner.train();
  // Every rank reaches the end; then only rank 0 reports.
  finalizeDist();
  if (!main) return 0;
  if (runner.runDir) console.log(`run folder: ${runner.runDir}`);
  for (const hook of runner.hooks) {
    if (!(hook instanceof CheckpointHook)) continue;
    for (const b of hook.bestCheckpoints(runner)) console.log(`best ${b.key}: ${b.score.toFixed(4)}${b.step === null ? '' : ` (${b.unit} ${b.step})`}, checkpoint: ${b.path}`);
  }
  for (const [metric, value] of Object.entries(runner.lastMetrics.val ?? {})) console.log(`val ${metric}: ${value.toFixed(4)}`);
  return 0;
}

/** `--amp` as MMEngine's tools/train.py: an OptimWrapper becomes an AmpOptimWrapper with dynamic loss scaling. */
function enableAmp(cfg: Record<string, unknown>): void {
  const wrapper = cfg.optim_wrapper as Record<string, unknown> | undefined;
  if (!wrapper || typeof wrapper !== 'object') throw new AnvilError('--amp: the config has no optim_wrapper to switch to AmpOptimWrapper');
  const type = wrapper.type ?? 'OptimWrapper';
  if (type === 'AmpOptimWrapper') {
    console.warn('anvil: AMP training is already enabled in your config.');
    return;
  }
  if (type !== 'OptimWrapper') throw new AnvilError(`--amp is only supported when the optimizer wrapper type is \`OptimWrapper\` but got ${String(type)}.`);
  wrapper.type = 'AmpOptimWrapper';
  wrapper.loss_scale = 'dynamic';
}

/** `--launcher`'s value: none, mpi or anvil (MMEngine's choices, with `anvil` for `anvil dist`). */
function readLauncher(value: string | undefined): Launcher {
  if (value !== 'none' && value !== 'mpi' && value !== 'anvil') throw new AnvilError(`--launcher must be none, mpi or anvil, got '${value ?? ''}'`);
  return value;
}

/** `anvil dist [launch options] <config> [train options]`: N local `train --launcher anvil` processes. */
function dist(args: string[]): Promise<number> {
  const options: Record<string, number | string> = {};
  const names: Record<string, [string, 'int' | 'str']> = {
    '--nproc': ['nproc', 'int'],
    '--nnodes': ['nnodes', 'int'],
    '--node-rank': ['nodeRank', 'int'],
    '--master-addr': ['masterAddr', 'str'],
    '--master-port': ['masterPort', 'int'],
  };
  let i = 0;
  for (; i < args.length && args[i].startsWith('--'); i += 2) {
    const spec = names[args[i]];
    if (!spec) throw new AnvilError(`dist: unknown option '${args[i]}' before the config (train options go after it)\n${USAGE}`);
    const v = args[i + 1];
    if (v === undefined || v.startsWith('--')) throw new AnvilError(`dist: ${args[i]} needs a value`);
    options[spec[0]] = spec[1] === 'int' ? Number(v) : v;
  }
  if (options.nproc === undefined) throw new AnvilError(`dist: --nproc N is required\n${USAGE}`);
  const [configFile, ...trainArgs] = args.slice(i);
  if (!configFile) throw new AnvilError(`dist: expected a config file after the launch options\n${USAGE}`);
  if (trainArgs.includes('--launcher')) throw new AnvilError('dist: the processes it starts use --launcher anvil; leave --launcher out');
  return launchWorkers(process.argv[1], ['train', configFile, ...trainArgs, '--launcher', 'anvil'], options as unknown as Parameters<typeof launchWorkers>[2]);
}

function fail(e: unknown): void {
  if (e instanceof AnvilError) {
    console.error(`anvil: ${e.message}`);
    process.exitCode = 2;
  } else {
    throw e;
  }
}

try {
  const status = main(process.argv.slice(2));
  if (typeof status === 'number') process.exitCode = status;
  else status.then((code) => (process.exitCode = code), fail);
} catch (e) {
  fail(e);
}
