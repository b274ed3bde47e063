// Anvil's own error type: every bad input (config key, argument, file) surfaces as an
// AnvilError whose message says where the problem is and what was expected.

export class AnvilError extends Error {
  override readonly name: string = 'AnvilError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Throws an AnvilError when `condition` is false. */
export function check(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new AnvilError(typeof message === 'function' ? message() : message);
}
