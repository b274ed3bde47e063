import { describe, expect, it } from 'vitest';
import { AnvilError, getPriority, Hook, IterTimerHook, MLPClassifier, type Mode, PRIORITY, priorityName, Runner, type RunnerOptions } from '../ts';

const tinyModel = () => new MLPClassifier({ inFeatures: 2, hiddenSizes: [], numClasses: 2 });
const makeRunner = (options: Partial<RunnerOptions> = {}) => new Runner({ model: tinyModel(), ...options });
const order = (r: Runner) => r.hooks.map((h) => [h.typeName, h.priority]);

/** Records the stages it is called in; overrides two specific stages. */
class RecordHook extends Hook {
  readonly calls: string[] = [];
  override beforeRun(): void {
    this.calls.push('before_run');
  }
  override afterTrainEpoch(): void {
    this.calls.push('after_train_epoch');
  }
}

/** Overrides only the generic beforeIter, which MMEngine maps to the three before_*_iter stages. */
class GenericIterHook extends Hook {
  readonly calls: Array<[Mode, number]> = [];
  protected override beforeIter(_runner: Runner, batchIdx: number, _batch: unknown, mode: Mode): void {
    this.calls.push([mode, batchIdx]);
  }
}

describe('getPriority', () => {
  it('reads names case-insensitively and ints in [0, 100]', () => {
    expect(getPriority('VERY_HIGH')).toBe(10);
    expect(getPriority('very_low')).toBe(90);
    expect(getPriority('Below_Normal')).toBe(60);
    expect(getPriority(0)).toBe(0);
    expect(getPriority(100)).toBe(100);
    expect(getPriority(42)).toBe(42);
    expect(Object.values(PRIORITY)).toEqual([0, 10, 30, 40, 50, 60, 70, 90, 100]);
    expect(priorityName(70)).toBe('LOW');
    expect(priorityName(42)).toBe('42');
  });

  it('refuses out-of-range ints, unknown names and other types', () => {
    expect(() => getPriority(101)).toThrow(new AnvilError('priority: priority must be between 0 and 100, got 101'));
    expect(() => getPriority(-1, 'custom_hooks[0].priority')).toThrow(/^custom_hooks\[0\]\.priority: priority must be between 0 and 100/);
    expect(() => getPriority(2.5)).toThrow(new AnvilError('priority: priority must be an integer or Priority enum value, got 2.5'));
    expect(() => getPriority('URGENT')).toThrow(/unknown priority 'URGENT' \(one of HIGHEST, VERY_HIGH, HIGH/);
    expect(() => getPriority(null)).toThrow(/must be an integer or a priority name, got null/);
  });
});

describe('Runner hook registration', () => {
  it('registers the default hooks in key order by priority', () => {
    expect(order(makeRunner())).toEqual([
      ['RuntimeInfoHook', 10],
      ['IterTimerHook', 50],
      ['DistSamplerSeedHook', 50],
      ['LoggerHook', 60],
      ['ParamSchedulerHook', 70],
      ['CheckpointHook', 90],
    ]);
  });

  it('inserts after every hook of lower or equal priority; config priorities and null override defaults', () => {
    const record = new RecordHook();
    const generic = new GenericIterHook();
    generic.priority = 60;
    const r = makeRunner({
      defaultHooks: { sampler_seed: null, logger: { type: 'LoggerHook', priority: 'VERY_LOW' }, timer: { type: 'IterTimerHook', priority: 5 } },
      customHooks: [record, { type: 'IterTimerHook', priority: 'highest' }, generic, { type: 'DistSamplerSeedHook', priority: 90 }, { type: 'IterTimerHook' }],
    });
    expect(order(r)).toEqual([
      ['IterTimerHook', 0],
      ['IterTimerHook', 5],
      ['RuntimeInfoHook', 10],
      ['RecordHook', 50],
      ['IterTimerHook', 50],
      ['GenericIterHook', 60],
      ['ParamSchedulerHook', 70],
      ['LoggerHook', 90],
      ['CheckpointHook', 90],
      ['DistSamplerSeedHook', 90],
    ]);
    expect(r.hooks[3]).toBe(record);
  });

  it('adds user default hooks under new keys and refuses bad hook configs', () => {
    const r = makeRunner({ defaultHooks: { mine: new RecordHook() } });
    expect(order(r).map(([n]) => n)).toEqual(['RuntimeInfoHook', 'IterTimerHook', 'DistSamplerSeedHook', 'RecordHook', 'LoggerHook', 'ParamSchedulerHook', 'CheckpointHook']);
    expect(() => makeRunner({ customHooks: [{ type: 'IterTimerHook', priority: 101 }] })).toThrow(
      new AnvilError('custom_hooks[0].priority: priority must be between 0 and 100, got 101'),
    );
    expect(() => makeRunner({ customHooks: [{ type: 'NoSuchHook' }] })).toThrow(/^custom_hooks\[0\]\.type: 'NoSuchHook' is not registered in HOOKS/);
    expect(() => makeRunner({ defaultHooks: { logger: { type: 'LoggerHook', interval: 0 } } })).toThrow(
      /^default_hooks\.logger \(LoggerHook\): LoggerHook: interval must be a positive integer, got 0/,
    );
  });

  it('a registerHook argument priority wins over the hook and the config', () => {
    const r = makeRunner({ defaultHooks: { runtime_info: null, timer: null, sampler_seed: null, logger: null, param_scheduler: null, checkpoint: null } });
    expect(r.hooks).toHaveLength(0);
    r.registerHook({ type: 'IterTimerHook', priority: 'LOW' }, 'HIGH');
    r.registerHook(new IterTimerHook(), 20);
    expect(order(r)).toEqual([
      ['IterTimerHook', 20],
      ['IterTimerHook', 30],
    ]);
  });
});

describe('Hook stages', () => {
  it('triggers exactly the stages a subclass overrides, generic methods included', () => {
    expect(new RecordHook().triggeredStages()).toEqual(['before_run', 'after_train_epoch']);
    expect(new GenericIterHook().triggeredStages()).toEqual(['before_train_iter', 'before_val_iter', 'before_test_iter']);
    // MMEngine's IterTimerHook overrides before_train and the generic _before_epoch,
    // _after_epoch, _before_iter and _after_iter.
    expect(new IterTimerHook().triggeredStages()).toEqual([
      'before_train',
      'before_train_epoch',
      'before_train_iter',
      'after_train_iter',
      'after_train_epoch',
      'before_val_epoch',
      'before_val_iter',
      'after_val_iter',
      'after_val_epoch',
      'before_test_epoch',
      'before_test_iter',
      'after_test_iter',
      'after_test_epoch',
    ]);
  });

  it('callHook runs the overriding methods in hook order with the mode', () => {
    const record = new RecordHook();
    const generic = new GenericIterHook();
    const r = makeRunner({ defaultHooks: { runtime_info: null, timer: null, sampler_seed: null, logger: null }, customHooks: [generic, record] });
    r.callHook('before_run');
    r.callHook('before_train_iter', 0, null);
    r.callHook('before_val_iter', 3, null);
    r.callHook('before_test_iter', 7, null);
    r.callHook('after_train_iter', 0, null, {});
    r.callHook('after_train_epoch');
    expect(record.calls).toEqual(['before_run', 'after_train_epoch']);
    expect(generic.calls).toEqual([
      ['train', 0],
      ['val', 3],
      ['test', 7],
    ]);
    expect(() => r.callHook('before_training')).toThrow(new AnvilError("callHook: unknown stage 'before_training'"));
  });

  it("getHooksInfo matches MMEngine's format", () => {
    const info = makeRunner().getHooksInfo();
    expect(info).toContain(
      'before_train_iter:\n' +
        '(VERY_HIGH   ) RuntimeInfoHook                    \n' +
        '(NORMAL      ) IterTimerHook                      \n' +
        ' -------------------- ',
    );
    expect(
      info.startsWith('before_run:\n(VERY_HIGH   ) RuntimeInfoHook                    \n(BELOW_NORMAL) LoggerHook                         \n -------------------- \nbefore_train:\n'),
    ).toBe(true);
    expect(info.endsWith('after_run:\n(BELOW_NORMAL) LoggerHook                         \n -------------------- ')).toBe(true);
    const stages = info.split('\n').filter((l) => /^[a-z_]+:$/.test(l));
    expect(stages).toEqual([
      'before_run:',
      'before_train:',
      'before_train_epoch:',
      'before_train_iter:',
      'after_train_iter:',
      'after_train_epoch:',
      'before_val:',
      'before_val_epoch:',
      'before_val_iter:',
      'after_val_iter:',
      'after_val_epoch:',
      'after_val:',
      'after_train:',
      'before_test:',
      'before_test_epoch:',
      'before_test_iter:',
      'after_test_iter:',
      'after_test_epoch:',
      'after_test:',
      'after_run:',
    ]);
    expect(info).toContain(
      'after_train_iter:\n(VERY_HIGH   ) RuntimeInfoHook                    \n(NORMAL      ) IterTimerHook                      \n(BELOW_NORMAL) LoggerHook                         \n(LOW         ) ParamSchedulerHook                 \n',
    );
    expect(info).toContain(
      'after_train_epoch:\n(NORMAL      ) IterTimerHook                      \n(LOW         ) ParamSchedulerHook                 \n(VERY_LOW    ) CheckpointHook                     \n -------------------- ',
    );
    // A priority that is not a named level prints as its number; user classes by their name.
    const custom = makeRunner({ defaultHooks: { runtime_info: null, timer: null, sampler_seed: null, logger: null, param_scheduler: null, checkpoint: null }, customHooks: [{ type: 'DistSamplerSeedHook', priority: 5 }] });
    expect(custom.getHooksInfo()).toBe('before_train_epoch:\n(5           ) DistSamplerSeedHook                \n -------------------- ');
  });
});
