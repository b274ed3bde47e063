// The committed table of (kind, type) pairs the conformance runner runs, and how a case's
// type is derived from its input (one small rule per kind).

/** One case file, as FORMAT.md describes it. */
export interface ConformanceCase {
  kind: string;
  name: string;
  source?: string;
  input: Record<string, unknown>;
  expected: Record<string, unknown>;
  tolerance?: { rtol: number; atol: number } | null;
}

/** The supported `kind/type` pairs. Adding one needs a handler for its kind (runner.ts). */
export const SUPPORTED: ReadonlySet<string> = new Set([
  'config/config',
  'optimizer/SGD',
  'optimizer/Adam',
  'optimizer/AdamW',
  'optimizer/Adamax', 'optimizer/NAdam', 'optimizer/RAdam', 'optimizer/Adagrad', 'optimizer/RMSprop',
  'optimizer/Adadelta', 'optimizer/ASGD', 'optimizer/Rprop',
  'clip_grad/norm',
  'clip_grad/value',
  'grad_scaler/GradScaler',
  'ema/ExponentialMovingAverage',
  'ema/MomentumAnnealingEMA',
  'ema/StochasticWeightAverage',
  // Every constructor name: ours are registered, any other must fail as MMEngine's KeyError does.
  'optim_constructor/*',
  'optim_wrapper/OptimWrapper',
  // Every case builds a Runner's hook list; unknown hook types must fail as MMEngine's KeyError does.
  'hook_order/hooks',
  // Every scheduler name: MMEngine's LR / Momentum / ParamScheduler families are all registered
  // (one case may chain several), any other must fail as MMEngine's KeyError does.
  'scheduler/*',
]);

/** An own property of a JSON object (never one inherited, such as `constructor`), else undefined. */
function own(value: unknown, key: string): unknown {
  return value !== null && typeof value === 'object' && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
}

function str(value: unknown, fallback = '?'): string {
  return typeof value === 'string' ? value : fallback;
}

const CASE_TYPES: Record<string, (input: unknown) => string> = {
  config: () => 'config',
  optim_constructor: (i) => str(own(own(i, 'optim_wrapper'), 'constructor'), 'DefaultOptimWrapperConstructor'),
  scheduler: (i) => {
    const s = own(i, 'param_scheduler');
    return str(own(Array.isArray(s) ? s[0] : s, 'type'));
  },
  optimizer: (i) => str(own(own(i, 'optimizer'), 'type')),
  clip_grad: (i) => (own(own(i, 'clip_grad'), 'type') === 'value' ? 'value' : 'norm'),
  optim_wrapper: (i) => str(own(own(i, 'optim_wrapper'), 'type'), 'OptimWrapper'),
  grad_scaler: () => 'GradScaler',
  ema: (i) => str(own(own(i, 'ema'), 'type')),
  hook_order: () => 'hooks',
};

/** The case's type within its kind, e.g. 'AdamW' for an optimizer case; an unknown kind is its own type. */
export function caseType(c: Pick<ConformanceCase, 'kind' | 'input'>): string {
  const rule = CASE_TYPES[c.kind];
  return rule ? rule(c.input) : c.kind;
}

/** `kind/*` in the table supports every type of that kind. */
export function isSupported(kind: string, type: string): boolean {
  return SUPPORTED.has(`${kind}/${type}`) || SUPPORTED.has(`${kind}/*`);
}
