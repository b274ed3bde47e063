// IoUMetric (MMSegmentation 1.2's): per-class intersection, union, predicted and labelled pixel
// areas summed over the whole evaluation set, then aAcc and the mean of the per-class IoU / Acc /
// Dice / Fscore / Precision / Recall, in percent rounded to 2 decimals, plus a per-class table in
// the log. MMSeg computes all of it in float32 (torch.histc areas, numpy's nanmean and round);
// every step here is rounded to float32 the same way, so the returned numbers are MMSeg's exactly.

import { AnvilError } from '../errors';
import type { SegmentationOutput } from '../data/batch';
import { currentLogger } from '../runner/logger';
import type { Metric } from './metric';

export type IoUMetricName = 'mIoU' | 'mDice' | 'mFscore';
const ALLOWED: readonly IoUMetricName[] = ['mIoU', 'mDice', 'mFscore'];

export interface IoUMetricOptions {
  /** Label value not scored. Default 255. */
  ignoreIndex?: number;
  /** Which means to compute: 'mIoU' (with mAcc), 'mDice' (with mAcc), 'mFscore' (with mPrecision, mRecall). Default ['mIoU']. */
  iouMetrics?: IoUMetricName[] | IoUMetricName;
  /** Replaces NaN (a class absent from labels and predictions) by this number. Default none. */
  nanToNum?: number | null;
  /** Weight of recall in the F-score. Default 1. */
  beta?: number;
  /** Where results are gathered across processes: 'cpu' or 'gpu' (one process here: nothing to gather). */
  collectDevice?: 'cpu' | 'gpu';
  /** Writing prediction PNGs for a test server (MMSeg's output_dir / format_only) is not supported. */
  outputDir?: string | null;
  formatOnly?: boolean;
  /** Prefix for the result keys (`<prefix>/mIoU`). Default none. */
  prefix?: string | null;
}

/** The dataset's metainfo as the loops hand it over (MMEngine's `dataset_meta`). */
export interface DatasetMeta {
  classes?: readonly string[];
  [key: string]: unknown;
}

/** Per-class pixel areas: intersection, union, prediction and label (float32, as torch.histc gives them). */
export interface ClassAreas {
  intersect: Float32Array;
  union: Float32Array;
  predLabel: Float32Array;
  label: Float32Array;
}

const f = Math.fround;

/**
 * MMSeg's `intersect_and_union` for one map: pixels whose label is `ignoreIndex` are dropped;
 * values outside [0, numClasses) count in no class (torch.histc's range).
 */
export function intersectAndUnion(pred: ArrayLike<number>, label: ArrayLike<number>, numClasses: number, ignoreIndex: number): ClassAreas {
  if (pred.length !== label.length) throw new AnvilError(`IoUMetric: a prediction has ${pred.length} pixels but its label map ${label.length}`);
  const inter = new Float64Array(numClasses);
  const predA = new Float64Array(numClasses);
  const labelA = new Float64Array(numClasses);
  for (let i = 0; i < label.length; i++) {
    const l = label[i];
    if (l === ignoreIndex) continue;
    const p = pred[i];
    const pIn = p >= 0 && p < numClasses;
    if (pIn) predA[p]++;
    if (l >= 0 && l < numClasses) {
      labelA[l]++;
      if (p === l) inter[l]++;
    }
  }
  const out: ClassAreas = { intersect: new Float32Array(inter), union: new Float32Array(numClasses), predLabel: new Float32Array(predA), label: new Float32Array(labelA) };
  for (let c = 0; c < numClasses; c++) out.union[c] = f(predA[c] + labelA[c] - inter[c]);
  return out;
}

/**
 * MMSeg's `total_area_to_metrics`: 'aAcc' (a number) and per-class arrays ('IoU', 'Acc', 'Dice',
 * 'Fscore', 'Precision', 'Recall' as asked), in MMSeg's key order, values in [0, 1] or NaN.
 */
export function totalAreaToMetrics(areas: ClassAreas, metrics: readonly IoUMetricName[], nanToNum: number | null = null, beta = 1): Map<string, number | Float32Array> {
  const { intersect: I, predLabel: P, label: L, union: U } = areas;
  const k = I.length;
  const perClass = (fn: (c: number) => number) => Float32Array.from({ length: k }, (_, c) => fn(c));
  // torch's sum of the float32 areas: exact while the totals stay below 2^24 pixels.
  const ret = new Map<string, number | Float32Array>([['aAcc', f(f(sum(I)) / f(sum(L)))]]);
  for (const m of metrics) {
    if (m === 'mIoU') {
      ret.set('IoU', perClass((c) => f(I[c] / U[c])));
      ret.set('Acc', perClass((c) => f(I[c] / L[c])));
    } else if (m === 'mDice') {
      ret.set('Dice', perClass((c) => f(f(2 * I[c]) / f(P[c] + L[c]))));
      ret.set('Acc', perClass((c) => f(I[c] / L[c])));
    } else {
      const precision = perClass((c) => f(I[c] / P[c]));
      const recall = perClass((c) => f(I[c] / L[c]));
      // (1 + beta^2) * (p * r) / (beta^2 * p + r), each torch op in float32.
      const b2 = beta ** 2;
      ret.set('Fscore', perClass((c) => f(f(f(1 + b2) * f(precision[c] * recall[c])) / f(f(f(b2) * precision[c]) + recall[c]))));
      ret.set('Precision', precision);
      ret.set('Recall', recall);
    }
  }
  if (nanToNum !== null) {
    for (const [key, v] of ret) ret.set(key, typeof v === 'number' ? nanToNumF32(v, nanToNum) : v.map((x) => nanToNumF32(x, nanToNum)));
  }
  return ret;
}

export class IoUMetric implements Metric {
  readonly ignoreIndex: number;
  readonly metrics: readonly IoUMetricName[];
  readonly nanToNum: number | null;
  readonly beta: number;
  readonly prefix: string | null;
  /** Set by the val/test loop from the dataset's metainfo; `classes` gives the class count and names. */
  datasetMeta: DatasetMeta | null = null;
  private totals: ClassAreas | null = null;
  private samples = 0;

  constructor(options: IoUMetricOptions = {}) {
    const { ignoreIndex = 255, iouMetrics = ['mIoU'], nanToNum = null, beta = 1, collectDevice = 'cpu', outputDir = null, formatOnly = false, prefix = null } = options;
    if (!Number.isInteger(ignoreIndex)) throw new AnvilError(`IoUMetric: ignore_index must be an integer, got ${JSON.stringify(ignoreIndex)}`);
    const metrics = typeof iouMetrics === 'string' ? [iouMetrics] : iouMetrics;
    if (!Array.isArray(metrics) || metrics.length === 0 || metrics.some((m) => !ALLOWED.includes(m))) {
      throw new AnvilError(`IoUMetric: iou_metrics ${JSON.stringify(iouMetrics)} is not supported (choose from ${ALLOWED.join(', ')})`);
    }
    if (nanToNum !== null && typeof nanToNum !== 'number') throw new AnvilError(`IoUMetric: nan_to_num must be a number or None, got ${JSON.stringify(nanToNum)}`);
    if (typeof beta !== 'number' || !Number.isFinite(beta)) throw new AnvilError(`IoUMetric: beta must be a number, got ${JSON.stringify(beta)}`);
    if (collectDevice !== 'cpu' && collectDevice !== 'gpu') throw new AnvilError(`IoUMetric: collect_device must be 'cpu' or 'gpu', got ${JSON.stringify(collectDevice)}`);
    if (outputDir !== null || formatOnly) throw new AnvilError('IoUMetric: output_dir / format_only (writing prediction PNGs for a test server) are not supported');
    if (prefix !== null && typeof prefix !== 'string') throw new AnvilError(`IoUMetric: prefix must be a string or None, got ${JSON.stringify(prefix)}`);
    this.ignoreIndex = ignoreIndex;
    this.metrics = [...metrics];
    this.nanToNum = nanToNum;
    this.beta = beta;
    this.prefix = prefix;
  }

  private get classes(): readonly string[] {
    const classes = this.datasetMeta?.classes;
    if (!Array.isArray(classes) || classes.length < 2) {
      throw new AnvilError(`IoUMetric: dataset_meta['classes'] must list at least 2 classes (the evaluated dataset's metainfo), got ${JSON.stringify(classes)}`);
    }
    return classes;
  }

  /** Adds each sample's areas to the running totals (float32 sums, as MMSeg's `sum(results)`). */
  process(_batch: unknown, outputs: readonly unknown[]): void {
    const k = this.classes.length;
    for (const o of outputs as SegmentationOutput[]) {
      if (!o?.predSeg || !o?.gtSeg) throw new AnvilError('IoUMetric: model outputs must carry predSeg and gtSeg (a segmentor such as EncoderDecoder)');
      const a = intersectAndUnion(o.predSeg, o.gtSeg, k, this.ignoreIndex);
      const t = (this.totals ??= { intersect: new Float32Array(k), union: new Float32Array(k), predLabel: new Float32Array(k), label: new Float32Array(k) });
      if (t.intersect.length !== k) throw new AnvilError(`IoUMetric: the class count changed from ${t.intersect.length} to ${k} during an evaluation`);
      for (const key of ['intersect', 'union', 'predLabel', 'label'] as const) {
        const dst = t[key];
        const src = a[key];
        for (let c = 0; c < k; c++) dst[c] = f(dst[c] + src[c]);
      }
      this.samples++;
    }
  }

  /** aAcc, mIoU, mAcc, ... in percent (float32, 2 decimals); logs the per-class table; then forgets the totals. */
  evaluate(_size: number): Record<string, number> {
    const totals = this.totals;
    this.totals = null;
    this.samples = 0;
    if (!totals) throw new AnvilError('IoUMetric: no samples were processed (is the evaluation dataset empty?)');
    const classes = this.classes;
    const ret = totalAreaToMetrics(totals, this.metrics, this.nanToNum, this.beta);
    const results: Record<string, number> = {};
    for (const [key, v] of ret) {
      const name = key === 'aAcc' ? key : `m${key}`;
      results[this.prefix ? `${this.prefix}/${name}` : name] = round2(f(nanmeanF32(v) * 100));
    }
    ret.delete('aAcc');
    const columns: [string, string[]][] = [['Class', [...classes]]];
    for (const [key, v] of ret) columns.push([key, Array.from(v as Float32Array, (x) => float32Str(round2(f(x * 100))))]);
    const log = currentLogger();
    const print = (msg: string) => (log ? log.info(msg) : console.log(msg));
    print('per class results:');
    print('\n' + prettyTable(columns));
    return results;
  }
}

function sum(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

/** np.nan_to_num on float32: NaN -> nan, +-inf -> the largest float32. */
function nanToNumF32(x: number, nan: number): number {
  if (Number.isNaN(x)) return f(nan);
  if (x === Infinity) return 3.4028234663852886e38;
  if (x === -Infinity) return -3.4028234663852886e38;
  return x;
}

/** np.nanmean of a float32 array (or scalar): numpy's pairwise float32 sum of the non-NaN values, over their count. */
export function nanmeanF32(v: number | Float32Array): number {
  const a = typeof v === 'number' ? Float32Array.of(v) : v;
  const clean = a.map((x) => (Number.isNaN(x) ? 0 : x));
  let count = 0;
  for (const x of a) if (!Number.isNaN(x)) count++;
  return count === 0 ? NaN : f(pairwiseSum(clean, 0, clean.length) / count);
}

/** numpy's pairwise summation (8 accumulators up to 128 values, halving above), in float32. */
function pairwiseSum(a: Float32Array, start: number, n: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res = f(res + a[start + i]);
    return res;
  }
  if (n <= 128) {
    const r = Array.from(a.subarray(start, start + 8));
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] = f(r[j] + a[start + i + j]);
    let res = f(f(f(r[0] + r[1]) + f(r[2] + r[3])) + f(f(r[4] + r[5]) + f(r[6] + r[7])));
    for (; i < n; i++) res = f(res + a[start + i]);
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return f(pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2));
}

/** np.round(x, 2) on float32: multiply by 100, round half to even, divide by 100, each in float32. */
function round2(x: number): number {
  const y = f(x * 100);
  let r = Math.round(y);
  if (Math.abs(y % 1) === 0.5 && r % 2 !== 0) r -= 1;
  return f(r / 100);
}

/** str() of a numpy float32: the shortest digits that read back as the same float32 ('75.0', 'nan'). */
export function float32Str(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  let digits = x.toPrecision(9);
  for (let p = 1; p <= 9; p++) {
    const s = x.toPrecision(p);
    if (f(Number(s)) === x) {
      digits = s;
      break;
    }
  }
  const v = Number(digits);
  const abs = Math.abs(v);
  if (abs >= 1e-4 && abs < 1e16) {
    const s = String(v);
    return s.includes('.') ? s : `${s}.0`;
  }
  // numpy's scientific form: 1e-05, 1.5e+20.
  const [mant, exp] = v.toExponential().split('e');
  const e = Number(exp);
  return `${mant}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

/** PrettyTable's default rendering: every cell centred (as str.center), one space of padding. */
export function prettyTable(columns: readonly [string, readonly string[]][]): string {
  const widths = columns.map(([h, vals]) => Math.max(h.length, ...vals.map((v) => v.length)));
  const rule = '+' + widths.map((w) => '-'.repeat(w + 2)).join('+') + '+';
  const row = (cells: string[]) => '|' + cells.map((c, i) => ` ${center(c, widths[i])} `).join('|') + '|';
  const rows = columns[0][1].map((_, r) => row(columns.map(([, vals]) => vals[r])));
  return [rule, row(columns.map(([h]) => h)), rule, ...rows, rule].join('\n');
}

/** Python's str.center: on an odd margin the extra space goes left when the width is odd. */
function center(text: string, width: number): string {
  const marg = width - text.length;
  if (marg <= 0) return text;
  const left = Math.floor(marg / 2) + (marg & width & 1);
  return ' '.repeat(left) + text + ' '.repeat(marg - left);
}
