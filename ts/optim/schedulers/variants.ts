// The lr and momentum schedulers (MMEngine's LRSchedulerMixin and MomentumSchedulerMixin): each
// generic scheduler fixed to `lr`, or to `momentum` (betas[0] for Adam-style optimizers).

import { type CosineAnnealingOptions, CosineAnnealingParamScheduler, type CosineRestartOptions, CosineRestartParamScheduler, type PolyOptions, PolyParamScheduler } from './annealing';
import { type ConstantOptions, ConstantParamScheduler, type ExponentialOptions, ExponentialParamScheduler, type LinearOptions, LinearParamScheduler, type MultiStepOptions, MultiStepParamScheduler, type StepOptions, StepParamScheduler } from './multiplicative';
import { type OneCycleOptions, OneCycleParamScheduler } from './one-cycle';
import { type ReduceOnPlateauOptions, ReduceOnPlateauParamScheduler } from './reduce-on-plateau';

/** A variant's options: the generic scheduler's, without the parameter it fixes. */
export type VariantOptions<T> = Omit<T, 'paramName' | 'momentum'>;

export class ConstantLR extends ConstantParamScheduler {
  constructor(options: VariantOptions<ConstantOptions>) {
    super({ ...options, paramName: 'lr' });
  }
}

export class ConstantMomentum extends ConstantParamScheduler {
  constructor(options: VariantOptions<ConstantOptions>) {
    super({ ...options, paramName: 'momentum', momentum: true });
  }
}

export class CosineAnnealingLR extends CosineAnnealingParamScheduler {
  constructor(options: VariantOptions<CosineAnnealingOptions>) {
    super({ ...options, paramName: 'lr' });
  }
}

export class CosineAnnealingMomentum extends CosineAnnealingParamScheduler {
  constructor(options: VariantOptions<CosineAnnealingOptions>) {
    super({ ...options, paramName: 'momentum', momentum: true });
  }
}

export class ExponentialLR extends ExponentialParamScheduler {
  constructor(options: VariantOptions<ExponentialOptions>) {
    super({ ...options, paramName: 'lr' });
  }
}

export class ExponentialMomentum extends ExponentialParamScheduler {
  constructor(options: VariantOptions<ExponentialOptions>) {
    super({ ...options, paramName: 'momentum', momentum: true });
  }
}

export class LinearLR extends LinearParamScheduler {
  constructor(options: VariantOptions<LinearOptions>) {
    super({ ...options, paramName: 'lr' });
  }
}

export class LinearMomentum extends LinearParamScheduler {
  constructor(options: VariantOptions<LinearOptions>) {
    super({ ...options, paramName: 'momentum', momentum: true });
  }
}

export class MultiStepLR extends MultiStepParamScheduler {
  constructor(options: VariantOptions<MultiStepOptions>) {
    super({ ...options, paramName: 'lr' });
  }
}

export class MultiStepMomentum extends MultiStepParamScheduler {
  constructor(options: VariantOptions<MultiStepOptions>) {
    super({ ...options, paramName: 'momentum', momentum: true });
  }
}

export class StepLR extends StepParamScheduler {
  constructor(options: VariantOptions<StepOptions>) {
    super({ ...options, paramName: 'lr' });
  }
}

export class StepMomentum extends StepParamScheduler {
  constructor(options: VariantOptions<StepOptions>) {
    super({ ...options, paramName: 'momentum', momentum: true });
  }
}

export class PolyLR extends PolyParamScheduler {
  constructor(options: VariantOptions<PolyOptions>) {
    super({ ...options, paramName: 'lr' });
  }
}

export class PolyMomentum extends PolyParamScheduler {
  constructor(options: VariantOptions<PolyOptions>) {
    super({ ...options, paramName: 'momentum', momentum: true });
  }
}

export class OneCycleLR extends OneCycleParamScheduler {
  constructor(options: VariantOptions<OneCycleOptions>) {
    super({ ...options, paramName: 'lr' });
  }
}

export class CosineRestartLR extends CosineRestartParamScheduler {
  constructor(options: VariantOptions<CosineRestartOptions>) {
    super({ ...options, paramName: 'lr' });
  }
}

export class CosineRestartMomentum extends CosineRestartParamScheduler {
  constructor(options: VariantOptions<CosineRestartOptions>) {
    super({ ...options, paramName: 'momentum', momentum: true });
  }
}

export class ReduceOnPlateauLR extends ReduceOnPlateauParamScheduler {
  constructor(options: VariantOptions<ReduceOnPlateauOptions>) {
    super({ ...options, paramName: 'lr' });
  }
}

export class ReduceOnPlateauMomentum extends ReduceOnPlateauParamScheduler {
  constructor(options: VariantOptions<ReduceOnPlateauOptions>) {
    super({ ...options, paramName: 'momentum', momentum: true });
  }
}
