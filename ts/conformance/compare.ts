// Deep comparison of a case's `expected` with what our code produced: the first differing
// field path and both values, floats within the case's tolerance, "inf"/"-inf"/"nan" decoded.

export interface Tolerance {
  rtol: number;
  atol: number;
}

export interface Difference {
  /** e.g. `params[2][1].data[3]` or `state.0.exp_avg.data[1]`; '' for the root. */
  path: string;
  expected: unknown;
  actual: unknown;
}

const NON_FINITE: Record<string, number> = { inf: Infinity, '-inf': -Infinity, nan: NaN };

/** A number, or a float written as "inf" / "-inf" / "nan"; undefined for anything else. */
function asFloat(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  return typeof v === 'string' && Object.hasOwn(NON_FINITE, v) ? NON_FINITE[v] : undefined;
}

function floatsEqual(a: number, b: number, tol: Tolerance | null | undefined): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (a === b) return true;
  if (!tol || !Number.isFinite(a) || !Number.isFinite(b)) return false;
  return Math.abs(a - b) <= tol.atol + tol.rtol * Math.abs(b);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The first place where `actual` differs from `expected` (keys and lengths must match), or null. */
export function compare(expected: unknown, actual: unknown, tolerance?: Tolerance | null, path = ''): Difference | null {
  const diff = { path, expected, actual };
  const a = asFloat(actual);
  const e = asFloat(expected);
  if (e !== undefined || a !== undefined) {
    return e !== undefined && a !== undefined && floatsEqual(a, e, tolerance) ? null : diff;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return diff;
    for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
      const d = compare(expected[i], actual[i], tolerance, `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (isObject(expected)) {
    if (!isObject(actual)) return diff;
    const isTensor = 'shape' in expected && 'data' in expected;
    const keys = [...Object.keys(expected), ...Object.keys(actual).filter((k) => !Object.hasOwn(expected, k))];
    for (const k of keys) {
      const sub = path ? `${path}.${k}` : k;
      if (!Object.hasOwn(expected, k) || !Object.hasOwn(actual, k)) return { path: sub, expected: expected[k], actual: actual[k] };
      const d = compare(expected[k], actual[k], isTensor && k === 'shape' ? null : tolerance, sub);
      if (d) return d;
    }
    return null;
  }
  return expected === actual ? null : diff;
}

/** A value for a report line: `<missing>` for an absent field, JSON (shortened) otherwise. */
export function formatValue(v: unknown, max = 80): string {
  if (v === undefined) return '<missing>';
  if (typeof v === 'number') return String(v);
  const s = JSON.stringify(v) ?? String(v);
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}

export function formatDifference(d: Difference): string {
  return `${d.path || '(root)'}: expected ${formatValue(d.expected)}, got ${formatValue(d.actual)}`;
}
