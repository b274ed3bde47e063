// The `hook_order` case kind: a Runner registers the case's `default_hooks` and `custom_hooks`
// as MMEngine's does; the result is its hook list, each stage's hooks and `get_hooks_info()`.

import '../../hooks';
import { AnvilError } from '../../errors';
import { STAGES } from '../../hooks/hook';
import { BaseModel } from '../../models/base-model';
import { Runner, type HookSpec } from '../../runner/runner';
import type { ConformanceCase } from '../support';

/** Hook registration needs a model but never runs it. */
class NoModel extends BaseModel {
  forwardBackward(): never {
    throw new AnvilError('hook_order case: the model is not trained');
  }

  predict(): never {
    throw new AnvilError('hook_order case: the model does not predict');
  }
}

export interface HookOrderResult {
  hooks: Array<{ type: string; priority: number }>;
  stages: Record<string, string[]>;
  hooks_info: string;
}

function dictOrNull(value: unknown, where: string): Record<string, unknown> | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw new AnvilError(`hook_order case: ${where} must be a dict or null`);
  return value as Record<string, unknown>;
}

export function runHookOrderCase(c: ConformanceCase): HookOrderResult {
  const defaults = dictOrNull(c.input.default_hooks, 'default_hooks');
  const custom = c.input.custom_hooks ?? null;
  if (custom !== null && !Array.isArray(custom)) throw new AnvilError('hook_order case: custom_hooks must be a list or null');
  // structuredClone: registering must not change the case's dicts (MMEngine pops `priority`).
  const runner = new Runner({
    model: new NoModel(),
    workDir: null,
    defaultHooks: structuredClone((defaults ?? {}) as Record<string, HookSpec | null>),
    customHooks: structuredClone((custom ?? []) as HookSpec[]),
    echo: () => {},
  });
  const stages: Record<string, string[]> = {};
  for (const stage of STAGES) stages[stage] = runner.hooks.filter((h) => h.triggeredStages().includes(stage)).map((h) => h.typeName);
  return {
    hooks: runner.hooks.map((h) => ({ type: h.typeName, priority: h.priority })),
    stages,
    hooks_info: runner.getHooksInfo(),
  };
}
