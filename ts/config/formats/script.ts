// JavaScript and TypeScript configs (.js/.cjs/.mjs/.ts): the module's default export (or
// module.exports) is the config; ES module and TypeScript syntax are compiled with `typescript`.

import Module from 'node:module';
import * as path from 'node:path';

import { fromPlain } from '../convert';
import { ConfigError } from '../errors';
import { PyDict } from '../python/values';

interface TypeScriptApi {
  transpileModule(input: string, options: { compilerOptions: Record<string, unknown>; fileName: string; reportDiagnostics?: boolean }): { outputText: string };
  ModuleKind: { CommonJS: number };
  ScriptTarget: { ES2022: number };
}

function typescript(file: string): TypeScriptApi {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('typescript') as TypeScriptApi;
  } catch {
    throw new ConfigError(file, null, "loading .mjs/.ts configs (or .js with import/export) needs the 'typescript' package installed");
  }
}

function compile(code: string, file: string): string {
  const ts = typescript(file);
  return ts.transpileModule(code, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    fileName: file,
  }).outputText;
}

function run(code: string, file: string): unknown {
  type NodeModule = Module & { _compile(code: string, file: string): void; paths: string[]; filename: string };
  const ModuleClass = Module as unknown as { new (id: string): NodeModule; _nodeModulePaths(dir: string): string[] };
  const m = new ModuleClass(file);
  m.filename = file;
  m.paths = ModuleClass._nodeModulePaths(path.dirname(file));
  m._compile(code, file);
  const exported = m.exports as Record<string, unknown> | null;
  if (exported && typeof exported === 'object' && (exported.__esModule || Object.keys(exported).length === 1) && 'default' in exported) return exported.default;
  return exported;
}

/** Evaluates a JS/TS config's text (already substituted) and returns its settings. */
export function evaluateScript(text: string, file: string): PyDict {
  const ext = path.extname(file);
  const needsCompile = ext === '.ts' || ext === '.mts' || ext === '.cts' || ext === '.mjs' || /^\s*(import|export)\s/m.test(text);
  let value: unknown;
  try {
    value = run(needsCompile ? compile(text, file) : text, file);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(file, null, `the config module failed to run: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(file, null, 'a config module must export an object of settings (default export or module.exports)');
  }
  // MMEngine drops functions defined at the top level of a config; nested ones are not data
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => typeof v !== 'function');
  const out = new PyDict();
  for (const [k, v] of entries) {
    try {
      out.set(k, fromPlain(v, k));
    } catch (e) {
      if (e instanceof ConfigError) throw new ConfigError(file, null, e.detail);
      throw e;
    }
  }
  return out;
}
