// `anvil hooks` and `anvil test`, run from the TypeScript sources (transpiled once into a temp
// folder, as config-cli.test.ts does), and the engine guide's hook configs run as written.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, Runner } from '../ts';

const ROOT = path.resolve(__dirname, '..');
let tmp: string;
let cli: string;

function transpileSources(out: string): void {
  const walk = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
  for (const file of walk(path.join(ROOT, 'ts'))) {
    const js = ts.transpileModule(fs.readFileSync(file, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      fileName: file,
    }).outputText;
    const dest = path.join(out, 'dist', path.relative(path.join(ROOT, 'ts'), file)).replace(/\.ts$/, '.js');
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, js);
  }
  for (const link of ['native', 'node_modules', 'package.json']) fs.symlinkSync(path.join(ROOT, link), path.join(out, link));
}

function anvil(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: tmp, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The engine guide's snippets on an MNIST classifier: MMSegmentation's schedule_160k
 * `default_hooks`, its runtime's visualizer and log processor, `default_scope`, the guide's
 * `custom_hooks=[dict(type='EMAHook', start_iters=500)]` and a custom hook with a string priority.
 */
const GUIDE = `default_scope = 'mmseg'
model = dict(type='MLPClassifier', in_features=784, hidden_sizes=[32], num_classes=10)
train_dataloader = dict(
    batch_size=50,
    num_workers=2,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='MNIST', split='train', limit=1000))
val_dataloader = dict(batch_size=100, sampler=dict(type='DefaultSampler', shuffle=False), dataset=dict(type='MNIST', split='test', limit=200))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy')
test_evaluator = val_evaluator
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=160000, by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=160000, val_interval=16000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=16000),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
custom_hooks = [
    dict(type='EMAHook', start_iters=500),
    dict(type='SyncBuffersHook', priority='NORMAL'),
]
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
randomness = dict(seed=0)
`;

/** The guide's schedule, scaled down: 40 iterations, validation and a checkpoint every 20. */
const SMALL = [
  '--cfg-options',
  'train_cfg.max_iters=40',
  'train_cfg.val_interval=20',
  'param_scheduler.0.end=40',
  'default_hooks.logger.interval=10',
  'default_hooks.checkpoint.interval=20',
  'custom_hooks.0.start_iters=10',
];

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anvil-cli-hooks-'));
  transpileSources(path.join(tmp, 'build'));
  cli = path.join(tmp, 'build', 'dist', 'cli.js');
  fs.writeFileSync(path.join(tmp, 'guide.py'), GUIDE);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const block = (info: string, stage: string) => info.split('\n -------------------- ').find((b) => b.replace(/^\n/, '').startsWith(`${stage}:`))?.replace(/^\n/, '');

describe('anvil hooks', () => {
  it("prints each stage's hooks as the runner would, without training or a run folder", () => {
    const r = anvil('hooks', 'guide.py');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(Runner.fromConfig(loadConfig(path.join(tmp, 'guide.py')), { workDir: null, echo: () => {} }).getHooksInfo() + '\n');
    expect(block(r.stdout, 'after_train_iter')!.split('\n').slice(1)).toEqual([
      '(VERY_HIGH   ) RuntimeInfoHook                    ',
      '(NORMAL      ) IterTimerHook                      ',
      '(NORMAL      ) SegVisualizationHook               ',
      '(NORMAL      ) EMAHook                            ',
      '(BELOW_NORMAL) LoggerHook                         ',
      '(LOW         ) ParamSchedulerHook                 ',
      '(VERY_LOW    ) CheckpointHook                     ',
    ]);
    // A string priority prints as written, as MMEngine prints it.
    expect(block(r.stdout, 'after_train_epoch')).toContain('(NORMAL      ) SyncBuffersHook');
    expect(block(r.stdout, 'before_save_checkpoint')).toBe('before_save_checkpoint:\n(NORMAL      ) EMAHook                            ');
    expect(r.stderr).toMatch(/'start_iters' is deprecated, use 'begin_iter'/);
    expect(fs.existsSync(path.join(tmp, 'work_dirs'))).toBe(false);
  });

  it('applies --cfg-options (None removes a default hook; priorities reorder)', () => {
    const r = anvil('hooks', 'guide.py', '--cfg-options', 'default_hooks.logger=None', 'custom_hooks.1.priority=HIGHEST');
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain('LoggerHook');
    expect(block(r.stdout, 'after_train_epoch')!.split('\n')[1]).toBe('(HIGHEST     ) SyncBuffersHook                    ');
  });

  it('reports config errors with the key and no stack trace', () => {
    const bad = anvil('hooks', 'guide.py', '--cfg-options', 'custom_hooks.1.priority=101');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^anvil: custom_hooks\[1\]\.priority: priority must be between 0 and 100, got 101/m);
    expect(bad.stderr).not.toMatch(/^\s+at /m);
    expect(anvil('hooks').stderr).toMatch(/^anvil: hooks: expected a config file/);
    expect(anvil('hooks', 'guide.py', '--work-dir', 'x').stderr).toMatch(/^anvil: hooks: unknown option '--work-dir'/);
    const unknown = anvil('hooks', 'guide.py', '--cfg-options', 'custom_hooks.1.type=NoSuchHook');
    expect(unknown.stderr).toMatch(/^anvil: custom_hooks\[1\]\.type: 'NoSuchHook' is not registered in HOOKS/m);
  });
});

describe("the guide's configs run as written (scaled down), then anvil test evaluates a checkpoint", () => {
  it('trains with schedule_160k default_hooks, EMAHook(start_iters) and a string priority', () => {
    const r = anvil('train', 'guide.py', '--work-dir', 'guide_out', ...SMALL);
    expect(r.stderr).toMatch(/'start_iters' is deprecated/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/val accuracy: 0\.\d{4}/);
    expect(r.stdout).toMatch(/Iter\(train\) \[40\/40\]  lr: \d\.\d{4}e-\d\d  eta: /);
    const [runDir] = fs.readdirSync(path.join(tmp, 'guide_out')).filter((f) => /^\d{8}_\d{6}$/.test(f));
    const scalars = fs.readFileSync(path.join(tmp, 'guide_out', runDir, 'vis_data', 'scalars.json'), 'utf8').trim().split('\n');
    expect(scalars.map((l) => JSON.parse(l).step)).toEqual([10, 20, 20, 30, 40, 40]);
  });

  it('anvil test --checkpoint loads the weights and prints the test metrics', () => {
    const out = path.join(tmp, 'guide_out');
    const ckpts = fs.readdirSync(out).filter((f) => /iter_40/.test(f));
    expect(ckpts).toHaveLength(1);
    const r = anvil('test', 'guide.py', '--checkpoint', path.join('guide_out', ckpts[0]), '--work-dir', 'test_out');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^test accuracy: 0\.\d{4}$/m);
    expect(anvil('test', 'guide.py').stderr).toMatch(/^anvil: test: --checkpoint FILE is required/);
    expect(anvil('test', 'guide.py', '--checkpoint', 'nope.safetensors').stderr).toMatch(/^anvil: test: checkpoint 'nope\.safetensors' not found/);
    expect(anvil('test', 'guide.py', '--checkpoint').stderr).toMatch(/^anvil: test: --checkpoint needs a value/);
  });
});
