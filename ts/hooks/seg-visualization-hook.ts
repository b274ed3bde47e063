// SegVisualizationHook (MMSegmentation's, NORMAL): with `draw`, draws every `interval`-th
// validation and test batch's segmentation through the visualizer (at the train iteration).

import { AnvilError } from '../errors';
import type { Runner } from '../runner/runner';
import { Hook, type Mode } from './hook';
import { asList } from './naive-visualization-hook';

export interface SegVisualizationHookOptions {
  /** Draw at all. Default false (MMSegmentation's: it warns that nothing will be drawn). */
  draw?: boolean;
  /** Draw every `interval`-th batch. Default 50. */
  interval?: number;
  /** Show in a window: Anvil has no display, so only false. */
  show?: boolean;
  waitTime?: number;
  /** File backend options for reading images; Anvil's samples carry their images, so unused. */
  backendArgs?: Record<string, unknown> | null;
}

export class SegVisualizationHook extends Hook {
  readonly draw: boolean;
  readonly interval: number;
  readonly waitTime: number;

  constructor(options: SegVisualizationHookOptions = {}) {
    super();
    const { draw = false, interval = 50, show = false, waitTime = 0 } = options;
    if (typeof draw !== 'boolean') throw new AnvilError(`SegVisualizationHook: draw must be true or false, got ${JSON.stringify(draw)}`);
    if (!Number.isInteger(interval) || interval < 1) throw new AnvilError(`SegVisualizationHook: interval must be a positive integer, got ${JSON.stringify(interval)}`);
    if (show !== false) throw new AnvilError('SegVisualizationHook: show=True needs a display; Anvil writes drawings through the visualizer backends instead');
    if (typeof waitTime !== 'number' || waitTime < 0) throw new AnvilError(`SegVisualizationHook: wait_time must be a non-negative number, got ${JSON.stringify(waitTime)}`);
    this.draw = draw;
    this.interval = interval;
    this.waitTime = waitTime;
    if (!draw) console.warn('SegVisualizationHook: The draw is False, it means that the hook for visualization will not take effect. The results will NOT be visualized or stored.');
  }

  /** Samples are drawn as `<mode>_<index in the pass>` at step `runner.iter`. */
  protected override afterIter(runner: Runner, batchIdx: number, _dataBatch: unknown, outputs: unknown, mode: Mode): void {
    if (!this.draw || mode === 'train' || !this.everyNInnerIters(batchIdx, this.interval)) return;
    const loader = mode === 'val' ? runner.valDataloader : runner.testDataloader;
    const first = batchIdx * (loader?.batchSize ?? 0);
    asList(outputs).forEach((output, i) => runner.visualizer.addDatasample(`${mode}_${first + i}`, output, { step: runner.iter }));
  }
}
