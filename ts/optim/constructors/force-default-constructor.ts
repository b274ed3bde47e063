// MMSegmentation's ForceDefaultOptimWrapperConstructor: the default constructor, except frozen
// parameters keep a group of their own and `force_default_settings` applies the bias/norm/dwconv/
// flat rules on top of a matching custom key.

import type { Parameter } from '../../store/parameter';
import type { ParamGroupSpec } from './constructor';
import { DefaultOptimWrapperConstructor } from './default-constructor';

export class ForceDefaultOptimWrapperConstructor extends DefaultOptimWrapperConstructor {
  protected override frozenGroup(param: Parameter): ParamGroupSpec {
    return { params: [param] };
  }

  protected override appliesDefaultRules(isCustom: boolean): boolean {
    return !isCustom || Boolean(this.paramwiseCfg.force_default_settings ?? false);
  }
}
