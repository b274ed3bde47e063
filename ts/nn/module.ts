// Module: the model contract's self-description, as torch.nn.Module exposes it to MMEngine's
// constructors: named modules in `named_modules()` order, each with its torch type name,
// the attributes constructors read, and its directly owned parameters and buffers.

import { AnvilError } from '../errors';
import type { Parameter } from '../store/parameter';
import type { ModelBuffer } from '../store/store';

/** One entry of `named_modules()`, in the conformance cases' format. */
export interface ModuleInfo {
  name: string;
  type: string;
  attrs: Record<string, unknown>;
  params: Record<string, Parameter>;
}

/** Serializable description of a module tree (the `optim_constructor` cases' `input.model`). */
export interface ModelDescription {
  modules: Array<{
    name: string;
    type: string;
    attrs?: Record<string, unknown>;
    params?: Record<string, number[] | { shape: number[]; requires_grad?: boolean; shared_with?: string }>;
  }>;
  param_order: string[];
}

export class Module {
  training = true;
  private readonly ownParams = new Map<string, Parameter>();
  private readonly ownBuffers = new Map<string, ModelBuffer>();
  private readonly children = new Map<string, Module>();

  /** torch.nn class name (what paramwise_cfg matches on); defaults to the JS class name. */
  get typeName(): string {
    return this.constructor.name;
  }

  /** Attributes constructors read (in_channels, groups, normalized_shape, ...). */
  attrs(): Record<string, unknown> {
    return {};
  }

  protected registerParameter(name: string, p: Parameter): Parameter {
    this.checkFree(name);
    this.ownParams.set(name, p);
    return p;
  }

  protected registerBuffer(name: string, b: ModelBuffer): ModelBuffer {
    this.checkFree(name);
    this.ownBuffers.set(name, b);
    return b;
  }

  protected addModule<M extends Module>(name: string, m: M): M {
    this.checkFree(name);
    this.children.set(name, m);
    return m;
  }

  private checkFree(name: string): void {
    if (!/^[A-Za-z_0-9]+$/.test(name)) throw new AnvilError(`${this.typeName}: invalid member name '${name}'`);
    if (this.ownParams.has(name) || this.ownBuffers.has(name) || this.children.has(name)) {
      throw new AnvilError(`${this.typeName}: '${name}' is already registered`);
    }
  }

  /** Pre-order walk, the module itself first with name `prefix` ('' for the root). */
  namedModules(prefix = ''): ModuleInfo[] {
    const out: ModuleInfo[] = [{ name: prefix, type: this.typeName, attrs: this.attrs(), params: Object.fromEntries(this.ownParams) }];
    for (const [name, child] of this.children) out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  /** `named_parameters()`: own before children's, a shared parameter once under its first name. */
  namedParameters(): [string, Parameter][] {
    const seen = new Set<Parameter>();
    const out: [string, Parameter][] = [];
    for (const m of this.namedModules()) {
      for (const [local, p] of Object.entries(m.params)) {
        if (seen.has(p)) continue;
        seen.add(p);
        out.push([m.name ? `${m.name}.${local}` : local, p]);
      }
    }
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  namedBuffers(prefix = ''): [string, ModelBuffer][] {
    const out: [string, ModelBuffer][] = [...this.ownBuffers].map(([n, b]) => [prefix ? `${prefix}.${n}` : n, b]);
    for (const [name, child] of this.children) out.push(...child.namedBuffers(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  train(mode = true): this {
    this.training = mode;
    for (const child of this.children.values()) child.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** The description the optimizer constructors read (format of the optim_constructor cases). */
  describe(): ModelDescription {
    const firstName = new Map<Parameter, string>();
    const modules = this.namedModules().map((m) => {
      const params: NonNullable<ModelDescription['modules'][number]['params']> = {};
      for (const [local, p] of Object.entries(m.params)) {
        const full = m.name ? `${m.name}.${local}` : local;
        const shared = firstName.get(p);
        if (!shared) firstName.set(p, full);
        params[local] = shared || !p.requiresGrad
          ? { shape: [...p.shape], ...(p.requiresGrad ? {} : { requires_grad: false }), ...(shared ? { shared_with: shared } : {}) }
          : [...p.shape];
      }
      const attrs = m.attrs;
      return {
        name: m.name,
        type: m.type,
        ...(Object.keys(attrs).length ? { attrs } : {}),
        ...(Object.keys(params).length ? { params } : {}),
      };
    });
    return { modules, param_order: this.namedParameters().map(([n]) => n) };
  }
}
