// `loadConfig(file)`: a config file with its bases and overrides as plain settings, the form the
// runner builds from. The config system itself is in config.ts.

import { Config, type CfgOptions } from './config';

export type ConfigObject = Record<string, unknown>;

export function loadConfig(file: string, cfgOptions?: CfgOptions): ConfigObject {
  return Config.fromFile(file, { cfgOptions }).toDict();
}
