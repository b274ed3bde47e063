import { describe, expect, it } from 'vitest';
import { AnvilError, HOOKS, MODELS, OPTIMIZERS, Registry } from '../ts';

class Point {
  constructor(readonly options: { x?: number; yValue?: number }) {}
}

function things() {
  const r = new Registry<unknown>('THINGS');
  r.register('Pair', ({ a, b }) => ({ a, b }));
  r.register('Checked', ({ n }) => {
    if (typeof n !== 'number') throw new AnvilError(`Checked: n must be a number, got ${JSON.stringify(n)}`);
    return n;
  });
  r.register('Broken', () => {
    throw new TypeError('not an AnvilError');
  });
  r.registerClass('Point', Point);
  return r;
}

describe('Registry', () => {
  it('builds registered types with the config arguments and extra arguments', () => {
    const r = things();
    expect(r.build({ type: 'Pair', a: 1, b: [2] })).toEqual({ a: 1, b: [2] });
    expect(r.build({ type: 'Pair', a: 1, b: 2 }, 'x', { b: 'extra' })).toEqual({ a: 1, b: 'extra' });
    // registerClass hands the constructor camelCase options.
    const p = r.build<Point>({ type: 'Point', x: 1, y_value: 2 });
    expect(p).toBeInstanceOf(Point);
    expect(p.options).toEqual({ x: 1, yValue: 2 });
    expect(r.has('Pair')).toBe(true);
    expect(r.has('pair')).toBe(false);
    expect(r.names()).toEqual(['Pair', 'Checked', 'Broken', 'Point']);
  });

  it('names the key path and the registered types for an unknown type', () => {
    expect(() => things().build({ type: 'Pear' }, 'model.backbone')).toThrow(
      new AnvilError("model.backbone.type: 'Pear' is not registered in THINGS (registered: Broken, Checked, Pair, Point)"),
    );
    expect(() => new Registry('EMPTY').build({ type: 'X' })).toThrow(/^EMPTY\.type: 'X' is not registered in EMPTY \(registered: none\)$/);
    expect(() => MODELS.build({ type: 'ResNet' }, 'model')).toThrow(/^model\.type: 'ResNet' is not registered in MODELS \(registered: .*MLPClassifier/);
    expect(() => OPTIMIZERS.build({ type: 'LBFGS' }, 'optim_wrapper.optimizer')).toThrow(
      /registered: ASGD, Adadelta, Adagrad, Adam, AdamW, Adamax, Lamb, Lion, NAdam, RAdam, RMSprop, Rprop, SGD\)/,
    );
  });

  it('needs force to register a name twice', () => {
    const r = things();
    expect(() => r.register('Pair', () => 'again')).toThrow(new AnvilError("THINGS: 'Pair' is already registered (pass { force: true } to replace it)"));
    expect(r.build({ type: 'Pair', a: 1 })).toEqual({ a: 1, b: undefined });
    r.register('Pair', () => 'again', { force: true });
    expect(r.build({ type: 'Pair' })).toBe('again');
    expect(() => HOOKS.register('LoggerHook', () => null as never)).toThrow(/already registered/);
  });

  it('refuses configs that are not dicts, or lack a string type', () => {
    const r = things();
    expect(() => r.build('Pair', 'model')).toThrow(new AnvilError("model: expected a dict with a 'type' key, got 'Pair'"));
    expect(() => r.build(null, 'model')).toThrow("model: expected a dict with a 'type' key, got None");
    expect(() => r.build([1, 2], 'cfg')).toThrow('cfg: expected a dict with a \'type\' key, got a list ([1,2])');
    expect(() => r.build({ a: 1 }, 'model')).toThrow(new AnvilError('model.type: expected a registered type name (string), got nothing (key missing)'));
    expect(() => r.build({ type: 3 }, 'model')).toThrow('model.type: expected a registered type name (string), got number 3');
  });

  it('prefixes builder errors with the key path, leaving other errors alone', () => {
    const r = things();
    let err: unknown;
    try {
      r.build({ type: 'Checked', n: 'x' }, 'train_dataloader.dataset');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AnvilError);
    expect((err as AnvilError).message).toBe('train_dataloader.dataset (Checked): Checked: n must be a number, got "x"');
    expect((err as AnvilError).cause).toBeInstanceOf(AnvilError);
    expect(() => r.build({ type: 'Broken' }, 'model')).toThrow(new TypeError('not an AnvilError'));
    // A nested build already named its path: not prefixed twice.
    r.register('Outer', ({ inner }) => r.build(inner, 'model.inner'));
    expect(() => r.build({ type: 'Outer', inner: { type: 'Nope' } }, 'model')).toThrow(/^model\.inner\.type: 'Nope' is not registered/);
  });
});
