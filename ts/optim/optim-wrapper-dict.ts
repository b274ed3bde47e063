// OptimWrapperDict (MMEngine's): several optimizer wrappers by name (a GAN's generator and
// discriminator). Reports and saves them together; stepping is each wrapper's own business.

import { AnvilError } from '../errors';
import { OptimWrapper, type OptimWrapperStateDict, type ScalarSink } from './optim-wrapper';
import type { ParamGroup } from './optimizer';

export class OptimWrapperDict {
  readonly optimWrappers: ReadonlyMap<string, OptimWrapper>;

  constructor(wrappers: Record<string, OptimWrapper>) {
    const entries = Object.entries(wrappers ?? {});
    for (const [name, w] of entries) {
      if (!(w instanceof OptimWrapper)) {
        throw new AnvilError(`OptimWrapperDict: each item must be an optimizer wrapper (OptimWrapper or AmpOptimWrapper), but got ${name}=${JSON.stringify(w)}`);
      }
    }
    this.optimWrappers = new Map(entries);
  }

  /** The wrapper named `name`. */
  get(name: string): OptimWrapper {
    const w = this.optimWrappers.get(name);
    if (!w) throw new AnvilError(`OptimWrapperDict: no optimizer wrapper named '${name}' (has ${this.keys().join(', ') || 'none'})`);
    return w;
  }

  has(name: string): boolean {
    return this.optimWrappers.has(name);
  }

  keys(): string[] {
    return [...this.optimWrappers.keys()];
  }

  values(): OptimWrapper[] {
    return [...this.optimWrappers.values()];
  }

  items(): [string, OptimWrapper][] {
    return [...this.optimWrappers];
  }

  get size(): number {
    return this.optimWrappers.size;
  }

  /** Every wrapper's groups, by name (MMEngine's `param_groups`). */
  get paramGroups(): Record<string, ParamGroup[]> {
    return Object.fromEntries(this.items().map(([n, w]) => [n, w.paramGroups]));
  }

  /** Where every wrapper records its scalars. */
  set messageHub(hub: ScalarSink | null) {
    for (const w of this.values()) w.messageHub = hub;
  }

  /** `{'<name>.lr': [...]}` (and `<name>.base_lr` where a wrapper has several groups). */
  getLr(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const [name, w] of this.items()) {
      const lr = w.getLr();
      if (lr.base_lr) out[`${name}.base_lr`] = lr.base_lr;
      out[`${name}.lr`] = lr.lr;
    }
    return out;
  }

  /** `{'<name>.momentum': [...]}`. */
  getMomentum(): Record<string, number[]> {
    return Object.fromEntries(this.items().map(([n, w]) => [`${n}.momentum`, w.getMomentum().momentum]));
  }

  initializeCountStatus(initCounts: number, maxCounts: number): void {
    for (const w of this.values()) w.initializeCountStatus(initCounts, maxCounts);
  }

  /** `{name: wrapper.stateDict()}`. */
  stateDict(): Record<string, OptimWrapperStateDict> {
    return Object.fromEntries(this.items().map(([n, w]) => [n, w.stateDict()]));
  }

  loadStateDict(state: Record<string, OptimWrapperStateDict>): void {
    if (state === null || typeof state !== 'object') throw new AnvilError(`OptimWrapperDict.loadStateDict: expected a dict by wrapper name, got ${JSON.stringify(state)}`);
    for (const name of Object.keys(state)) {
      if (!this.has(name)) throw new AnvilError(`OptimWrapperDict.loadStateDict: ${name} is not found in the optimizer wrappers (${this.keys().join(', ')})`);
    }
    for (const [name, s] of Object.entries(state)) this.get(name).loadStateDict(s);
  }

  updateParams(): never {
    throw separately('updateParams');
  }

  step(): never {
    throw separately('step');
  }

  zeroGrad(): never {
    throw separately('zeroGrad');
  }

  optimContext(): never {
    throw separately('optimContext');
  }

  gradientScale(): never {
    throw separately('gradientScale');
  }
}

function separately(method: string): AnvilError {
  return new AnvilError(`OptimWrapperDict: \`${method}\` should be called by each optimizer wrapper separately (optimWrapper.get(name).${method}(...))`);
}
