// LogProcessor (MMEngine's): turns the message hub's scalars into a tag dict (what LoggerHook
// hands the visualizer) and the one-line log for train/val/test iterations and evaluations.

import { AnvilError } from '../errors';
import { camelizeKeys } from '../util/names';
import type { HistoryBuffer } from './message-hub';
import type { Runner } from './runner';

/**
 * One `custom_cfg` entry (MMEngine's): log `dataSrc` (a scalar's name without the mode prefix)
 * reduced by `methodName` over `windowSize` iterations (an int, 'epoch': since the epoch began,
 * 'global': since training began; all values when left out), as `logName` (default: replace
 * `dataSrc`'s own entry). Config files give the keys in snake_case.
 */
export interface CustomLogCfg {
  dataSrc: string;
  methodName: 'mean' | 'max' | 'min' | 'current';
  logName?: string;
  windowSize?: number | 'epoch' | 'global';
}

const METHODS = ['mean', 'max', 'min', 'current'];

export interface LogProcessorOptions {
  /** Iterations the logged means average over. Default 10. */
  windowSize?: number;
  /**
   * `Epoch(train) [1][ 50/469]` lines when true, `Iter(train) [ 50/2000]` when false. MMEngine's
   * default is true whatever the loop (its Runner sets nothing, so an IterBasedTrainLoop logs
   * `Epoch(train) [1][2000/469]` unless the config says `by_epoch=False`, as MMSegmentation's
   * runtime does); left out here, it follows the train loop: false for IterBasedTrainLoop, true
   * for EpochBasedTrainLoop and without a train loop. Set to true, it gives MMEngine's lines.
   */
  byEpoch?: boolean;
  /** Digits after the point of logged values. Default 4. */
  numDigits?: number;
  /** Reductions replacing or adding to the defaults (MMEngine's `custom_cfg`). */
  customCfg?: Array<CustomLogCfg | Record<string, unknown>> | null;
  /**
   * Scalars whose names match (a regular expression, searched) are averaged over `windowSize`;
   * the others are logged as their latest value. Default MMEngine's `.*(loss|time|data_time|grad_norm).*`,
   * so `loss_scale` is averaged too, and `lr` or AMP's `skipped_steps` are not.
   */
  meanPattern?: string;
}

export type LogMode = 'train' | 'val' | 'test';

export interface LogRecord {
  /** Scalars by name without the mode prefix (plus `epoch`/`iter` for train lines), as MMEngine's tag. */
  tag: Record<string, number>;
  line: string;
}

export class LogProcessor {
  readonly windowSize: number;
  readonly byEpoch: boolean | undefined;
  readonly numDigits: number;
  readonly customCfg: readonly CustomLogCfg[];
  readonly meanPattern: RegExp;

  constructor(options: LogProcessorOptions = {}) {
    const { windowSize = 10, byEpoch, numDigits = 4, customCfg, meanPattern = '.*(loss|time|data_time|grad_norm).*' } = options;
    if (!Number.isInteger(windowSize) || windowSize < 1) throw new AnvilError(`log_processor.window_size must be a positive integer, got ${JSON.stringify(windowSize)}`);
    if (byEpoch !== undefined && typeof byEpoch !== 'boolean') throw new AnvilError(`log_processor.by_epoch must be True or False, got ${JSON.stringify(byEpoch)}`);
    if (!Number.isInteger(numDigits) || numDigits < 0) throw new AnvilError(`log_processor.num_digits must be a non-negative integer, got ${JSON.stringify(numDigits)}`);
    this.windowSize = windowSize;
    this.byEpoch = byEpoch;
    this.numDigits = numDigits;
    this.customCfg = readCustomCfg(customCfg, byEpoch);
    if (typeof meanPattern !== 'string') throw new AnvilError(`log_processor.mean_pattern must be a regular expression string, got ${JSON.stringify(meanPattern)}`);
    try {
      this.meanPattern = new RegExp(meanPattern);
    } catch (e) {
      throw new AnvilError(`log_processor.mean_pattern: ${JSON.stringify(meanPattern)} is not a valid regular expression (${(e as Error).message})`);
    }
  }

  /** Whether lines count by epoch for this runner (the option, else the train loop's kind). */
  isByEpoch(runner: Runner): boolean {
    return this.byEpoch ?? runner.trainLoop?.byEpoch ?? true;
  }

  /** MMEngine's `get_log_after_iter`: `Iter(train) [  50/2000]  lr: 1.0000e-03  eta: 0:00:30  time: 0.0150  data_time: 0.0010  loss: 0.4321`. */
  afterIter(runner: Runner, batchIdx: number, mode: LogMode): LogRecord {
    const hub = runner.messageHub;
    const logTag = this.collect(runner, mode, this.customCfg, batchIdx);
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

  /**
   * MMEngine's `get_log_after_epoch` for val/test: `Iter(val) [79/79]    accuracy: 0.9812  data_time: 0.0010  time: 0.0040`.
   * `batchIdx` is what MMEngine's LoggerHook passes, the dataloader's length, so an 'epoch'
   * window (time and data_time by default) spans length + 1 values, as MMEngine's does.
   */
  afterEpoch(runner: Runner, mode: 'val' | 'test', batchIdx = this.dataloaderLength(runner, mode)): LogRecord {
    const total = this.dataloaderLength(runner, mode);
    let line: string;
    if (this.isByEpoch(runner)) {
      line = mode === 'val' ? `Epoch(${mode}) [${runner.trainLoop ? runner.epoch : 0}][${total}/${total}]  ` : `Epoch(${mode}) [${total}/${total}]  `;
    } else {
      line = `Iter(${mode}) [${total}/${total}]  `;
    }
    // Times are averaged over the pass (unless custom_cfg says otherwise) and logged last.
    const custom = [...this.customCfg];
    for (const src of ['time', 'data_time']) {
      if (!custom.some((c) => c.dataSrc === src || c.dataSrc === `${mode}/${src}`)) custom.push({ dataSrc: src, methodName: 'mean', windowSize: 'epoch' });
    }
    const collected = this.collect(runner, mode, custom, batchIdx);
    const tag: Record<string, number> = {};
    const timeTag: Record<string, number> = {};
    for (const [key, value] of Object.entries(collected)) (key === 'time' || key === 'data_time' ? timeTag : tag)[key] = value;
    const items = Object.entries({ ...tag, ...timeTag }).map(([name, v]) => `${name}: ${v.toFixed(this.numDigits)}`);
    line += `  ${items.join('  ')}`;
    return { tag: { ...tag, ...timeTag }, line };
  }

  /**
   * MMEngine's `_collect_scalars`: the mode's scalars without their prefix, window means for the
   * names `meanPattern` matches, else the latest value; then the `custom` reductions.
   */
  private collect(runner: Runner, mode: LogMode, custom: readonly CustomLogCfg[], batchIdx: number): Record<string, number> {
    // by_epoch left out is known only now (it follows the loop): MMEngine's check of the user's entries.
    if (!this.isByEpoch(runner) && this.customCfg.some((c) => c.windowSize === 'epoch')) {
      throw new AnvilError("log_processor.custom_cfg: window_size cannot be 'epoch' if by_epoch is False");
    }
    const hub = runner.messageHub;
    const out: Record<string, number> = {};
    const histories = new Map<string, HistoryBuffer>();
    for (const full of hub.scalarKeys()) {
      if (!full.startsWith(mode)) continue;
      const key = full.startsWith(`${mode}/`) ? full.slice(mode.length + 1) : full;
      const h = hub.getScalar(full)!;
      histories.set(key, h);
      out[key] = this.meanPattern.test(key) ? h.mean(this.windowSize) : h.current();
    }
    for (const c of custom) {
      const src = c.dataSrc.startsWith(`${mode}/`) ? c.dataSrc.slice(mode.length + 1) : c.dataSrc;
      const h = histories.get(src);
      if (!h) continue;
      const window = c.windowSize === 'epoch' ? batchIdx + 1 : c.windowSize === 'global' ? runner.iter + 1 : c.windowSize;
      out[c.logName ?? c.dataSrc] = c.methodName === 'current' ? h.current() : h[c.methodName](window);
    }
    return out;
  }

  private dataloaderLength(runner: Runner, mode: LogMode): number {
    const loader = mode === 'train' ? runner.trainDataloader : mode === 'val' ? runner.valDataloader : runner.testDataloader;
    return loader?.length ?? 0;
  }
}

/** MMEngine's `_check_custom_cfg`: well-formed entries, no log name written twice, no 'epoch' window when logging by iteration. */
function readCustomCfg(raw: LogProcessorOptions['customCfg'], byEpoch: boolean | undefined): CustomLogCfg[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new AnvilError(`log_processor.custom_cfg must be a list of dicts, got ${JSON.stringify(raw)}`);
  const seen = new Set<string>();
  return raw.map((entry, i) => {
    const at = `log_processor.custom_cfg[${i}]`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw new AnvilError(`${at} must be a dict, got ${JSON.stringify(entry)}`);
    const { dataSrc, methodName, logName, windowSize, ...extra } = camelizeKeys(entry as Record<string, unknown>);
    const unknown = Object.keys(extra)[0];
    if (unknown !== undefined) throw new AnvilError(`${at}: unknown key '${unknown}' (accepted: data_src, method_name, log_name, window_size)`);
    if (typeof dataSrc !== 'string' || dataSrc === '') throw new AnvilError(`${at}.data_src must be the name of a logged scalar, got ${JSON.stringify(dataSrc)}`);
    if (typeof methodName !== 'string' || !METHODS.includes(methodName)) throw new AnvilError(`${at}.method_name must be one of ${METHODS.join(', ')}, got ${JSON.stringify(methodName)}`);
    if (logName !== undefined && typeof logName !== 'string') throw new AnvilError(`${at}.log_name must be a string, got ${JSON.stringify(logName)}`);
    if (windowSize !== undefined && windowSize !== 'epoch' && windowSize !== 'global' && !(Number.isInteger(windowSize) && (windowSize as number) > 0)) {
      throw new AnvilError(`${at}.window_size should be int, epoch or global, but got ${JSON.stringify(windowSize)}`);
    }
    if (methodName === 'current' && windowSize !== undefined) throw new AnvilError(`${at}: method_name 'current' takes no window_size`);
    if (windowSize === 'epoch' && byEpoch === false) throw new AnvilError(`${at}: window_size cannot be 'epoch' if by_epoch is False`);
    const name = (logName as string | undefined) ?? dataSrc;
    if (seen.has(name)) throw new AnvilError(`${at}: found duplicate ${name} for ${dataSrc}; each log_name (data_src when it has none) may be written once`);
    seen.add(name);
    return { dataSrc, methodName, logName, windowSize } as CustomLogCfg;
  });
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
