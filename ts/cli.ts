#!/usr/bin/env node
// The `anvil` command: `train <config>` runs a training job from a config file,
// `print-config <config>` prints the merged config, `conformance <dir>` checks against reference cases.

import * as path from 'node:path';

import { AnvilError, Config, loadConfig, Runner, runConformance } from './index';

const USAGE = `Usage:
  anvil train <config> [--work-dir DIR] [--cfg-options K=V ...]
                                          train from a config file (.py, .json, .yaml, .js, .ts)
  anvil print-config <config> [--cfg-options K=V ...] [--format py|json|yaml]
                                          print the merged config (json: exactly its to_dict())
  anvil conformance <dir>                 run reference case files, print pass/FAIL per case
  anvil --version | --help`;

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  switch (command) {
    case 'train':
      return train(rest);
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

function train(args: string[]): number {
  let configFile: string | undefined;
  let workDir: string | undefined;
  const cfgOptions: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--work-dir') {
      workDir = args[++i];
      if (!workDir) throw new AnvilError('--work-dir needs a folder');
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
  // As MMEngine's tools/train.py: --work-dir, else the config's, else work_dirs/<config name>.
  const name = path.basename(configFile, path.extname(configFile));
  const dir = workDir ?? (cfg.work_dir as string | undefined) ?? path.join('work_dirs', name);
  const runner = Runner.fromConfig(cfg, { workDir: dir });
  runner.train();
  for (const [metric, value] of Object.entries(runner.lastMetrics.val ?? {})) console.log(`val ${metric}: ${value.toFixed(4)}`);
  return 0;
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
