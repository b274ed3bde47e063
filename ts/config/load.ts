// Config files to plain objects. JSON and JavaScript modules for now; MMEngine's Python
// syntax (.py), YAML and inheritance arrive with the config system.

import * as fs from 'node:fs';
import * as path from 'node:path';

import { AnvilError } from '../errors';

export type ConfigObject = Record<string, unknown>;

export function loadConfig(file: string): ConfigObject {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) throw new AnvilError(`${file}: config file not found`);
  const ext = path.extname(abs);
  let value: unknown;
  if (ext === '.json') {
    try {
      value = JSON.parse(fs.readFileSync(abs, 'utf8'));
    } catch (e) {
      throw new AnvilError(`${file}: invalid JSON: ${(e as Error).message}`);
    }
  } else if (ext === '.js' || ext === '.cjs') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(abs);
    value = mod && typeof mod === 'object' && 'default' in mod ? mod.default : mod;
  } else {
    throw new AnvilError(`${file}: unsupported config format '${ext}' (this version reads .json, .js and .cjs)`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new AnvilError(`${file}: a config must be a dict of settings at the top level`);
  }
  return value as ConfigObject;
}
