// MessageHub (MMEngine's): named scalar histories that hooks write (loss, time, lr) and the
// log processor averages over windows, plus runtime info (eta, iteration counts).

export class HistoryBuffer {
  private readonly values: number[] = [];
  private readonly maxLength: number;

  constructor(maxLength = 1_000_000) {
    this.maxLength = maxLength;
  }

  update(value: number): void {
    this.values.push(value);
    if (this.values.length > this.maxLength) this.values.shift();
  }

  /** Mean of the last `window` values (all when omitted); NaN when empty. */
  mean(window?: number): number {
    const vs = window === undefined ? this.values : this.values.slice(-window);
    return vs.length ? vs.reduce((a, b) => a + b, 0) / vs.length : NaN;
  }

  /** Largest of the last `window` values (all when omitted); NaN when empty. */
  max(window?: number): number {
    return this.fold(window, (a, b) => (b > a ? b : a));
  }

  /** Smallest of the last `window` values (all when omitted); NaN when empty. */
  min(window?: number): number {
    return this.fold(window, (a, b) => (b < a ? b : a));
  }

  /** Folds the last `window` values with `pick` (a loop: a spread of a long history would overflow the stack). */
  private fold(window: number | undefined, pick: (a: number, b: number) => number): number {
    const n = this.values.length;
    const from = window === undefined ? 0 : Math.max(0, n - window);
    if (from >= n) return NaN;
    let out = this.values[from];
    for (let i = from + 1; i < n; i++) out = pick(out, this.values[i]);
    return out;
  }

  current(): number {
    return this.values.length ? this.values[this.values.length - 1] : NaN;
  }

  get count(): number {
    return this.values.length;
  }

  /** The recorded values, oldest first (a copy). */
  toArray(): Float64Array {
    return Float64Array.from(this.values);
  }

  /** A buffer holding `values` (the newest `maxLength` of them). */
  static fromArray(values: ArrayLike<number>, maxLength?: number): HistoryBuffer {
    const h = new HistoryBuffer(maxLength);
    for (let i = 0; i < values.length; i++) h.update(values[i]);
    return h;
  }
}

/** MMEngine's `MessageHub.state_dict()`: the scalar histories and the runtime info that can be saved. */
export interface MessageHubStateDict {
  log_scalars: Record<string, Float64Array>;
  runtime_info: Record<string, unknown>;
}

export class MessageHub {
  private readonly scalars = new Map<string, HistoryBuffer>();
  private readonly info = new Map<string, unknown>();

  updateScalar(key: string, value: number): void {
    let h = this.scalars.get(key);
    if (!h) {
      h = new HistoryBuffer();
      this.scalars.set(key, h);
    }
    h.update(value);
  }

  getScalar(key: string): HistoryBuffer | undefined {
    return this.scalars.get(key);
  }

  scalarKeys(): string[] {
    return [...this.scalars.keys()];
  }

  updateInfo(key: string, value: unknown): void {
    this.info.set(key, value);
  }

  getInfo<T = unknown>(key: string): T | undefined {
    return this.info.get(key) as T | undefined;
  }

  /** MMEngine's `update_info_dict`: every entry as `updateInfo`. */
  updateInfoDict(info: Record<string, unknown>): void {
    for (const [key, value] of Object.entries(info)) this.info.set(key, value);
  }

  /** MMEngine's `pop_info`: removes the entry and returns it. */
  popInfo<T = unknown>(key: string): T | undefined {
    const value = this.info.get(key) as T | undefined;
    this.info.delete(key);
    return value;
  }

  hasInfo(key: string): boolean {
    return this.info.has(key);
  }

  /** Runtime info keys in insertion order (MMEngine's `runtime_info`). */
  infoKeys(): string[] {
    return [...this.info.keys()];
  }

  /**
   * The scalar histories (as float64 arrays) and the runtime info made of plain data (numbers,
   * strings, lists, dicts); entries holding anything else are left out, as MMEngine leaves out
   * what it cannot copy.
   */
  stateDict(): MessageHubStateDict {
    const log_scalars: Record<string, Float64Array> = {};
    for (const [key, h] of this.scalars) log_scalars[key] = h.toArray();
    const runtime_info: Record<string, unknown> = {};
    for (const [key, value] of this.info) if (isPlainData(value)) runtime_info[key] = value;
    return { log_scalars, runtime_info };
  }

  /** MMEngine's `load_state_dict`: the saved histories replace these, the saved info is updated in. */
  loadStateDict(state: MessageHubStateDict): void {
    const { log_scalars = {}, runtime_info = {} } = state ?? {};
    for (const [key, values] of Object.entries(log_scalars)) this.scalars.set(key, HistoryBuffer.fromArray(values as ArrayLike<number>));
    for (const [key, value] of Object.entries(runtime_info)) this.info.set(key, value);
  }
}

/** Numbers, strings, booleans, null, and lists / plain dicts of them. */
function isPlainData(value: unknown, depth = 0): boolean {
  if (depth > 32) return false;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return true;
  if (Array.isArray(value)) return value.every((v) => isPlainData(v, depth + 1));
  if (typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return (proto === Object.prototype || proto === null) && Object.values(value as object).every((v) => isPlainData(v, depth + 1));
}
