// Checkpoints: the safetensors file (tensors with shapes and dtypes, JSON metadata, foreign
// files), load_from strict / non-strict, CheckpointHook (interval, max_keep_ckpts, save_best,
// out_dir, published_keys), EMA state through save and resume, and the CLI's --resume / --amp.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AnvilError, CheckpointHook, EMAHook, loadCheckpoint, readCheckpointFile, Runner, saveCheckpoint, writeCheckpointFile } from '../ts';

const ROOT = path.resolve(__dirname, '..');
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'anvil-ckpt-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

const MODEL = {
  type: 'Sequential',
  layers: [
    { type: 'Flatten' },
    { type: 'Linear', in_features: 784, out_features: 16 },
    { type: 'BatchNorm1d', num_features: 16 },
    { type: 'ReLU' },
    { type: 'Linear', in_features: 16, out_features: 10 },
  ],
};

function config(workDir: string | null, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    work_dir: workDir,
    model: MODEL,
    train_dataloader: { batch_size: 50, sampler: { type: 'DefaultSampler', shuffle: true }, dataset: { type: 'MNIST', split: 'train', limit: 400 } },
    val_dataloader: { batch_size: 100, dataset: { type: 'MNIST', split: 'test', limit: 200 } },
    val_evaluator: { type: 'Accuracy' },
    train_cfg: { type: 'IterBasedTrainLoop', max_iters: 12, val_interval: 4 },
    optim_wrapper: { type: 'OptimWrapper', optimizer: { type: 'SGD', lr: 0.05, momentum: 0.9 } },
    default_hooks: { logger: { type: 'LoggerHook', interval: 4 }, checkpoint: { type: 'CheckpointHook', by_epoch: false, interval: 4 } },
    randomness: { seed: 1 },
    ...overrides,
  };
}

function run(cfg: Record<string, unknown>, lines: string[] = []): Runner {
  const runner = Runner.fromConfig(cfg, { echo: (l) => lines.push(l) });
  runner.train();
  return runner;
}

/** The JSON header of a safetensors file. */
function header(file: string): Record<string, { dtype: string; shape: number[] }> & { __metadata__?: Record<string, string> } {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  return JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
}

describe('checkpoint files', () => {
  it('hold every tensor under its key path with its shape and dtype, and the rest as JSON metadata', () => {
    const dir = path.join(tmpRoot, 'format');
    const runner = run(config(dir));
    const file = path.join(dir, 'iter_12.safetensors');
    const h = header(file);
    expect(h['state_dict.1.weight']).toMatchObject({ dtype: 'F32', shape: [16, 784] });
    expect(h['state_dict.2.num_batches_tracked']).toMatchObject({ dtype: 'I64', shape: [] });
    expect(h['optimizer.state.0.momentum_buffer']).toMatchObject({ dtype: 'F32', shape: [16, 784] });
    expect(h['message_hub.log_scalars.train/loss']).toMatchObject({ dtype: 'F64', shape: [12] });
    const meta = JSON.parse(h.__metadata__!.anvil);
    expect(meta.checkpoint.meta).toMatchObject({ epoch: 0, iter: 12, seed: 1, dataloader: { epoch: 1, consumed: 4 } });
    expect(meta.checkpoint.param_schedulers).toBeUndefined();

    const { checkpoint } = readCheckpointFile(file);
    const weights = checkpoint.state_dict as Record<string, Float32Array | Float64Array>;
    expect(Array.from(weights['1.weight'])).toEqual(Array.from(runner.model.namedParameters()[0][1].data));
    expect(weights['2.num_batches_tracked']).toEqual(new Float64Array([12]));
    expect((checkpoint.optimizer as { param_groups: unknown[] }).param_groups).toHaveLength(1);
  });

  it('round-trip nested dicts, lists, non-finite numbers and both float types; refuse other typed arrays', () => {
    const file = path.join(tmpRoot, 'nested.safetensors');
    const data = { a: { b: [new Float32Array([1, 2]), { c: new Float64Array([0.1]) }], inf: -Infinity, nan: NaN, s: 'x', n: null, t: true }, 'dotted.key': new Float32Array([3]) };
    writeCheckpointFile(file, data);
    const back = readCheckpointFile(file).checkpoint;
    expect(back).toEqual(data);
    expect(Object.is((back.a as { nan: number }).nan, NaN)).toBe(true);
    expect(() => writeCheckpointFile(file, { x: new Uint8Array(2) })).toThrow(/'x' is a Uint8Array; checkpoints hold Float32Array and Float64Array tensors/);
    expect(() => readCheckpointFile(path.join(tmpRoot, 'missing.safetensors'))).toThrow(/cannot load checkpoint .*missing\.safetensors/);
  });

  it('load_from reads weights saved by other tools (no Anvil metadata, fp16) and reports missing and unexpected keys', () => {
    // A safetensors file as `safetensors.torch.save_file` writes it: the header, then the data.
    const file = path.join(tmpRoot, 'foreign.safetensors');
    const bias = Buffer.alloc(20);
    [0.5, -1, 2, 0.25, 0, 1, 1, 1, 1, 1].forEach((v, i) => bias.writeUInt16LE(v === 0.5 ? 0x3800 : v === -1 ? 0xbc00 : v === 2 ? 0x4000 : v === 0.25 ? 0x3400 : v === 0 ? 0 : 0x3c00, 2 * i));
    const head = Buffer.from(JSON.stringify({ '4.bias': { dtype: 'F16', shape: [10], data_offsets: [0, 20] }, 'head.extra': { dtype: 'F16', shape: [0], data_offsets: [20, 20] } }).padEnd(104));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(head.length));
    fs.writeFileSync(file, Buffer.concat([len, head, bias]));

    const lines: string[] = [];
    const runner = Runner.fromConfig(config(null, { train_cfg: undefined, optim_wrapper: undefined, load_from: file }), { echo: (l) => lines.push(l) });
    const report = loadCheckpoint(runner, file);
    expect(Array.from(runner.model.namedParameters().find(([n]) => n === '4.bias')![1].data)).toEqual([0.5, -1, 2, 0.25, 0, 1, 1, 1, 1, 1]);
    expect(report.unexpectedKeys).toEqual(['head.extra']);
    expect(report.missingKeys).toEqual(['1.weight', '1.bias', '2.weight', '2.bias', '4.weight', '2.running_mean', '2.running_var', '2.num_batches_tracked']);
    expect(lines.join('\n')).toContain('The model and loaded state dict do not match exactly\n\nunexpected key in source state_dict: head.extra\n\nmissing keys in source state_dict: 1.weight');
    expect(() => loadCheckpoint(runner, file, { strict: true })).toThrow(/does not match the model \(strict\): missing keys \["1\.weight",.*unexpected keys \["head\.extra"\]/);
    writeCheckpointFile(path.join(tmpRoot, 'wrong.safetensors'), { state_dict: { '4.bias': new Float32Array(3) } });
    expect(() => loadCheckpoint(runner, path.join(tmpRoot, 'wrong.safetensors'))).toThrow(/size mismatch for 4\.bias: the checkpoint holds 3 values, the model 10/);
  });

  it("load_from in a config loads the weights only (training starts at iteration 0), 'module.' prefixes dropped", () => {
    const dir = path.join(tmpRoot, 'load-from');
    const first = run(config(dir));
    const src = readCheckpointFile(path.join(dir, 'iter_12.safetensors')).checkpoint;
    const prefixed = path.join(tmpRoot, 'prefixed.safetensors');
    writeCheckpointFile(prefixed, { state_dict: Object.fromEntries(Object.entries(src.state_dict as object).map(([k, v]) => [`module.${k}`, v])) });
    const second = Runner.fromConfig(config(path.join(tmpRoot, 'load-from-2'), { load_from: prefixed, train_cfg: { type: 'IterBasedTrainLoop', max_iters: 1 } }), { echo: () => {} });
    const seen: number[][] = [];
    second.registerHook(
      new (class extends CheckpointHook {
        override beforeTrain(r: Runner): void {
          seen.push(Array.from(r.model.namedParameters()[0][1].data.slice(0, 4)), [r.iter]);
        }
      })({ interval: -1 }),
    );
    second.train();
    expect(seen).toEqual([Array.from(first.model.namedParameters()[0][1].data.slice(0, 4)), [0]]);
  });
});

describe('CheckpointHook', () => {
  it('triggers the stages MMEngine\'s does, at VERY_LOW, and refuses bad options', () => {
    const hook = new CheckpointHook({ interval: 1 });
    expect(hook.priority).toBe(90);
    expect(hook.triggeredStages()).toEqual(['before_train', 'after_train_iter', 'after_train_epoch', 'after_val_epoch', 'after_train']);
    expect(() => new CheckpointHook({ saveBest: 'weird' })).toThrow(/Cannot infer the rule for key weird, thus a specific rule must be specified/);
    expect(() => new CheckpointHook({ saveBest: 'acc', rule: 'bigger' })).toThrow(/rule must be greater, less or None, but got "bigger"/);
    expect(() => new CheckpointHook({ filenameTmpl: 'ckpt.safetensors' })).toThrow(/filename_tmpl must be a file name with '\{\}'/);
    expect(() => Runner.fromConfig(config(null, { default_hooks: { checkpoint: { type: 'CheckpointHook', intervall: 2 } } }))).toThrow(/CheckpointHook: unexpected argument 'intervall'/);
  });

  it('keeps max_keep_ckpts, the best checkpoint by save_best, and names the latest in last_checkpoint', () => {
    const dir = path.join(tmpRoot, 'keep');
    const lines: string[] = [];
    const runner = run(config(dir, { default_hooks: { checkpoint: { type: 'CheckpointHook', by_epoch: false, interval: 2, max_keep_ckpts: 2, save_best: 'accuracy' } } }), lines);
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
    const best = files.filter((f) => f.startsWith('best_'));
    expect(files.filter((f) => !f.startsWith('best_'))).toEqual(['iter_10.safetensors', 'iter_12.safetensors']);
    expect(best).toHaveLength(1);
    expect(best[0]).toMatch(/^best_accuracy_iter_(4|8|12)\.safetensors$/);
    expect(fs.readFileSync(path.join(dir, 'last_checkpoint'), 'utf8')).toBe(path.join(dir, 'iter_12.safetensors'));
    expect(runner.messageHub.getInfo('keep_ckpt_ids')).toEqual([10, 12]);
    expect(runner.messageHub.getInfo('best_score')).toBe(Math.max(...runner.messageHub.getScalar('val/accuracy')!.toArray()));
    // A best checkpoint holds no optimizer or scheduler state.
    expect(Object.keys(readCheckpointFile(path.join(dir, best[0])).checkpoint).sort()).toEqual(['message_hub', 'meta', 'state_dict']);
    expect(lines.join('\n')).toMatch(/The best checkpoint with \d\.\d{4} accuracy at \d+ iter is saved to best_accuracy_iter_\d+\.safetensors\./);
  });

  it('joins out_dir with the work_dir name, and publishes the last checkpoint with only published_keys', () => {
    const dir = path.join(tmpRoot, 'exp1');
    const out = path.join(tmpRoot, 'out');
    run(config(dir, { default_hooks: { checkpoint: { type: 'CheckpointHook', by_epoch: false, interval: 6, out_dir: out, published_keys: ['meta', 'state_dict'] } } }));
    const files = fs.readdirSync(path.join(out, 'exp1')).sort();
    expect(files.filter((f) => !f.includes('-'))).toEqual(['iter_12.safetensors', 'iter_6.safetensors']);
    const published = files.find((f) => /^iter_12-[0-9a-f]{8}\.safetensors$/.test(f))!;
    expect(published).toBeDefined();
    expect(Object.keys(readCheckpointFile(path.join(out, 'exp1', published)).checkpoint).sort()).toEqual(['meta', 'state_dict']);
    expect(fs.readFileSync(path.join(dir, 'last_checkpoint'), 'utf8')).toBe(path.join(out, 'exp1', 'iter_12.safetensors'));
  });
});

describe('EMAHook state through checkpoints', () => {
  it('saves the average as the weights (ema_state_dict the trained ones) and resumes it exactly', () => {
    const dir = path.join(tmpRoot, 'ema');
    const cfg = config(dir, { custom_hooks: [{ type: 'EMAHook', momentum: 0.1 }], val_dataloader: undefined, val_evaluator: undefined, train_cfg: { type: 'IterBasedTrainLoop', max_iters: 12 } });
    const full = run(cfg);
    const ema = (r: Runner) => (r.hooks.find((h) => h instanceof EMAHook) as EMAHook).emaModel.stateDict();
    const { checkpoint } = readCheckpointFile(path.join(dir, 'iter_12.safetensors'));
    const averaged = ema(full);
    expect(Array.from((checkpoint.state_dict as Record<string, Float32Array>)['1.weight'])).toEqual(Array.from(averaged['module.1.weight'] as Float32Array));
    expect(Array.from((checkpoint.ema_state_dict as Record<string, Float32Array>)['module.1.weight'])).toEqual(Array.from(full.model.namedParameters()[0][1].data));
    const resumed = run({ ...cfg, work_dir: path.join(tmpRoot, 'ema-resumed'), resume: true, load_from: path.join(dir, 'iter_4.safetensors') });
    expect(ema(resumed)).toEqual(averaged);
    expect(Array.from(resumed.model.namedParameters()[0][1].data)).toEqual(Array.from(full.model.namedParameters()[0][1].data));
  });
});

describe('CLI: train --resume and --amp', () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['-r', path.join(ROOT, 'test', 'helpers', 'ts-register.cjs'), path.join(ROOT, 'ts', 'cli.ts'), ...args], { encoding: 'utf8', timeout: 90_000 });

  it('--amp switches OptimWrapper to AmpOptimWrapper (the log carries loss_scale); --resume CKPT continues from that file', () => {
    const dir = path.join(tmpRoot, 'cli');
    const cfgFile = path.join(tmpRoot, 'cli.json');
    fs.writeFileSync(cfgFile, JSON.stringify(config(null, { val_dataloader: undefined, val_evaluator: undefined })));
    const first = cli('train', cfgFile, '--work-dir', dir, '--amp');
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/Iter\(train\) \[ 4\/12\].*loss_scale: 65536\.0000  skipped_steps: 0\.0000/);
    const ckpt = readCheckpointFile(path.join(dir, 'iter_12.safetensors')).checkpoint;
    expect((ckpt.optimizer as { loss_scaler: unknown }).loss_scaler).toMatchObject({ scale: 65536 });

    const again = cli('train', cfgFile, '--work-dir', path.join(tmpRoot, 'cli2'), '--amp', '--resume', path.join(dir, 'iter_8.safetensors'));
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('resumed epoch: 0, iter: 8');
    expect(again.stdout).not.toContain('Iter(train) [ 8/12]');
    expect(again.stdout).toContain('Iter(train) [12/12]');
    const mismatch = cli('train', cfgFile, '--work-dir', dir, '--amp', '--cfg-options', 'optim_wrapper.type=OptimWrapperDict');
    expect(mismatch.status).toBe(2);
    expect(mismatch.stderr).toContain('--amp is only supported when the optimizer wrapper type is `OptimWrapper` but got OptimWrapperDict.');
  });
});

it('saveCheckpoint outside a run writes the epoch and iteration the runner is at', () => {
  const runner = Runner.fromConfig(config(null, { train_cfg: undefined, optim_wrapper: undefined }), { echo: () => {} });
  const file = path.join(tmpRoot, 'sub', 'manual.safetensors');
  saveCheckpoint(runner, file);
  expect(readCheckpointFile(file).checkpoint.meta).toMatchObject({ epoch: 0, iter: 0 });
  expect(() => loadCheckpoint(runner, path.join(tmpRoot, 'nope.safetensors'))).toThrow(AnvilError);
});
