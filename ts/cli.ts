#!/usr/bin/env node
// The `anvil` command: `train <config>` runs a training job from a config file, `test` evaluates
// a checkpoint, `hooks` prints the hook order, `print-config <config>` prints the merged config,
// `conformance <dir>` checks against reference cases.

import * as fs from 'node:fs';
import * as path from 'node:path';

import { AnvilError, Config, loadConfig, Runner, runConformance } from './index';
import { loadCheckpoint } from './runner/checkpoint';

const USAGE = `Usage:
  anvil train <config> [--work-dir DIR] [--resume [CKPT]] [--amp] [--cfg-options K=V ...]
                                          train from a config file (.py, .json, .yaml, .js, .ts);
                                          --resume alone resumes the latest checkpoint in the work dir
  anvil test <config> --checkpoint FILE [--work-dir DIR] [--cfg-options K=V ...]
                                          evaluate a checkpoint on the config's test_dataloader
  anvil hooks <config> [--cfg-options K=V ...]
                                          print each stage's hooks and priorities, without training
  anvil print-config <config> [--cfg-options K=V ...] [--format py|json|yaml]
                                          print the merged config (json: exactly its to_dict())
  anvil conformance <dir>                 run reference case files, print pass/FAIL per case
  anvil --version | --help`;

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  switch (command) {
    case 'train':
      return train(rest);
    case 'test':
      return test(rest);
    case 'hooks':
      return hooks(rest);
    case 'print-config':
      return printConfig(rest);
    case 'conformance': {
      if (rest.length !== 1) throw new AnvilError(`conformance: expected one directory argument\n${USAGE}`);
      return runConformance(rest[0]).failed > 0 ? 1 : 0;
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
  const { configFile, cfg, values } = parseConfigArgs('test', args, ['--checkpoint', '--work-dir']);
  const checkpoint = values['--checkpoint'];
  if (!checkpoint) throw new AnvilError('test: --checkpoint FILE is required');
  if (!fs.existsSync(checkpoint)) throw new AnvilError(`test: checkpoint '${checkpoint}' not found`);
  const name = path.basename(configFile, path.extname(configFile));
  const dir = values['--work-dir'] ?? (cfg.work_dir as string | undefined) ?? path.join('work_dirs', name);
  const runner = Runner.fromConfig(cfg, { workDir: dir, experimentName: name });
  const metrics = runner.test({ load: () => loadCheckpoint(runner, checkpoint) });
  for (const [metric, value] of Object.entries(metrics)) console.log(`test ${metric}: ${value.toFixed(4)}`);
  return 0;
}

function train(args: string[]): number {
  let configFile: string | undefined;
  let workDir: string | undefined;
  let resume: string | null | undefined;
  let amp = false;
  const cfgOptions: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--work-dir') {
      workDir = args[++i];
      if (!workDir) throw new AnvilError('--work-dir needs a folder');
    } else if (args[i] === '--resume') {
      // As MMEngine's tools/train.py: a checkpoint may follow; alone, the latest in work_dir.
      const next = args[i + 1];
      resume = next !== undefined && !next.startsWith('--') ? args[++i] : null;
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

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  if (e instanceof AnvilError) {
    console.error(`anvil: ${e.message}`);
    process.exitCode = 2;
  } else {
    throw e;
  }
}
