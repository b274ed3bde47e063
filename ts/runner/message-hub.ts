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

  current(): number {
    return this.values.length ? this.values[this.values.length - 1] : NaN;
  }

  get count(): number {
    return this.values.length;
  }
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
}
