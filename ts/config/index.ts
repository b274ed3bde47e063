// Public surface of the config system: Config, loadConfig, cfg-options parsing and the
// config error type.

export { Config } from './config';
export type { CfgOptions, ConfigLoadOptions, DumpFormat } from './config';
export { loadConfig } from './load';
export type { ConfigObject } from './load';
export { parseCfgOptions, parseOptionValue } from './cfg-options';
export { ConfigError } from './errors';
export { CONFIG_EXTENSIONS } from './loader';
