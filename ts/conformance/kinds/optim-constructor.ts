// The `optim_constructor` case kind: rebuilds the described model, builds `optim_wrapper` through
// the constructors, and reports param groups with parameter names, as the case writes them.

import '../../optim';
import type { ModelDescription } from '../../nn/module';
import { buildOptimWrapper, DescribedModel, namedParametersOf } from '../../optim/constructors';
import type { Parameter } from '../../store/parameter';
import type { ConformanceCase } from '../support';

export function runOptimConstructorCase(c: ConformanceCase): Record<string, unknown> {
  const input = c.input as { model: ModelDescription; optim_wrapper: unknown };
  const model = new DescribedModel(input.model, 'model');
  const names = new Map<Parameter, string>(namedParametersOf(model).map(([name, p]) => [p, name]));
  const wrapper = buildOptimWrapper(input.optim_wrapper, model);
  return {
    param_groups: wrapper.optimizer.paramGroups.map(({ params, ...hyper }) => ({ params: params.map((p) => names.get(p)), ...hyper })),
    optim_wrapper_type: wrapper.constructor.name,
    optimizer_type: wrapper.optimizer.type,
  };
}
