// Config errors: ConfigError (an AnvilError) names the file, line and column; PyError is the
// evaluator's Python-style exception (TypeError, KeyError, ...) before a file is attached to it.

import { AnvilError } from '../errors';
import type { Loc } from './python/ast';
import { UnhashableError } from './python/values';

/** A bad config: `file:line:col: what was found`. */
export class ConfigError extends AnvilError {
  override readonly name: string = 'ConfigError';

  constructor(
    readonly file: string | null,
    readonly loc: Loc | null,
    readonly detail: string,
  ) {
    super(formatLocation(file, loc) + detail);
  }
}

function formatLocation(file: string | null, loc: Loc | null): string {
  if (file === null) return loc ? `${loc.line}:${loc.col}: ` : '';
  return loc ? `${file}:${loc.line}:${loc.col}: ` : `${file}: `;
}

/** A Python exception raised while evaluating a config; `loc` is filled in by the statement that ran. */
export class PyError extends Error {
  constructor(
    readonly pyType: string,
    readonly pyMessage: string,
    public loc: Loc | null = null,
  ) {
    super(`${pyType}: ${pyMessage}`);
  }
}

export function pyError(pyType: string, message: string, loc: Loc | null = null): never {
  throw new PyError(pyType, message, loc);
}

/**
 * Any error thrown while running config code, as a PyError with a location: unhashable keys,
 * JS stack overflow and oversized strings become Python's TypeError / RecursionError /
 * MemoryError; ConfigErrors pass through.
 */
export function asPyError(e: unknown, loc: Loc): PyError | ConfigError {
  if (e instanceof ConfigError) return e;
  if (e instanceof PyError) {
    if (!e.loc) e.loc = loc;
    return e;
  }
  if (e instanceof UnhashableError) return new PyError('TypeError', e.message, loc);
  if (e instanceof RangeError && /call stack/i.test(e.message)) return new PyError('RecursionError', 'maximum recursion depth exceeded', loc);
  if (e instanceof RangeError && /Invalid (string|array) length/i.test(e.message)) return new PyError('MemoryError', 'value too large for a config', loc);
  throw e;
}

/** The ConfigError for a PyError raised in `file`. */
export function inFile(e: PyError | ConfigError, file: string): ConfigError {
  return e instanceof ConfigError ? e : new ConfigError(file, e.loc, e.message);
}
