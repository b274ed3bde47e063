// RuntimeInfoHook (MMEngine's, VERY_HIGH, registered by the runner itself): keeps the run's
// state in the message hub for loggers (loop stage, epoch/iter and their maxima, lr, losses, metrics).

import type { Runner } from '../runner/runner';
import { Hook } from './hook';

export class RuntimeInfoHook extends Hook {
  override priority = 10;
  private lastLoopStage: unknown = null;

  override beforeRun(runner: Runner): void {
    runner.messageHub.updateInfoDict({ cfg: runner.cfg, seed: runner.seed, experiment_name: runner.experimentName });
    this.lastLoopStage = null;
  }

  override beforeTrain(runner: Runner): void {
    const hub = runner.messageHub;
    hub.updateInfo('loop_stage', 'train');
    hub.updateInfo('epoch', runner.epoch);
    hub.updateInfo('iter', runner.iter);
    hub.updateInfo('max_epochs', runner.maxEpochs);
    hub.updateInfo('max_iters', runner.maxIters);
    const meta = (runner.trainDataloader?.dataset as { metainfo?: unknown } | undefined)?.metainfo;
    if (meta !== undefined) hub.updateInfo('dataset_meta', meta);
  }

  override afterTrain(runner: Runner): void {
    runner.messageHub.popInfo('loop_stage');
  }

  override beforeTrainEpoch(runner: Runner): void {
    runner.messageHub.updateInfo('epoch', runner.epoch);
  }

  override beforeTrainIter(runner: Runner): void {
    runner.messageHub.updateInfo('iter', runner.iter);
    // MMEngine logs every entry of get_lr(): `base_lr` (several groups) and `lr`, group 0's.
    for (const [name, lrs] of Object.entries(runner.optimWrapper?.getLr() ?? {})) {
      if (lrs !== undefined && lrs.length > 0) runner.messageHub.updateScalar(`train/${name}`, lrs[0]);
    }
  }

  override afterTrainIter(runner: Runner, _batchIdx: number, _dataBatch: unknown, outputs: unknown): void {
    for (const [key, value] of Object.entries((outputs ?? {}) as Record<string, number>)) {
      runner.messageHub.updateScalar(`train/${key}`, value);
    }
  }

  override beforeVal(runner: Runner): void {
    this.lastLoopStage = runner.messageHub.getInfo('loop_stage') ?? null;
    runner.messageHub.updateInfo('loop_stage', 'val');
  }

  override afterValEpoch(runner: Runner, metrics: Record<string, number>): void {
    recordMetrics(runner, 'val', metrics);
  }

  /** Validation may run inside training: the train stage comes back. */
  override afterVal(runner: Runner): void {
    if (this.lastLoopStage === 'train') {
      runner.messageHub.updateInfo('loop_stage', 'train');
      this.lastLoopStage = null;
    } else {
      runner.messageHub.popInfo('loop_stage');
    }
  }

  override beforeTest(runner: Runner): void {
    runner.messageHub.updateInfo('loop_stage', 'test');
  }

  override afterTest(runner: Runner): void {
    runner.messageHub.popInfo('loop_stage');
  }

  override afterTestEpoch(runner: Runner, metrics: Record<string, number>): void {
    recordMetrics(runner, 'test', metrics);
  }
}

/** Scalar metrics go into the scalar histories, anything else into the runtime info. */
function recordMetrics(runner: Runner, mode: 'val' | 'test', metrics: Record<string, unknown> | undefined): void {
  for (const [key, value] of Object.entries(metrics ?? {})) {
    if (typeof value === 'number') runner.messageHub.updateScalar(`${mode}/${key}`, value);
    else runner.messageHub.updateInfo(`${mode}/${key}`, value);
  }
}
