// LogProcessor (MMEngine's): turns the message hub's scalars into the one-line train and val
// logs LoggerHook prints, averaging each scalar over a window of recent iterations.

import type { MessageHub } from './message-hub';

export interface LogProcessorOptions {
  windowSize?: number;
}

export class LogProcessor {
  readonly windowSize: number;

  constructor(options: LogProcessorOptions = {}) {
    this.windowSize = options.windowSize ?? 10;
  }

  /** `Iter(train) [  50/2000]  lr: 1.0000e-03  eta: 0:00:30  time: 0.0150  data_time: 0.0010  loss: 0.4321` */
  trainLine(hub: MessageHub, iter: number, maxIters: number): string {
    const parts = [`Iter(train) [${String(iter).padStart(String(maxIters).length)}/${maxIters}]`];
    // Learning rates first (`base_lr` and `lr`, keys ending in 'lr'), one space apart as MMEngine prints them.
    const lrKeys = hub.scalarKeys().filter((k) => k.startsWith('train/') && k.endsWith('lr'));
    if (lrKeys.length) parts.push(lrKeys.map((k) => `${k.slice(6)}: ${pythonExp(hub.getScalar(k)!.current())}`).join(' '));
    const eta = hub.getInfo<number>('eta');
    if (eta !== undefined) parts.push(`eta: ${formatDuration(eta)}`);
    // MMEngine's order: timings first, then the model's outputs.
    const keys = hub.scalarKeys().filter((k) => k.startsWith('train/') && !k.endsWith('lr'));
    const timing = ['train/time', 'train/data_time'].filter((k) => keys.includes(k));
    for (const key of [...timing, ...keys.filter((k) => !timing.includes(k))]) {
      parts.push(`${key.slice(6)}: ${hub.getScalar(key)!.mean(this.windowSize).toFixed(4)}`);
    }
    return parts.join('  ');
  }

  /** `Iter(val) [79/79]    accuracy: 0.9812  data_time: 0.0010  time: 0.0040` */
  valLine(hub: MessageHub, mode: 'val' | 'test', batchIdx: number, total: number, metrics?: Record<string, number>): string {
    const parts = [`Iter(${mode}) [${String(batchIdx).padStart(String(total).length)}/${total}]  `];
    for (const [k, v] of Object.entries(metrics ?? {})) parts.push(`${k}: ${v.toFixed(4)}`);
    for (const key of ['data_time', 'time']) {
      const h = hub.getScalar(`${mode}/${key}`);
      if (h) parts.push(`${key}: ${(metrics ? h.mean() : h.mean(this.windowSize)).toFixed(4)}`);
    }
    return parts.join('  ');
  }
}

/** Seconds as `H:MM:SS` (days prefixed when long), as MMEngine prints the ETA. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const days = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  const hms = `${h}:${String(m).padStart(2, '0')}:${String(rest).padStart(2, '0')}`;
  return days ? `${days} day${days > 1 ? 's' : ''}, ${hms}` : hms;
}

/** Python's `{:.4e}`: `1.0000e-03` (at least two exponent digits). */
export function pythonExp(value: number): string {
  const [mantissa, exp] = value.toExponential(4).split('e');
  const sign = exp.startsWith('-') ? '-' : '+';
  return `${mantissa}e${sign}${exp.replace(/^[+-]/, '').padStart(2, '0')}`;
}
