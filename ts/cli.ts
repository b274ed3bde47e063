#!/usr/bin/env node
// The `anvil` command: `train <config>` runs a training job from a config file,
// `conformance <dir>` checks the engine against reference case files.

import * as path from 'node:path';

import { AnvilError, loadConfig, Runner, runConformance } from './index';

const USAGE = `Usage:
  anvil train <config> [--work-dir DIR]   train from a config file (.json, .js)
  anvil conformance <dir>                 run reference case files, print pass/FAIL per case
  anvil --version | --help`;

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  switch (command) {
    case 'train':
      return train(rest);
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

function train(args: string[]): number {
  let configFile: string | undefined;
  let workDir: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--work-dir') {
      workDir = args[++i];
      if (!workDir) throw new AnvilError('--work-dir needs a folder');
    } else if (args[i].startsWith('--')) {
      throw new AnvilError(`train: unknown option '${args[i]}'\n${USAGE}`);
    } else if (configFile === undefined) {
      configFile = args[i];
    } else {
      throw new AnvilError(`train: unexpected argument '${args[i]}'`);
    }
  }
  if (!configFile) throw new AnvilError(`train: expected a config file\n${USAGE}`);
  const cfg = loadConfig(configFile);
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
