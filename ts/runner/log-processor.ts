// LogProcessor (MMEngine's): turns the message hub's scalars into a tag dict (what LoggerHook
// hands the visualizer) and the one-line log for train/val/test iterations and evaluations.

import { AnvilError } from '../errors';
import type { Runner } from './runner';

export interface LogProcessorOptions {
  /** Iterations the logged means average over. Default 10. */
  windowSize?: number;
  /**
   * `Epoch(train) [1][ 50/469]` lines when true, `Iter(train) [ 50/2000]` when false. MMEngine's
   * default is true; left out here, it follows the train loop (false for IterBasedTrainLoop, whose
   * lines MMEngine would number oddly by epoch), and is true without one.
   */
  byEpoch?: boolean;
  /** Digits after the point of logged values. Default 4. */
  numDigits?: number;
}

export type LogMode = 'train' | 'val' | 'test';

export interface LogRecord {
  /** Scalars by name without the mode prefix (plus `epoch`/`iter` for train lines), as MMEngine's tag. */
  tag: Record<string, number>;
  line: string;
}

/** Scalars averaged over the window; others are logged as their latest value. */
const MEAN_PATTERN = /.*(loss|time|data_time|grad_norm).*/;

export class LogProcessor {
  readonly windowSize: number;
  readonly byEpoch: boolean | undefined;
  readonly numDigits: number;

  constructor(options: LogProcessorOptions = {}) {
    const { windowSize = 10, byEpoch, numDigits = 4 } = options;
    if (!Number.isInteger(windowSize) || windowSize < 1) throw new AnvilError(`log_processor.window_size must be a positive integer, got ${JSON.stringify(windowSize)}`);
    if (byEpoch !== undefined && typeof byEpoch !== 'boolean') throw new AnvilError(`log_processor.by_epoch must be True or False, got ${JSON.stringify(byEpoch)}`);
    if (!Number.isInteger(numDigits) || numDigits < 0) throw new AnvilError(`log_processor.num_digits must be a non-negative integer, got ${JSON.stringify(numDigits)}`);
    this.windowSize = windowSize;
    this.byEpoch = byEpoch;
    this.numDigits = numDigits;
  }

  /** Whether lines count by epoch for this runner (the option, else the train loop's kind). */
  isByEpoch(runner: Runner): boolean {
    return this.byEpoch ?? runner.trainLoop?.byEpoch ?? true;
  }

  /** MMEngine's `get_log_after_iter`: `Iter(train) [  50/2000]  lr: 1.0000e-03  eta: 0:00:30  time: 0.0150  data_time: 0.0010  loss: 0.4321`. */
  afterIter(runner: Runner, batchIdx: number, mode: LogMode): LogRecord {
    const hub = runner.messageHub;
    const logTag = this.collect(runner, mode);
    const tag: Record<string, number> = { ...logTag };
    const lrParts: string[] = [];
    for (const [key, value] of Object.entries(logTag)) {
      if (!key.endsWith('lr')) continue;
      delete logTag[key];
      lrParts.push(`${key}: ${pythonExp(value, this.numDigits)}`);
    }
    let line: string;
    if (this.isByEpoch(runner)) {
      const total = this.dataloaderLength(runner, mode);
      const cur = String(batchIdx + 1).padStart(String(total).length);
      if (mode === 'train' || mode === 'val') {
        const epoch = mode === 'train' ? runner.epoch + 1 : runner.trainLoop ? runner.epoch : 0;
        const epochStr = runner.trainLoop ? `[${epoch}]`.padStart(String(runner.maxEpochs).length + 3) : `[${epoch}]`;
        tag.epoch = epoch;
        line = `Epoch(${mode})${epochStr}[${cur}/${total}]  `;
      } else {
        line = `Epoch(${mode}) [${cur}/${total}]  `;
      }
    } else if (mode === 'train') {
      const cur = String(runner.iter + 1).padStart(String(runner.maxIters).length);
      line = `Iter(${mode}) [${cur}/${runner.maxIters}]  `;
    } else {
      const total = this.dataloaderLength(runner, mode);
      line = `Iter(${mode}) [${String(batchIdx + 1).padStart(String(total).length)}/${total}]  `;
    }
    tag.iter = runner.trainLoop ? runner.iter + 1 : 0;
    line += `${lrParts.join(' ')}  `;
    const eta = hub.getInfo<number>('eta');
    if ('time' in logTag && 'data_time' in logTag && eta !== undefined) {
      line += `eta: ${formatDuration(eta)}  `;
      line += `time: ${logTag.time.toFixed(this.numDigits)}  data_time: ${logTag.data_time.toFixed(this.numDigits)}  `;
      delete logTag.time;
      delete logTag.data_time;
    }
    if (mode === 'train' || mode === 'val') {
      const items = Object.entries(logTag)
        .filter(([name]) => mode === 'train' || name.startsWith('val/loss'))
        .map(([name, v]) => `${name}: ${v.toFixed(this.numDigits)}`);
      line += items.join('  ');
    }
    return { tag, line };
  }

  /** MMEngine's `get_log_after_epoch` for val/test: `Iter(val) [79/79]    accuracy: 0.9812  data_time: 0.0010  time: 0.0040`. */
  afterEpoch(runner: Runner, mode: 'val' | 'test'): LogRecord {
    const total = this.dataloaderLength(runner, mode);
    let line: string;
    if (this.isByEpoch(runner)) {
      line = mode === 'val' ? `Epoch(${mode}) [${runner.trainLoop ? runner.epoch : 0}][${total}/${total}]  ` : `Epoch(${mode}) [${total}/${total}]  `;
    } else {
      line = `Iter(${mode}) [${total}/${total}]  `;
    }
    // Times are averaged over the whole pass and logged last.
    const collected = this.collect(runner, mode, { time: total, data_time: total });
    const tag: Record<string, number> = {};
    const timeTag: Record<string, number> = {};
    for (const [key, value] of Object.entries(collected)) (key === 'time' || key === 'data_time' ? timeTag : tag)[key] = value;
    const items = Object.entries({ ...tag, ...timeTag }).map(([name, v]) => `${name}: ${v.toFixed(this.numDigits)}`);
    line += `  ${items.join('  ')}`;
    return { tag: { ...tag, ...timeTag }, line };
  }

  /** The mode's scalars without their prefix: window means for losses and times, else the latest value. */
  private collect(runner: Runner, mode: LogMode, windows: Record<string, number> = {}): Record<string, number> {
    const hub = runner.messageHub;
    const out: Record<string, number> = {};
    for (const full of hub.scalarKeys()) {
      if (!full.startsWith(mode)) continue;
      const key = full.startsWith(`${mode}/`) ? full.slice(mode.length + 1) : full;
      const h = hub.getScalar(full)!;
      out[key] = key in windows ? h.mean(windows[key]) : MEAN_PATTERN.test(key) ? h.mean(this.windowSize) : h.current();
    }
    return out;
  }

  private dataloaderLength(runner: Runner, mode: LogMode): number {
    const loader = mode === 'train' ? runner.trainDataloader : mode === 'val' ? runner.valDataloader : runner.testDataloader;
    return loader?.length ?? 0;
  }
}

/** Seconds as Python's `str(timedelta(seconds=int(s)))`: `H:MM:SS`, days prefixed when long. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const days = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  const hms = `${h}:${String(m).padStart(2, '0')}:${String(rest).padStart(2, '0')}`;
  return days ? `${days} day${days > 1 ? 's' : ''}, ${hms}` : hms;
}

/** Python's `{:.4e}`: `1.0000e-03` (at least two exponent digits). */
export function pythonExp(value: number, digits = 4): string {
  const [mantissa, exp] = value.toExponential(digits).split('e');
  const sign = exp.startsWith('-') ? '-' : '+';
  return `${mantissa}e${sign}${exp.replace(/^[+-]/, '').padStart(2, '0')}`;
}
