// BaseModel: MMEngine's model contract in TypeScript. A model describes itself (Module) and,
// lacking autograd, computes its losses and accumulates gradients itself, scaled by the factor
// the optimizer wrapper hands it; trainStep then lets the wrapper step as MMEngine's does.

import { Module } from '../nn/module';
import type { OptimWrapper } from '../optim/optim-wrapper';
import { parseLosses, type LossValue } from '../optim/parse-losses';

export abstract class BaseModel<Batch = unknown, Output = unknown> extends Module {
  /**
   * Forward and backward on one batch: returns named losses (keys containing 'loss' are
   * summed into the total) and adds `gradScale * d(total loss)/d(param)` into each
   * parameter's `accumulateGrad()` buffer.
   */
  abstract forwardBackward(batch: Batch, gradScale: number): Record<string, LossValue>;

  /** Inference on one batch: one output per sample, for the evaluator. */
  abstract predict(batch: Batch): Output[];

  /** MMEngine's `train_step`: gradients, `parse_losses`, `optim_wrapper.update_params`. */
  trainStep(batch: Batch, optimWrapper: OptimWrapper): Record<string, number> {
    return optimWrapper.optimContext(() => {
      const losses = this.forwardBackward(batch, optimWrapper.gradientScale());
      const { loss, logVars } = parseLosses(losses);
      optimWrapper.updateParams(loss);
      return logVars;
    });
  }

  valStep(batch: Batch): Output[] {
    return this.predict(batch);
  }

  testStep(batch: Batch): Output[] {
    return this.predict(batch);
  }
}
