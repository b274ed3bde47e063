import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { caseType, compare, runConformance } from '../ts/conformance';
import { DEVICE_KINDS } from '../ts/conformance/runner';
import { native } from '../ts/native';

const CASES = path.resolve(__dirname, '../../shared/conformance/cases');

function quiet(dir: string) {
  const lines: string[] = [];
  return { summary: runConformance(dir, { out: (l) => lines.push(l) }), lines };
}

/** Passing reference cases per kind: coverage may only grow (one line per kind). */
const EXPECTED_PASSES: Record<string, number> = {
  config: 29, // _base_ chains, _delete_, references, cfg-options, mmseg trees, error cases
  optimizer: 25, // every torch.optim optimizer but LBFGS and SparseAdam
  clip_grad: 12, // norms 1, 2, 3, inf with inf/nan gradients, and clipping by value
  grad_scaler: 8, // dynamic scaling over SGD and AdamW: backoff, growth, float32 cap
  ema: 6, // ExponentialMovingAverage, MomentumAnnealingEMA, StochasticWeightAverage
  optim_constructor: 25, // MMEngine's default constructor, mmseg's layer-decay constructors, errors
  scheduler: 22, // every LR / Momentum / ParamScheduler family, chains, epoch conversion
  optim_wrapper: 8, // accumulation with the short last window, clip_grad by norm and value
  hook_order: 9, // default/custom hooks, None removal, int and string priorities, ties, errors
};

describe('conformance cases', () => {
  it('passes every supported reference case, and exactly the expected number per kind', () => {
    const { summary, lines } = quiet(CASES);
    const failures = lines.filter((l) => l.startsWith('FAIL'));
    expect(failures).toEqual([]);
    expect(summary.failed).toBe(0);
    const passes: Record<string, number> = {};
    for (const r of summary.results) if (r.status === 'pass') passes[r.kind!] = (passes[r.kind!] ?? 0) + 1;
    expect(passes).toEqual(EXPECTED_PASSES);
    const total = Object.values(EXPECTED_PASSES).reduce((a, b) => a + b, 0);
    expect(lines.at(-1)).toBe(`${total} passed, 0 failed, ${summary.unsupported} unsupported`);
  });

  // More cases of every kind, recorded from the same reference versions by
  // scripts/gen-extra-conformance-{numeric,engine}.py: options, error paths and edge values the
  // shared cases leave out. Every one must be supported and pass.
  it('passes every extra reference case in test/fixtures/conformance-extra', () => {
    const extra = path.resolve(__dirname, 'fixtures/conformance-extra');
    const files = fs.readdirSync(extra, { recursive: true }).filter((f) => String(f).endsWith('.json'));
    const { summary, lines } = quiet(extra);
    expect(lines.filter((l) => !l.startsWith('pass'))).toEqual([`${files.length} passed, 0 failed, 0 unsupported`]);
    expect(summary.passed).toBe(files.length);
  });

  // The kernel kinds again with the kernels on a GPU; reported as skipped without one.
  it.skipIf(native.cudaDeviceCount() === 0)('passes the kernel kinds on CUDA (--device cuda)', () => {
    const lines: string[] = [];
    const summary = runConformance(CASES, { out: (l) => lines.push(l), device: 'cuda' });
    expect(lines[0]).toMatch(/^device: cuda:0/);
    expect(lines.filter((l) => l.startsWith('FAIL'))).toEqual([]);
    const onDevice = summary.results.filter((r) => r.status === 'pass' && DEVICE_KINDS.includes(r.kind!)).length;
    expect(onDevice).toBe(DEVICE_KINDS.reduce((n, k) => n + EXPECTED_PASSES[k], 0));
  });
});

describe('compare', () => {
  const tol = { rtol: 1e-5, atol: 1e-6 };

  it('accepts values within tolerance and reports the first miss by path', () => {
    const expected = { params: [[{ shape: [2], data: [1, 2] }], [{ shape: [2], data: [1, 2] }]] };
    expect(compare(expected, { params: [[{ shape: [2], data: [1 + 1e-6, 2] }], [{ shape: [2], data: [1, 2] }]] }, tol)).toBeNull();
    const d = compare(expected, { params: [[{ shape: [2], data: [1, 2] }], [{ shape: [2], data: [1, 2.001] }]] }, tol);
    expect(d).toEqual({ path: 'params[1][0].data[1]', expected: 2, actual: 2.001 });
    expect(compare({ a: 1 }, { a: 1 + 1e-12 })).toEqual({ path: 'a', expected: 1, actual: 1 + 1e-12 });
  });

  it('compares tensor shapes exactly', () => {
    expect(compare({ t: { shape: [3], data: [] } }, { t: { shape: [3.000001], data: [] } }, tol)?.path).toBe('t.shape[0]');
  });

  it('reads "inf", "-inf" and "nan" as non-finite floats', () => {
    expect(compare({ n: 'nan', i: '-inf', d: ['inf', 1] }, { n: NaN, i: -Infinity, d: [Infinity, 1] }, tol)).toBeNull();
    expect(compare('nan', 'nan')).toBeNull();
    expect(compare({ n: 'nan' }, { n: 0 }, tol)?.path).toBe('n');
    expect(compare({ i: 'inf' }, { i: -Infinity }, tol)?.path).toBe('i');
    expect(compare({ x: 1 }, { x: NaN }, tol)?.path).toBe('x');
  });

  it('reports missing and extra keys and lengths', () => {
    expect(compare({ state: { '0': { step: 1, exp_avg: 2 } } }, { state: { '0': { step: 1 } } })).toEqual({
      path: 'state.0.exp_avg',
      expected: 2,
      actual: undefined,
    });
    expect(compare({ a: 1 }, { a: 1, b: 2 })?.path).toBe('b');
    expect(compare([1, 2], [1])?.path).toBe('[1]');
    expect(compare({ a: null }, { a: {} })?.path).toBe('a');
  });
});

describe('runConformance', () => {
  const sgdPlain = JSON.parse(fs.readFileSync(path.join(CASES, 'optimizer/sgd-plain.json'), 'utf8'));

  it('reports a wrong value, bad JSON, an unsupported kind and error cases', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anvil-conformance-'));
    try {
      const wrong = structuredClone(sgdPlain);
      wrong.name = 'wrong';
      wrong.expected.params[1][0].data[2] += 0.5;
      const write = (file: string, c: unknown) => {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), typeof c === 'string' ? c : JSON.stringify(c));
      };
      write('a/wrong.json', wrong);
      write('a/bad.json', '{ "kind": "optimizer", ');
      write('a/nameless.json', { kind: 'optimizer', input: {}, expected: {} });
      write('b/foo.json', { kind: 'foo', name: 'x', input: {}, expected: {} });
      write('b/lbfgs.json', { kind: 'optimizer', name: 'lbfgs', input: { optimizer: { type: 'LBFGS' } }, expected: {} });
      const neg = { kind: 'optimizer', name: 'err-lr', input: { ...sgdPlain.input, optimizer: { type: 'SGD', lr: -1 } }, expected: { error: 'Invalid learning rate', error_type: 'ValueError' } };
      write('c/err-lr.json', neg);
      write('c/err-none.json', { ...neg, name: 'err-none', input: sgdPlain.input });
      write('c/err-type.json', { ...neg, name: 'err-type', input: { optimizer: { type: 'SGD', lr: 0.1 }, params: sgdPlain.input.params } });
      write('c/ok.json', sgdPlain);
      write('c/notes.txt', 'ignored');

      const { summary, lines } = quiet(dir);
      expect(lines).toEqual([
        'FAIL  a/bad.json: not a valid case file: ' + summary.results[0].detail!.split('not a valid case file: ')[1],
        'FAIL  a/nameless.json: not a valid case file: needs string kind and name, object input and expected',
        `FAIL  optimizer/wrong: params[1][0].data[2]: expected ${sgdPlain.expected.params[1][0].data[2] + 0.5}, got ${sgdPlain.expected.params[1][0].data[2]}`,
        'unsupported  foo/x (foo/foo)',
        'unsupported  optimizer/lbfgs (optimizer/LBFGS)',
        'pass  optimizer/err-lr',
        'FAIL  optimizer/err-none: expected an error (reference: "Invalid learning rate"), got none',
        expect.stringMatching(/^FAIL {2}optimizer\/err-type: expected an AnvilError .*, got TypeError: /),
        'pass  optimizer/sgd-plain',
        '2 passed, 5 failed, 2 unsupported',
      ]);
      expect(summary.results[0]).toMatchObject({ file: path.join('a', 'bad.json'), kind: null, status: 'fail' });
      expect(summary.results[2]).toMatchObject({ kind: 'optimizer', name: 'wrong', status: 'fail' });
      expect(summary).toMatchObject({ passed: 2, failed: 5, unsupported: 2 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('derives case types per kind', () => {
    expect(caseType({ kind: 'optim_constructor', input: { optim_wrapper: {} } })).toBe('DefaultOptimWrapperConstructor');
    expect(caseType({ kind: 'scheduler', input: { param_scheduler: [{ type: 'LinearLR' }, { type: 'PolyLR' }] } })).toBe('LinearLR');
    expect(caseType({ kind: 'clip_grad', input: { clip_grad: { type: 'value', clip_value: 1 } } })).toBe('value');
    expect(caseType({ kind: 'optim_wrapper', input: { optim_wrapper: {} } })).toBe('OptimWrapper');
  });
});
