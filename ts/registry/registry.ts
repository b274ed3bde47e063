// Registry: maps MMEngine type names (`type='AdamW'`) to builders, so config dicts become
// objects. Errors name the key path of the config dict that failed to build.

import { AnvilError } from '../errors';
import { camelizeKeys } from '../util/names';

/** Builds an object from a config dict's arguments (everything but `type`, keys as in the config). */
export type Builder<T> = (args: Record<string, unknown>) => T;

export interface ConfigDict {
  type: string;
  [key: string]: unknown;
}

export class Registry<T = unknown> {
  private readonly builders = new Map<string, Builder<T>>();

  constructor(readonly name: string) {}

  /** Registers a builder under `type`; re-registering a name needs `force`. */
  register(type: string, builder: Builder<T>, options: { force?: boolean } = {}): this {
    if (this.builders.has(type) && !options.force) {
      throw new AnvilError(`${this.name}: '${type}' is already registered (pass { force: true } to replace it)`);
    }
    this.builders.set(type, builder);
    return this;
  }

  /**
   * Registers a class whose constructor takes one camelCase options object. With `accepts`
   * (the config's snake_case keys), any other key is an error, as an unknown keyword argument
   * is in MMEngine, instead of a typo being silently ignored.
   */
  registerClass(
    type: string,
    cls: new (options: never) => T,
    options: { accepts?: readonly string[]; force?: boolean } = {},
  ): this {
    const ctor = cls as unknown as new (options: Record<string, unknown>) => T;
    const accepts = options.accepts;
    return this.register(
      type,
      (args) => {
        if (accepts) {
          const unknown = Object.keys(args).find((k) => !accepts.includes(k));
          if (unknown !== undefined) {
            throw new AnvilError(`${type}: unexpected argument '${unknown}' (accepted: ${accepts.join(', ') || 'none'})`);
          }
        }
        return new ctor(camelizeKeys(args));
      },
      options,
    );
  }

  has(type: string): boolean {
    return this.builders.has(type);
  }

  names(): string[] {
    return [...this.builders.keys()];
  }

  /** Builds `{type, ...args}`; `where` names the config key for error messages. */
  build<R extends T = T>(cfg: unknown, where: string = this.name, extraArgs: Record<string, unknown> = {}): R {
    if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) {
      throw new AnvilError(`${where}: expected a dict with a 'type' key, got ${describe(cfg)}`);
    }
    const { type, ...args } = cfg as Record<string, unknown>;
    if (typeof type !== 'string') {
      throw new AnvilError(`${where}.type: expected a registered type name (string), got ${describe(type)}`);
    }
    const builder = this.builders.get(unscoped(type, `${where}.type`));
    if (!builder) {
      const known = this.names().sort().join(', ') || 'none';
      throw new AnvilError(`${where}.type: '${type}' is not registered in ${this.name} (registered: ${known})`);
    }
    try {
      return builder({ ...args, ...extraArgs }) as R;
    } catch (e) {
      if (e instanceof AnvilError && !e.message.startsWith(where)) {
        throw new AnvilError(`${where} (${type}): ${e.message}`, { cause: e });
      }
      throw e;
    }
  }
}

let defaultScope: string | null = null;

/**
 * MMEngine's `default_scope` (e.g. 'mmseg'): a type may then be written with that scope as a
 * prefix (`mmseg.SegVisualizationHook`), as may MMEngine's own root scope (`mmengine.`).
 */
export function setDefaultScope(scope: string | null): void {
  if (scope !== null && (typeof scope !== 'string' || !/^[A-Za-z_][\w]*$/.test(scope))) {
    throw new AnvilError(`default_scope: expected a scope name such as 'mmseg', got ${describe(scope)}`);
  }
  defaultScope = scope;
}

export function getDefaultScope(): string | null {
  return defaultScope;
}

/** The type name without a `scope.` prefix naming the default or the root scope. */
function unscoped(type: string, where: string): string {
  const dot = type.indexOf('.');
  if (dot < 0) return type;
  const scope = type.slice(0, dot);
  if (scope === 'mmengine' || scope === defaultScope) return type.slice(dot + 1);
  throw new AnvilError(`${where}: '${type}' names scope '${scope}', which is not available (default_scope: ${defaultScope === null ? 'None' : `'${defaultScope}'`})`);
}

export function describe(value: unknown): string {
  if (value === null) return 'None';
  if (value === undefined) return 'nothing (key missing)';
  if (Array.isArray(value)) return `a list (${JSON.stringify(value).slice(0, 60)})`;
  if (typeof value === 'object') return `a dict (${JSON.stringify(value).slice(0, 60)})`;
  if (typeof value === 'string') return `'${value}'`;
  return `${typeof value} ${String(value)}`;
}
