// Faults: a training process SIGKILLed in the middle of checkpoint saves, again and again, always
// leaves the previous checkpoint loadable and resumes to the uninterrupted run's exact weights;
// a NaN loss stops plain training with an error naming the iteration and no corrupt checkpoint,
// while under AMP the step is skipped and logged.

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AnvilError, Hook, HOOKS, readCheckpointFile, Runner, saveCheckpoint } from '../ts';

const ROOT = path.resolve(__dirname, '..');
const REGISTER = path.join(ROOT, 'test', 'helpers', 'ts-register.cjs');
const CLI = path.join(ROOT, 'ts', 'cli.ts');
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'anvil-faults-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

const MAX_ITERS = 16;

function config(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: { type: 'MLPClassifier', in_features: 784, hidden_sizes: [32], num_classes: 10 },
    train_dataloader: { batch_size: 50, sampler: { type: 'DefaultSampler', shuffle: true }, dataset: { type: 'MNIST', split: 'train', limit: 300 } },
    train_cfg: { type: 'IterBasedTrainLoop', max_iters: MAX_ITERS },
    optim_wrapper: { type: 'OptimWrapper', optimizer: { type: 'AdamW', lr: 0.003 } },
    param_scheduler: [{ type: 'LinearLR', start_factor: 0.2, by_epoch: false, begin: 0, end: 8 }],
    default_hooks: { logger: { type: 'LoggerHook', interval: 2 }, checkpoint: { type: 'CheckpointHook', by_epoch: false, interval: 2 } },
    randomness: { seed: 3 },
    ...overrides,
  };
}

/** `anvil train` on the TypeScript sources in a child process. */
function trainChild(cfgFile: string, workDir: string, delayMs: number | null): ChildProcess {
  const env = { ...process.env };
  if (delayMs === null) delete env.ANVIL_TEST_CHECKPOINT_SAVE_DELAY_MS;
  else env.ANVIL_TEST_CHECKPOINT_SAVE_DELAY_MS = String(delayMs);
  return spawn(process.execPath, ['-r', REGISTER, CLI, 'train', cfgFile, '--work-dir', workDir, '--resume'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, output })));
}

async function waitFor(what: string, condition: () => boolean, exit: Promise<unknown>, timeoutMs = 45_000): Promise<void> {
  let ended = false;
  void exit.then(() => (ended = true));
  const start = Date.now();
  while (!condition()) {
    if (ended) throw new Error(`the training process exited while waiting for ${what}`);
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function lastCheckpoint(workDir: string): string | null {
  const marker = path.join(workDir, 'last_checkpoint');
  return fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8') : null;
}

const iterOf = (file: string) => Number(/iter_(\d+)\.safetensors$/.exec(file)![1]);

function bits(a: ArrayLike<number>): number[] {
  return Array.from(new Uint32Array(Float32Array.from(a).buffer));
}

describe('SIGKILL in the middle of checkpoint saves', () => {
  it('always leaves the previous checkpoint loadable, and resuming ends at the uninterrupted weights', async () => {
    const workDir = path.join(tmpRoot, 'killed');
    const cfgFile = path.join(tmpRoot, 'killed.json');
    fs.writeFileSync(cfgFile, JSON.stringify(config()));
    const KILLS = 5;
    let kills = 0;
    for (let trial = 0; trial < KILLS; trial++) {
      const before = lastCheckpoint(workDir);
      // Each save pauses halfway through writing its temp file: the kill lands there.
      const child = trainChild(cfgFile, workDir, 1000);
      const exit = exited(child);
      // One save completes in this trial (resumed from the previous one's last good checkpoint) ...
      await waitFor('a completed save', () => lastCheckpoint(workDir) !== before, exit);
      const done = lastCheckpoint(workDir)!;
      const target = path.join(workDir, `iter_${iterOf(done) + 2}.safetensors`);
      const tmp = `${target}.tmp`;
      // ... and the next one is killed while its temp file is half written.
      await waitFor(`${tmp} to be written`, () => fs.existsSync(tmp) && fs.statSync(tmp).size > 0, exit);
      child.kill('SIGKILL');
      const { signal, output } = await exit;
      expect(signal, output).toBe('SIGKILL');
      // The kill really landed mid-save: the temp file is there, half written; the target never appeared.
      expect(fs.existsSync(tmp)).toBe(true);
      expect(fs.existsSync(target)).toBe(false);
      expect(() => readCheckpointFile(tmp)).toThrow(AnvilError);
      // The previous checkpoint is named by last_checkpoint and loads whole.
      expect(lastCheckpoint(workDir)).toBe(done);
      const { checkpoint } = readCheckpointFile(done);
      expect((checkpoint.meta as { iter: number }).iter).toBe(iterOf(done));
      expect(Object.keys(checkpoint)).toEqual(expect.arrayContaining(['meta', 'state_dict', 'optimizer', 'param_schedulers', 'message_hub']));
      kills++;
    }
    expect(kills).toBe(KILLS);

    // Resume once more, without the delay, to the end.
    const final = trainChild(cfgFile, workDir, null);
    const { code, output } = await exited(final);
    expect(code, output).toBe(0);
    expect(output).toContain(`Auto resumed from the latest checkpoint ${path.join(workDir, `iter_${2 * KILLS}.safetensors`)}`);
    // Every half-written temp file was replaced by its completed save.
    expect(fs.readdirSync(workDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const reference = Runner.fromConfig(config({ work_dir: path.join(tmpRoot, 'reference') }), { echo: () => {} });
    reference.train();
    const { checkpoint } = readCheckpointFile(path.join(workDir, `iter_${MAX_ITERS}.safetensors`));
    const saved = checkpoint.state_dict as Record<string, Float32Array>;
    for (const [name, p] of reference.model.namedParameters()) expect(bits(saved[name]), name).toEqual(bits(p.data));
  }, 120_000);
});

/** Puts a NaN into the batch of iteration `at` (0-based), so that iteration's loss is NaN. */
class NaNBatchHook extends Hook {
  constructor(readonly options: { at: number }) {
    super();
  }
  override beforeTrainIter(runner: Runner, _idx: number, batch: unknown): void {
    if (runner.iter === this.options.at) (batch as { inputs: Float32Array }).inputs[0] = NaN;
  }
}
HOOKS.registerClass('NaNBatchHook', NaNBatchHook, { accepts: ['at'] });

/** Copies of the weights after every iteration. */
class WeightsRecorderHook extends Hook {
  static last: WeightsRecorderHook;
  readonly after: number[][][] = [];
  constructor() {
    super();
    WeightsRecorderHook.last = this;
  }
  override afterTrainIter(runner: Runner): void {
    this.after.push(runner.model.namedParameters().map(([, p]) => bits(p.data)));
  }
}
HOOKS.registerClass('WeightsRecorderHook', WeightsRecorderHook, { accepts: [] });

// A linear classifier: a NaN pixel makes that sample's logits, and so the loss, NaN.
const LINEAR = { type: 'MLPClassifier', in_features: 784, hidden_sizes: [], num_classes: 10 };

describe('NaN losses', () => {
  it('without AMP: training stops with an AnvilError naming the iteration, and no checkpoint of it is written', () => {
    const workDir = path.join(tmpRoot, 'nan');
    const runner = Runner.fromConfig(config({ model: LINEAR, work_dir: workDir, custom_hooks: [{ type: 'NaNBatchHook', at: 6 }] }), { echo: () => {} });
    expect(() => runner.train()).toThrow(/^OptimWrapper: the loss is NaN at iteration 7; training stopped before the optimizer step/);
    expect(fs.readdirSync(workDir).filter((f) => f.endsWith('.safetensors')).sort()).toEqual(['iter_2.safetensors', 'iter_4.safetensors', 'iter_6.safetensors']);
    expect(lastCheckpoint(workDir)).toBe(path.join(workDir, 'iter_6.safetensors'));
    // The parameters were not touched by the NaN iteration: saving them works and they are finite.
    const { checkpoint } = readCheckpointFile(path.join(workDir, 'iter_6.safetensors'));
    for (const t of Object.values(checkpoint.state_dict as Record<string, Float32Array>)) expect(t.every(Number.isFinite)).toBe(true);
    // And a checkpoint of non-finite weights is refused, leaving no file behind.
    runner.model.namedParameters()[0][1].data[3] = Infinity;
    const bad = path.join(workDir, 'bad.safetensors');
    expect(() => saveCheckpoint(runner, bad)).toThrow(/refusing to save checkpoint .*bad\.safetensors at iteration 6: '.*' holds Infinity at element 3/);
    expect(fs.existsSync(bad)).toBe(false);
  });

  it('with AMP: the step is skipped, counted and logged with the loss scale, and training goes on', () => {
    const lines: string[] = [];
    const runner = Runner.fromConfig(
      config({
        model: LINEAR,
        optim_wrapper: { type: 'AmpOptimWrapper', optimizer: { type: 'AdamW', lr: 0.003 } },
        custom_hooks: [{ type: 'NaNBatchHook', at: 6 }, { type: 'WeightsRecorderHook' }],
        default_hooks: { logger: { type: 'LoggerHook', interval: 1 }, checkpoint: null },
      }),
      { echo: (l) => lines.push(l) },
    );
    runner.train();
    expect(runner.iter).toBe(MAX_ITERS);
    const w = WeightsRecorderHook.last.after;
    expect(w[6]).toEqual(w[5]); // iteration 7 was skipped
    expect(w[7]).not.toEqual(w[6]);
    const hub = runner.messageHub;
    expect(Array.from(hub.getScalar('train/skipped_steps')!.toArray())).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    const scales = Array.from(hub.getScalar('train/loss_scale')!.toArray());
    expect(scales[5]).toBe(65536);
    expect(scales[6]).toBe(32768); // backed off after the overflow
    const line7 = lines.find((l) => l.includes('Iter(train) [ 7/16]'))!;
    expect(line7).toMatch(/loss: nan/i);
    expect(line7).toContain('skipped_steps: 1.0000');
    expect(line7).toMatch(/loss_scale: /);
  });
});
