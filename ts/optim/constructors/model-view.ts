// What the optimizer constructors read from a model: its modules in `named_modules()` order with
// their own parameters, from a live `Module` or from a serialized `ModelDescription` (the cases' format).

import { AnvilError } from '../../errors';
import type { ModelDescription, ModuleInfo } from '../../nn/module';
import { Parameter } from '../../store/parameter';

/** Anything that lists its modules as `Module.namedModules()` does (a `Module`, a `DescribedModel`). */
export interface ModuleTree {
  namedModules(): ModuleInfo[];
}

/** `named_parameters()`: own parameters before children's, a shared parameter once under its first name. */
export function namedParametersOf(tree: ModuleTree): Array<[string, Parameter]> {
  const seen = new Set<Parameter>();
  const out: Array<[string, Parameter]> = [];
  for (const m of tree.namedModules()) {
    for (const [local, p] of Object.entries(m.params)) {
      if (seen.has(p)) continue;
      seen.add(p);
      out.push([m.name ? `${m.name}.${local}` : local, p]);
    }
  }
  return out;
}

type ParamEntry = NonNullable<ModelDescription['modules'][number]['params']>[string];

/**
 * A model rebuilt from its description: fresh (zero) parameters of the described shapes, the
 * same Parameter object wherever `shared_with` says so, `requires_grad: false` kept.
 */
export class DescribedModel implements ModuleTree {
  private readonly modules: ModuleInfo[];

  constructor(description: ModelDescription, where = 'model') {
    if (!description || !Array.isArray(description.modules)) {
      throw new AnvilError(`${where}.modules: expected a list of modules in named_modules() order`);
    }
    const order = new Map((description.param_order ?? []).map((name, i) => [name, i]));
    const byName = new Map<string, Parameter>();
    this.modules = description.modules.map((m, mi) => {
      const at = `${where}.modules[${mi}]`;
      if (typeof m.name !== 'string' || typeof m.type !== 'string') throw new AnvilError(`${at}: needs a string name and type`);
      const entries = orderOwnParams(m.name, Object.entries(m.params ?? {}), order);
      const params: Record<string, Parameter> = {};
      for (const [local, entry] of entries) {
        const full = m.name ? `${m.name}.${local}` : local;
        params[local] = makeParameter(entry, byName, `${at}.params.${local}`);
        if (!byName.has(full)) byName.set(full, params[local]);
      }
      return { name: m.name, type: m.type, attrs: { ...(m.attrs ?? {}) }, params };
    });
  }

  namedModules(): ModuleInfo[] {
    return this.modules.map((m) => ({ ...m, params: { ...m.params } }));
  }
}

function makeParameter(entry: ParamEntry, byName: Map<string, Parameter>, where: string): Parameter {
  if (Array.isArray(entry)) return new Parameter(entry);
  if (!entry || !Array.isArray(entry.shape)) throw new AnvilError(`${where}: expected a shape or {shape, requires_grad?, shared_with?}`);
  if (entry.shared_with !== undefined) {
    const first = byName.get(entry.shared_with);
    if (!first) throw new AnvilError(`${where}.shared_with: no earlier parameter named '${entry.shared_with}'`);
    return first;
  }
  return new Parameter(entry.shape, { requiresGrad: entry.requires_grad ?? true });
}

/**
 * A module's own parameters in registration order: those listed in `param_order` sorted by it,
 * shared ones (absent from `param_order`) kept where the description has them.
 */
function orderOwnParams(prefix: string, entries: Array<[string, ParamEntry]>, order: Map<string, number>): Array<[string, ParamEntry]> {
  const rank = (local: string) => order.get(prefix ? `${prefix}.${local}` : local);
  const ranked = entries.filter(([local]) => rank(local) !== undefined).sort((a, b) => rank(a[0])! - rank(b[0])!);
  let next = 0;
  return entries.map((e) => (rank(e[0]) === undefined ? e : ranked[next++]));
}
