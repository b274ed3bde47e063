// The `config` case kind: writes the case's file tree to a temporary folder, loads the entry
// with Config.fromFile (cfg_options merged as merge_from_dict), and reports `cfg` = toDict().

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { Config } from '../../config';
import { AnvilError } from '../../errors';
import type { ConformanceCase } from '../support';

export function runConfigCase(c: ConformanceCase): { cfg: Record<string, unknown> } {
  const input = c.input as { files?: Record<string, string>; entry?: string; cfg_options?: Record<string, unknown> | null };
  if (!input.files || typeof input.entry !== 'string') throw new AnvilError('config case: input needs files and entry');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'anvil-config-case-'));
  try {
    for (const [rel, text] of Object.entries(input.files)) {
      const file = path.resolve(root, rel);
      if (!file.startsWith(root + path.sep)) throw new AnvilError(`config case: file '${rel}' is outside the case folder`);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text);
    }
    const cfg = Config.fromFile(path.join(root, input.entry), { cfgOptions: input.cfg_options ?? undefined });
    return { cfg: cfg.toDict() };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
