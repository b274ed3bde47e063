"""Generates extra conformance cases for the engine kinds (scheduler, optim_constructor, hook_order,
config) by running the reference code itself; no expected value is typed by hand.

Output: test/fixtures/conformance-extra/<kind>/<name>.json, in the format of
../shared/conformance/FORMAT.md (the same `input` / `expected` layout, `source` strings and
tolerances as the official cases of each kind).

Reproduce with a Python that has the reference installed (outside the repo, e.g. a venv):

    python -m venv /tmp/mm-venv
    /tmp/mm-venv/bin/pip install torch==2.15.0 mmengine==0.10.7
    pip download mmsegmentation==1.2.2 --no-deps -d /tmp/mmseg-wheel
    /tmp/mm-venv/bin/python scripts/gen-extra-conformance-engine.py \
        --mmseg-wheel /tmp/mmseg-wheel/mmsegmentation-1.2.2-py3-none-any.whl

MMSegmentation itself is not installed (it needs mmcv): its layer_decay_optimizer_constructor.py is
read from the wheel and run unchanged, with `mmseg.registry.OPTIM_WRAPPER_CONSTRUCTORS` standing
for MMEngine's registry (as the official mmseg-* cases were made).
"""
import argparse
import copy
import json
import os
import re
import shutil
import sys
import tempfile
import types
import warnings
import zipfile

# Python >= 3.11 freezes os/posixpath: MMEngine's _is_builtin_module then misreads `import os` in a
# config as a third-party import. Real stdlib files restore MMEngine's behaviour; a fixed hash seed
# keeps set orders (and so the files) reproducible.
if sys._xoptions.get('frozen_modules') != 'off' or os.environ.get('PYTHONHASHSEED') != '0':
    os.execve(sys.executable, [sys.executable, '-X', 'frozen_modules=off', *sys.argv], {**os.environ, 'PYTHONHASHSEED': '0'})

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import mmengine  # noqa: E402
import mmengine.config.utils as mmengine_config_utils  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.hooks import Hook, ParamSchedulerHook  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402
from mmengine.model import BaseModel  # noqa: E402
from mmengine.optim import OptimWrapper, build_optim_wrapper  # noqa: E402
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIMIZERS  # noqa: E402
from mmengine.runner import Runner, get_priority  # noqa: E402
from mmengine.runner.base_loop import BaseLoop  # noqa: E402

mmengine_config_utils.PYTHON_ROOT_DIR = sys.base_prefix
warnings.filterwarnings('ignore')

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, 'test', 'fixtures', 'conformance-extra')
DATA_ROOT = os.path.join(os.path.dirname(REPO), 'shared', 'mmengine-config-data')
VERSIONS = f'torch {torch.__version__}, mmengine {mmengine.__version__}'
COUNTS = {}


def jsonable(v):
    """Tuples become lists, non-finite floats their strings (FORMAT.md)."""
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, float) and v != v:
        return 'nan'
    if isinstance(v, float) and v in (float('inf'), float('-inf')):
        return 'inf' if v > 0 else '-inf'
    return v


def error_of(e, substring=None):
    """expected.error: the reference's message (a KeyError's key), or a checked part of it."""
    msg = e.args[0] if isinstance(e, KeyError) and e.args and isinstance(e.args[0], str) else str(e)
    if substring is not None:
        assert substring in msg, f'{substring!r} not in the reference message {msg!r}'
        msg = substring
    return {'error': msg, 'error_type': type(e).__name__}


def reference(name, run, error):
    """What the reference returns, or with `error` (a substring of its message, or True) its error."""
    try:
        expected = run()
    except Exception as e:  # noqa: BLE001 - the reference's error is the expected result
        if error is None:
            raise
        return error_of(e, error if error is not True else None)
    assert error is None, f'{name}: the reference raised no error'
    return expected


def write(kind, name, source, inp, expected, tolerance=None):
    case = {'kind': kind, 'name': name, 'source': source, 'input': jsonable(inp), 'expected': jsonable(expected)}
    if tolerance is not None:
        case['tolerance'] = tolerance
    d = os.path.join(OUT, kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f'{name}.json'), 'w') as f:
        json.dump(case, f, indent=1, allow_nan=False)
        f.write('\n')
    COUNTS[kind] = COUNTS.get(kind, 0) + 1


# ----------------------------------------------------------------------------------- scheduler

SCHED_SOURCE = (f'mmengine.runner.Runner._build_param_scheduler + ParamSchedulerHook order ({VERSIONS}); '
                'value sampled at before_train_iter (RuntimeInfoHook train/lr)')
SCHED_TOL = {'rtol': 1e-07, 'atol': 1e-12}


class _Loop(BaseLoop):
    """Only so that Runner._build_param_scheduler sees a built train loop."""

    def run(self):
        pass


def run_schedulers(optimizer_cfg, scheduler_cfg, train):
    param = nn.Parameter(torch.zeros(1))
    optimizer = OPTIMIZERS.build({**copy.deepcopy(optimizer_cfg), 'params': [param]})
    wrapper = OptimWrapper(optimizer=optimizer)
    by_epoch = train['by_epoch']
    epoch_length = train['iters_per_epoch'] if by_epoch else train['max_iters']
    max_epochs = train['max_epochs'] if by_epoch else 1
    total = max_epochs * epoch_length if by_epoch else train['max_iters']
    fake = types.SimpleNamespace(max_epochs=max_epochs, max_iters=total, train_dataloader=list(range(epoch_length)),
                                 logger=MMLogger.get_current_instance())
    fake._train_loop = _Loop(fake, list(range(epoch_length)))
    schedulers = Runner._build_param_scheduler(fake, copy.deepcopy(scheduler_cfg), wrapper)
    cfgs = scheduler_cfg if isinstance(scheduler_cfg, list) else [scheduler_cfg]
    keys = ['lr']
    for s in cfgs:
        if s['type'].endswith('Momentum') and 'momentum' not in keys:
            keys.append('momentum')
        if 'param_name' in s and s['param_name'] not in keys:
            keys.append(s['param_name'])
    out = {k: [] for k in keys}
    hook = ParamSchedulerHook()
    runner = types.SimpleNamespace(param_schedulers=schedulers)
    for i in range(total):
        for k in keys:
            out[k].append(wrapper.get_momentum()['momentum'][0] if k == 'momentum' else optimizer.param_groups[0][k])
        hook.after_train_iter(runner, i)
        if by_epoch and (i + 1) % epoch_length == 0:
            hook.after_train_epoch(runner)
    return out


def sched(name, optimizer, param_scheduler, train, error=None):
    inp = {'optimizer': optimizer, 'param_scheduler': param_scheduler, 'train': train}
    expected = reference(name, lambda: run_schedulers(optimizer, param_scheduler, train), error)
    write('scheduler', name, SCHED_SOURCE, inp, expected, SCHED_TOL if 'error' not in expected else None)


SGD = {'type': 'SGD', 'lr': 0.01, 'momentum': 0.9, 'weight_decay': 0.0005}
ADAM = {'type': 'Adam', 'lr': 0.001, 'betas': [0.9, 0.999], 'weight_decay': 0.0}
ADAMW = {'type': 'AdamW', 'lr': 0.0006, 'betas': [0.9, 0.999], 'weight_decay': 0.01}
IT = lambda n: {'by_epoch': False, 'max_iters': n}  # noqa: E731
EP = lambda e, k: {'by_epoch': True, 'max_epochs': e, 'iters_per_epoch': k}  # noqa: E731


def gen_scheduler():
    sched('linear-end-factor-window', SGD, {'type': 'LinearLR', 'start_factor': 0.25, 'end_factor': 0.75, 'by_epoch': False, 'begin': 2, 'end': 8}, IT(12))
    sched('constant-epoch-window', SGD, {'type': 'ConstantLR', 'factor': 0.2, 'by_epoch': True, 'begin': 1, 'end': 3}, EP(5, 2))
    sched('step-lr-epoch', SGD, {'type': 'StepLR', 'step_size': 2, 'gamma': 0.5, 'by_epoch': True}, EP(6, 3))
    sched('multistep-convert-to-iter', SGD, {'type': 'MultiStepLR', 'milestones': [2, 4], 'gamma': 0.3, 'by_epoch': True, 'convert_to_iter_based': True}, EP(5, 3))
    sched('exponential-begin-offset', ADAMW, {'type': 'ExponentialLR', 'gamma': 0.8, 'by_epoch': False, 'begin': 3, 'end': 9}, IT(12))
    sched('cosine-default-tmax-window', SGD, {'type': 'CosineAnnealingLR', 'eta_min': 1e-4, 'by_epoch': False, 'begin': 2, 'end': 10}, IT(12))
    sched('cosine-eta-min-ratio-epoch-convert', SGD, {'type': 'CosineAnnealingLR', 'T_max': 3, 'eta_min_ratio': 0.1, 'by_epoch': True, 'begin': 1, 'end': 4, 'convert_to_iter_based': True}, EP(4, 3))
    sched('cosine-tmax-shorter-than-window', SGD, {'type': 'CosineAnnealingLR', 'T_max': 4, 'by_epoch': False, 'begin': 0, 'end': 12}, IT(12))
    sched('poly-eta-min-power2-begin', SGD, {'type': 'PolyLR', 'eta_min': 0.001, 'power': 2.0, 'by_epoch': False, 'begin': 2, 'end': 10}, IT(12))
    sched('poly-epoch-based', SGD, {'type': 'PolyLR', 'eta_min': 0.0, 'power': 0.5, 'by_epoch': True}, EP(4, 2))
    sched('onecycle-options', SGD, {'type': 'OneCycleLR', 'eta_max': 0.1, 'total_steps': 12, 'pct_start': 0.25, 'anneal_strategy': 'linear', 'div_factor': 10.0, 'final_div_factor': 100.0, 'by_epoch': False}, IT(12))
    sched('err-onecycle-stepped-past-total-steps', SGD, {'type': 'OneCycleLR', 'eta_max': 0.1, 'total_steps': 6, 'by_epoch': False}, IT(10), error='The specified number of total steps is 6')
    sched('onecycle-epoch-convert', ADAM, {'type': 'OneCycleLR', 'eta_max': 0.01, 'by_epoch': True, 'convert_to_iter_based': True}, EP(3, 4))
    sched('onecycle-three-phase-cos', SGD, {'type': 'OneCycleLR', 'eta_max': 0.05, 'pct_start': 0.3, 'three_phase': True, 'by_epoch': False, 'begin': 0, 'end': 20}, IT(20))
    sched('cosine-restart-weights-eta-min', SGD, {'type': 'CosineRestartLR', 'periods': [4, 6], 'restart_weights': [1.0, 0.5], 'eta_min': 0.001, 'by_epoch': False, 'begin': 0, 'end': 10}, IT(12))
    sched('cosine-restart-eta-min-ratio-convert', SGD, {'type': 'CosineRestartLR', 'periods': [1, 2], 'restart_weights': [1.0, 0.8], 'eta_min_ratio': 0.05, 'by_epoch': True, 'convert_to_iter_based': True}, EP(3, 3))
    sched('reduce-on-plateau-no-metrics', SGD, {'type': 'ReduceOnPlateauLR', 'monitor': 'loss', 'factor': 0.5, 'patience': 1}, EP(3, 2))
    sched('err-plateau-iter-based', SGD, {'type': 'ReduceOnPlateauLR', 'monitor': 'loss', 'by_epoch': False}, IT(4), error='only support by_epoch=True')
    sched('linear-momentum-sgd-window', SGD, {'type': 'LinearMomentum', 'start_factor': 0.5, 'by_epoch': False, 'begin': 1, 'end': 6}, IT(8))
    sched('exponential-momentum-adam', ADAM, {'type': 'ExponentialMomentum', 'gamma': 0.95, 'by_epoch': False, 'begin': 0, 'end': 6}, IT(8))
    sched('multistep-momentum-epoch', SGD, {'type': 'MultiStepMomentum', 'milestones': [1, 3], 'gamma': 0.5, 'by_epoch': True}, EP(4, 2))
    sched('constant-momentum', ADAMW, {'type': 'ConstantMomentum', 'factor': 0.8, 'by_epoch': False, 'begin': 0, 'end': 3}, IT(6))
    sched('poly-momentum', SGD, {'type': 'PolyMomentum', 'eta_min': 0.5, 'power': 1.5, 'by_epoch': False, 'begin': 0, 'end': 8}, IT(10))
    sched('cosine-restart-momentum', SGD, {'type': 'CosineRestartMomentum', 'periods': [3, 3], 'restart_weights': [1.0, 1.0], 'eta_min': 0.85, 'by_epoch': False, 'begin': 0, 'end': 6}, IT(8))
    sched('cosine-annealing-momentum-adamw', ADAMW, {'type': 'CosineAnnealingMomentum', 'T_max': 6, 'eta_min': 0.8, 'by_epoch': False, 'begin': 0, 'end': 6}, IT(8))
    sched('linear-param-weight-decay', SGD, {'type': 'LinearParamScheduler', 'param_name': 'weight_decay', 'start_factor': 1.0, 'end_factor': 0.1, 'by_epoch': False, 'begin': 0, 'end': 5}, IT(7))
    sched('step-param-lr', SGD, {'type': 'StepParamScheduler', 'param_name': 'lr', 'step_size': 3, 'gamma': 0.1, 'by_epoch': False}, IT(9))
    sched('multistep-param-momentum', SGD, {'type': 'MultiStepParamScheduler', 'param_name': 'momentum', 'milestones': [2, 5], 'gamma': 0.5, 'by_epoch': False}, IT(7))
    sched('exponential-and-poly-param-weight-decay', ADAMW, [
        {'type': 'ExponentialParamScheduler', 'param_name': 'weight_decay', 'gamma': 0.9, 'by_epoch': False, 'begin': 0, 'end': 4},
        {'type': 'PolyParamScheduler', 'param_name': 'weight_decay', 'eta_min': 0.001, 'power': 1.0, 'by_epoch': False, 'begin': 4, 'end': 8}], IT(10))
    sched('onecycle-param-scheduler', SGD, {'type': 'OneCycleParamScheduler', 'param_name': 'lr', 'eta_max': 0.2, 'total_steps': 10, 'by_epoch': False}, IT(10))
    sched('cosine-restart-param-weight-decay', SGD, {'type': 'CosineRestartParamScheduler', 'param_name': 'weight_decay', 'periods': [2, 4], 'restart_weights': [1.0, 0.6], 'eta_min': 0.0, 'by_epoch': False}, IT(8))
    sched('overlapping-linear-and-cosine', SGD, [
        {'type': 'LinearLR', 'start_factor': 0.1, 'by_epoch': False, 'begin': 0, 'end': 5},
        {'type': 'CosineAnnealingLR', 'T_max': 10, 'by_epoch': False, 'begin': 0, 'end': 10}], IT(12))
    sched('overlapping-multistep-exponential', SGD, [
        {'type': 'MultiStepLR', 'milestones': [3, 6], 'gamma': 0.5, 'by_epoch': False},
        {'type': 'ExponentialLR', 'gamma': 0.9, 'by_epoch': False, 'begin': 2, 'end': 8}], IT(10))
    sched('gap-between-windows', SGD, [
        {'type': 'LinearLR', 'start_factor': 0.5, 'by_epoch': False, 'begin': 0, 'end': 3},
        {'type': 'StepLR', 'step_size': 2, 'gamma': 0.5, 'by_epoch': False, 'begin': 5, 'end': 10}], IT(12))
    sched('epoch-run-mixed-iter-and-epoch', SGD, [
        {'type': 'LinearLR', 'start_factor': 0.2, 'by_epoch': False, 'begin': 0, 'end': 4},
        {'type': 'MultiStepLR', 'milestones': [2, 3], 'gamma': 0.1, 'by_epoch': True}], EP(4, 3))
    sched('iter-run-epoch-scheduler-default-end', SGD, {'type': 'StepLR', 'step_size': 1, 'gamma': 0.5}, IT(5))
    sched('lr-momentum-weight-decay-together', SGD, [
        {'type': 'CosineAnnealingLR', 'T_max': 6, 'by_epoch': False, 'verbose': False},
        {'type': 'CosineAnnealingMomentum', 'T_max': 6, 'eta_min': 0.85, 'by_epoch': False},
        {'type': 'LinearParamScheduler', 'param_name': 'weight_decay', 'start_factor': 0.5, 'by_epoch': False, 'end': 3}], IT(6))
    sched('mmseg-poly-warmup-scaled', ADAMW, [
        {'type': 'LinearLR', 'start_factor': 1e-06, 'by_epoch': False, 'begin': 0, 'end': 4},
        {'type': 'PolyLR', 'power': 1.0, 'begin': 4, 'end': 16, 'eta_min': 0.0, 'by_epoch': False}], IT(16))
    sched('multistep-duplicate-milestones', SGD, {'type': 'MultiStepLR', 'milestones': [2, 2, 5], 'gamma': 0.5, 'by_epoch': False}, IT(7))
    sched('step-lr-begin-offset-convert', SGD, {'type': 'StepLR', 'step_size': 1, 'gamma': 0.7, 'by_epoch': True, 'begin': 1, 'end': 4, 'convert_to_iter_based': True}, EP(4, 2))
    sched('exponential-convert-to-iter', SGD, {'type': 'ExponentialLR', 'gamma': 0.5, 'by_epoch': True, 'convert_to_iter_based': True}, EP(3, 2))
    sched('poly-convert-to-iter', SGD, {'type': 'PolyLR', 'eta_min': 1e-4, 'power': 0.9, 'by_epoch': True, 'begin': 0, 'end': 3, 'convert_to_iter_based': True}, EP(3, 3))
    sched('onecycle-epoch-stepped', SGD, {'type': 'OneCycleLR', 'eta_max': 0.1, 'pct_start': 0.5, 'by_epoch': True}, EP(4, 2))
    sched('end-beyond-max-iters', SGD, {'type': 'LinearLR', 'start_factor': 0.1, 'by_epoch': False, 'begin': 0, 'end': 20}, IT(8))
    sched('momentum-rmsprop', {'type': 'RMSprop', 'lr': 0.01, 'momentum': 0.5}, {'type': 'StepMomentum', 'step_size': 2, 'gamma': 0.5, 'by_epoch': False}, IT(6))
    sched('momentum-nadam-betas', {'type': 'NAdam', 'lr': 0.002, 'betas': [0.8, 0.99]}, {'type': 'LinearMomentum', 'start_factor': 0.5, 'by_epoch': False, 'end': 4}, IT(6))
    sched('param-scheduler-eps', ADAM, {'type': 'ExponentialParamScheduler', 'param_name': 'eps', 'gamma': 0.1, 'by_epoch': False, 'end': 4}, IT(5))
    sched('chain-same-begin-linear-cosine', SGD, [
        {'type': 'LinearLR', 'start_factor': 0.5, 'by_epoch': False, 'begin': 3, 'end': 6},
        {'type': 'CosineAnnealingLR', 'T_max': 6, 'eta_min': 0.001, 'by_epoch': False, 'begin': 3, 'end': 9}], IT(10))
    sched('err-momentum-scheduler-without-momentum', {'type': 'Adagrad', 'lr': 0.01}, {'type': 'LinearMomentum', 'by_epoch': False, 'end': 4}, IT(4), error='optimizer must support momentum')
    sched('err-end-not-after-begin', SGD, {'type': 'LinearLR', 'by_epoch': False, 'begin': 5, 'end': 5}, IT(8), error='end should be larger than begin')
    sched('err-unknown-scheduler', SGD, {'type': 'NoSuchLR', 'by_epoch': False}, IT(4), error='NoSuchLR')
    sched('err-eta-min-and-ratio', SGD, {'type': 'CosineAnnealingLR', 'T_max': 4, 'eta_min': 0.0, 'eta_min_ratio': 0.1, 'by_epoch': False}, IT(4), error='Either `eta_min` or `eta_min_ratio')
    sched('err-onecycle-bad-anneal', SGD, {'type': 'OneCycleLR', 'eta_max': 0.1, 'anneal_strategy': 'exp', 'by_epoch': False}, IT(4), error='anneal_strategy must by one of "cos" or "linear"')
    sched('err-onecycle-pct-start-above-one', SGD, {'type': 'OneCycleLR', 'eta_max': 0.1, 'pct_start': 1.5, 'by_epoch': False}, IT(4), error='Expected float between 0 and 1 pct_start')
    sched('err-resume-without-initial', SGD, {'type': 'StepLR', 'step_size': 2, 'last_step': 3, 'by_epoch': False}, IT(4), error="param 'initial_lr' is not specified in param_groups[0] when resuming an optimizer")
    sched('err-linear-bad-end-factor', SGD, {'type': 'LinearLR', 'start_factor': 0.5, 'end_factor': 1.5, 'by_epoch': False, 'end': 4}, IT(4), error='Ending multiplicative factor should between 0 and 1')
    sched('err-constant-factor-out-of-range', SGD, {'type': 'ConstantLR', 'factor': 1.5, 'by_epoch': False, 'end': 4}, IT(4), error='Constant multiplicative factor should between 0 and 1')
    sched('err-plateau-factor', SGD, {'type': 'ReduceOnPlateauLR', 'monitor': 'loss', 'factor': 1.0}, EP(2, 2), error='Factor should be < 1.0')
    sched('err-param-name-not-in-group', ADAM, {'type': 'StepParamScheduler', 'param_name': 'momentum', 'step_size': 2, 'by_epoch': False}, IT(4), error='momentum')


# --------------------------------------------------------------------------- optim_constructor

ATTRS = {
    'Conv1d': ['in_channels', 'out_channels', 'kernel_size', 'groups'],
    'Conv2d': ['in_channels', 'out_channels', 'kernel_size', 'groups'],
    'Conv3d': ['in_channels', 'out_channels', 'kernel_size', 'groups'],
    'ConvTranspose2d': ['in_channels', 'out_channels', 'kernel_size', 'groups'],
    'BatchNorm1d': ['num_features'], 'BatchNorm2d': ['num_features'], 'BatchNorm3d': ['num_features'],
    'SyncBatchNorm': ['num_features'],
    'InstanceNorm1d': ['num_features', 'affine'], 'InstanceNorm2d': ['num_features', 'affine'],
    'GroupNorm': ['num_groups', 'num_channels'],
    'LayerNorm': ['normalized_shape'], 'RMSNorm': ['normalized_shape'],
    'Linear': ['in_features', 'out_features'],
    'Embedding': ['num_embeddings', 'embedding_dim'],
}


def cls(name):
    """A user container class of that name (the constructors read only its class name)."""
    return type(name, (nn.Module,), {})


def describe(model):
    """The model as input.model describes it (named_modules() order, own params, shared/frozen marks)."""
    first = {}
    modules = []
    for name, m in model.named_modules():
        entry = {'name': name, 'type': type(m).__name__}
        if type(m).__name__ in ATTRS:
            entry['attrs'] = {k: getattr(m, k) for k in ATTRS[type(m).__name__]}
        params = {}
        for local, p in m._parameters.items():
            if p is None:
                continue
            full = f'{name}.{local}' if name else local
            if id(p) in first:
                params[local] = {'shape': list(p.shape), 'shared_with': first[id(p)]}
            else:
                first[id(p)] = full
                params[local] = list(p.shape) if p.requires_grad else {'shape': list(p.shape), 'requires_grad': False}
        if params:
            entry['params'] = params
        modules.append(entry)
    return {'modules': modules, 'param_order': [n for n, _ in model.named_parameters()]}


def base_net(extra=None):
    """The official cases' generic model, with optional extra modules under `extra`."""
    net = cls('Net')()
    net.temperature = nn.Parameter(torch.zeros(1))
    bb = cls('GenericBackbone')()
    bb.conv1 = nn.Conv2d(3, 4, 3)
    bb.bn1 = nn.BatchNorm2d(4)
    bb.dwconv = nn.Conv2d(4, 4, 3, groups=4)
    bb.gn = nn.GroupNorm(2, 4)
    bb.pwconv = nn.Conv2d(4, 8, 1, bias=False)
    bb.ln = nn.LayerNorm(8)
    bb.inorm = nn.InstanceNorm2d(8, affine=True)
    bb.fc = nn.Linear(8, 8)
    net.backbone = bb
    net.neck = nn.Sequential(nn.Conv2d(8, 8, 1), nn.SyncBatchNorm(8))
    head = cls('GenericHead')()
    head.scale = nn.Parameter(torch.zeros(3))
    head.embed = nn.Embedding(10, 8)
    head.cls = nn.Linear(8, 3)
    net.head = head
    for k, v in (extra or {}).items():
        setattr(net, k, v)
    return net


def odd_net():
    """Module kinds the generic model lacks: is_norm / is_dwconv corner cases."""
    net = cls('Net')()
    bb = cls('OddBackbone')()
    bb.mono = nn.Conv2d(1, 4, 3)  # in_channels == groups == 1: MMEngine's is_dwconv holds
    bb.dw1d = nn.Conv1d(4, 4, 3, groups=4)  # not a Conv2d
    bb.deconv = nn.ConvTranspose2d(4, 4, 2, groups=4)  # not a Conv2d subclass
    bb.rms = nn.RMSNorm(4)  # not one of MMEngine's norm classes
    bb.ln_nobias = nn.LayerNorm(4, bias=False)
    bb.gn_noaffine = nn.GroupNorm(2, 4, affine=False)
    bb.bn1d = nn.BatchNorm1d(4)
    bb.in1d = nn.InstanceNorm1d(4, affine=True)
    bb.conv3d = nn.Conv3d(4, 4, 1, groups=4)
    net.backbone = bb
    head = cls('OddHead')()
    head.bias = nn.Parameter(torch.zeros(4))  # a container's own param named `bias`
    head.weight = nn.Parameter(torch.zeros(4, 4))
    head.proj = nn.Linear(4, 2)
    net.head = head
    return net


def odd_conv_net():
    """Grouped convs: in_channels == groups with more outputs, groups < in_channels, no bias."""
    net = cls('Net')()
    net.expand = nn.Conv2d(4, 8, 3, groups=4)
    net.grouped = nn.Conv2d(8, 8, 3, groups=2)
    net.nobias = nn.Conv2d(8, 8, 3, groups=8, bias=False)
    net.bn_noaffine = nn.BatchNorm2d(8, affine=False)
    net.fc = nn.Linear(8, 2, bias=False)
    return net


def shared_net():
    tied = nn.Linear(8, 8)
    net = base_net({'aux': nn.Linear(8, 8)})
    net.aux.weight = net.backbone.fc.weight
    net.tail = cls('Tail')()
    net.tail.w = net.head.scale  # a container's own param shared with another container's
    del tied
    return net


def frozen_net():
    net = base_net()
    for p in net.backbone.conv1.parameters():
        p.requires_grad_(False)
    net.head.scale.requires_grad_(False)
    return net


def optim_run(model, optim_wrapper):
    wrapper = build_optim_wrapper(model, copy.deepcopy(optim_wrapper))
    names = {id(p): n for n, p in model.named_parameters()}
    groups = []
    for g in wrapper.optimizer.param_groups:
        groups.append({'params': [names[id(p)] for p in g['params']], **{k: v for k, v in g.items() if k != 'params'}})
    return {'param_groups': groups, 'optim_wrapper_type': type(wrapper).__name__, 'optimizer_type': type(wrapper.optimizer).__name__}


def oc(name, model, optim_wrapper, error=None, mmseg=False):
    constructor = optim_wrapper.get('constructor', 'DefaultOptimWrapperConstructor')
    note = ' (mmsegmentation 1.2.2 layer_decay_optimizer_constructor.py run unchanged)' if mmseg else ''
    source = f'mmengine.optim.build_optim_wrapper(model, optim_wrapper) -> {constructor}{note} ({VERSIONS})'
    expected = reference(name, lambda: optim_run(model, optim_wrapper), error)
    write('optim_constructor', name, source, {'model': describe(model), 'optim_wrapper': optim_wrapper}, expected, {'rtol': 1e-12, 'atol': 0})


def ow(optimizer, paramwise_cfg=None, **kw):
    cfg = {'type': 'OptimWrapper', 'optimizer': optimizer}
    if paramwise_cfg is not None:
        cfg['paramwise_cfg'] = paramwise_cfg
    cfg.update(kw)
    return cfg


OPT_SGD = {'type': 'SGD', 'lr': 0.01, 'momentum': 0.9, 'weight_decay': 0.0001}
OPT_ADAMW = {'type': 'AdamW', 'lr': 0.001, 'betas': [0.9, 0.999], 'weight_decay': 0.05}


def load_mmseg(wheel):
    """Runs mmseg's layer_decay_optimizer_constructor.py (from the wheel, unchanged) against MMEngine's registry."""
    with zipfile.ZipFile(wheel) as z:
        src = z.read('mmseg/engine/optimizers/layer_decay_optimizer_constructor.py').decode()
    pkg = types.ModuleType('mmseg')
    reg = types.ModuleType('mmseg.registry')
    reg.OPTIM_WRAPPER_CONSTRUCTORS = OPTIM_WRAPPER_CONSTRUCTORS
    pkg.registry = reg
    sys.modules['mmseg'] = pkg
    sys.modules['mmseg.registry'] = reg
    mod = types.ModuleType('mmseg_layer_decay')
    exec(compile(src, 'layer_decay_optimizer_constructor.py', 'exec'), mod.__dict__)


def convnext(name='ConvNeXt', depths=(1, 1, 7, 1), frozen_stem=False):
    net = cls('EncoderDecoder')()
    bb = cls(name)()
    bb.downsample_layers = nn.ModuleList()
    dims = [4, 8, 8, 8]
    for i in range(4):
        if i == 0:
            bb.downsample_layers.append(nn.Sequential(nn.Conv2d(3, dims[0], 4, 4), nn.LayerNorm(dims[0])))
        else:
            bb.downsample_layers.append(nn.Sequential(nn.LayerNorm(dims[i - 1]), nn.Conv2d(dims[i - 1], dims[i], 2, 2)))
    bb.stages = nn.ModuleList()
    for i, d in enumerate(depths):
        blocks = []
        for _ in range(d):
            b = cls('ConvNeXtBlock')()
            b.depthwise_conv = nn.Conv2d(dims[i], dims[i], 7, padding=3, groups=dims[i])
            b.norm = nn.LayerNorm(dims[i])
            b.pointwise_conv1 = nn.Linear(dims[i], 2 * dims[i])
            b.pointwise_conv2 = nn.Linear(2 * dims[i], dims[i])
            b.gamma = nn.Parameter(torch.zeros(dims[i]))
            blocks.append(b)
        bb.stages.append(nn.Sequential(*blocks))
    bb.norm3 = nn.LayerNorm(8)
    net.backbone = bb
    head = cls('DecodeHead')()
    head.conv_seg = nn.Conv2d(8, 2, 1)
    head.bn = nn.BatchNorm2d(8)
    net.decode_head = head
    if frozen_stem:
        for p in bb.downsample_layers[0].parameters():
            p.requires_grad_(False)
    return net


def vit(name='BEiT', layers=3, mask_token=False):
    net = cls('EncoderDecoder')()
    bb = cls(name)()
    bb.cls_token = nn.Parameter(torch.zeros(1, 1, 8))
    if mask_token:
        bb.mask_token = nn.Parameter(torch.zeros(1, 1, 8))
    bb.pos_embed = nn.Parameter(torch.zeros(1, 5, 8))
    pe = cls('PatchEmbed')()
    pe.projection = nn.Conv2d(3, 8, 4, 4)
    bb.patch_embed = pe
    bb.layers = nn.ModuleList()
    for _ in range(layers):
        blk = cls('TransformerBlock')()
        blk.ln1 = nn.LayerNorm(8)
        blk.attn = nn.Linear(8, 24)
        blk.ln2 = nn.LayerNorm(8)
        blk.ffn = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 8))
        bb.layers.append(blk)
    bb.ln1 = nn.LayerNorm(8)
    net.backbone = bb
    head = cls('DecodeHead')()
    head.conv_seg = nn.Conv2d(8, 2, 1)
    net.decode_head = head
    return net


def gen_optim_constructor(mmseg_wheel):
    oc('all-mults-with-custom-keys-nested', base_net(), ow(OPT_SGD, {
        'bias_lr_mult': 2.0, 'bias_decay_mult': 0.5, 'norm_decay_mult': 0.1, 'flat_decay_mult': 0.7,
        'custom_keys': {'backbone.fc': {'lr_mult': 0.1, 'decay_mult': 0.0}, 'neck.1': {'decay_mult': 2.0}, 'head.cls.bias': {'lr_mult': 5.0}}}))
    oc('norm-bias-gets-bias-decay-mult', base_net(), ow(OPT_SGD, {'bias_decay_mult': 0.0, 'bias_lr_mult': 3.0}))
    oc('flat-decay-only', base_net(), ow(OPT_ADAMW, {'flat_decay_mult': 0.0}))
    oc('dwconv-and-norm-order', base_net(), ow(OPT_SGD, {'dwconv_decay_mult': 0.5, 'norm_decay_mult': 0.0, 'bias_decay_mult': 2.0}))
    oc('odd-modules-all-mults', odd_net(), ow(OPT_SGD, {'bias_lr_mult': 2.0, 'bias_decay_mult': 0.3, 'norm_decay_mult': 0.0, 'dwconv_decay_mult': 0.1, 'flat_decay_mult': 0.5}))
    oc('odd-modules-dwconv-only', odd_net(), ow(OPT_ADAMW, {'dwconv_decay_mult': 0.0}))
    oc('odd-modules-no-paramwise', odd_net(), ow({'type': 'Adam', 'lr': 0.002}))
    oc('custom-keys-root-param-dot', base_net(), ow(OPT_SGD, {'custom_keys': {'.temperature': {'lr_mult': 0.0, 'decay_mult': 0.0}, 'embed': {'lr_mult': 0.5}}}))
    oc('custom-keys-explicit-lr-and-wd', base_net(), ow(OPT_SGD, {'custom_keys': {'head': {'lr': 0.5, 'weight_decay': 0.2, 'lr_mult': 3.0}, 'neck': {'momentum': 0.0, 'dampening': 0.1}}}))
    oc('custom-keys-without-weight-decay', base_net(), ow({'type': 'SGD', 'lr': 0.1}, {'custom_keys': {'backbone': {'lr_mult': 0.1}}, 'bias_lr_mult': 2.0}))
    oc('custom-keys-beat-bias-and-norm', base_net(), ow(OPT_SGD, {'bias_lr_mult': 2.0, 'norm_decay_mult': 0.0, 'custom_keys': {'bn1': {}, 'bias': {'lr_mult': 0.5}}}))
    oc('custom-keys-empty-key-matches-all', base_net(), ow(OPT_SGD, {'custom_keys': {'': {'lr_mult': 0.2}, 'head': {'lr_mult': 4.0}}}))
    oc('frozen-with-paramwise-skipped', frozen_net(), ow(OPT_SGD, {'bias_decay_mult': 0.0}))
    oc('frozen-empty-paramwise', frozen_net(), ow(OPT_SGD, {}))
    oc('shared-bypass-with-custom-keys', shared_net(), ow(OPT_SGD, {'bypass_duplicate': True, 'custom_keys': {'aux': {'lr_mult': 0.1}, 'tail': {'decay_mult': 0.0}}}))
    oc('shared-no-paramwise-sgd', shared_net(), ow(OPT_SGD))
    oc('nesterov-sgd-groups', base_net(), ow({'type': 'SGD', 'lr': 0.05, 'momentum': 0.9, 'nesterov': True, 'weight_decay': 1e-4}, {'norm_decay_mult': 0.0}))
    oc('adam-amsgrad-groups', base_net(), ow({'type': 'Adam', 'lr': 0.001, 'weight_decay': 0.01, 'amsgrad': True, 'eps': 1e-6}, {'bias_decay_mult': 0.0}))
    oc('rmsprop-groups', base_net(), ow({'type': 'RMSprop', 'lr': 0.01, 'alpha': 0.9, 'momentum': 0.5, 'weight_decay': 1e-4}, {'custom_keys': {'head': {'lr_mult': 2.0}}}))
    oc('adagrad-default', base_net(), ow({'type': 'Adagrad', 'lr': 0.01}))
    oc('adamax-nadam-radam', base_net(), ow({'type': 'NAdam', 'lr': 0.002, 'weight_decay': 0.01}, {'flat_decay_mult': 0.0}))
    oc('radam-decoupled', base_net(), ow({'type': 'RAdam', 'lr': 0.001, 'weight_decay': 0.01, 'decoupled_weight_decay': True}, {'bias_lr_mult': 0.5}))
    oc('adamax-groups', base_net(), ow({'type': 'Adamax', 'lr': 0.002, 'weight_decay': 0.0}, {'norm_decay_mult': 0.0}))
    oc('adadelta-default', base_net(), ow({'type': 'Adadelta', 'lr': 1.0}))
    oc('asgd-and-rprop', base_net(), ow({'type': 'Rprop', 'lr': 0.01, 'etas': [0.4, 1.3]}, {'custom_keys': {'neck': {'lr_mult': 0.1}}}))
    oc('asgd-groups', base_net(), ow({'type': 'ASGD', 'lr': 0.01, 'weight_decay': 1e-4}, {'bias_decay_mult': 0.0}))
    oc('wrapper-options-and-explicit-constructor', base_net(), ow(OPT_SGD, {'bias_lr_mult': 2.0}, accumulative_counts=4, clip_grad={'max_norm': 1.0}, constructor='DefaultOptimWrapperConstructor'))
    oc('sgd-default-lr-no-paramwise', base_net(), ow({'type': 'SGD', 'momentum': 0.9}))
    oc('custom-keys-cross-dot-substring', base_net(), ow(OPT_SGD, {'custom_keys': {'fc.b': {'lr_mult': 0.1}, 'e.em': {'decay_mult': 0.5}, 'n.1.w': {'lr_mult': 3.0}}}))
    oc('grouped-conv-not-depthwise-out', odd_conv_net(), ow(OPT_SGD, {'dwconv_decay_mult': 0.0, 'bias_lr_mult': 2.0}))
    oc('err-bias-lr-mult-without-lr', base_net(), ow({'type': 'SGD', 'momentum': 0.9}, {'bias_lr_mult': 2.0}), error=True)
    oc('err-custom-keys-not-dict', base_net(), ow(OPT_SGD, {'custom_keys': [['head', {'lr_mult': 0.1}]]}), error='If specified, custom_keys must be a dict')
    oc('err-norm-decay-without-wd', base_net(), ow({'type': 'SGD', 'lr': 0.01}, {'norm_decay_mult': 0.0}), error='base_wd should not be None')
    oc('err-unknown-optimizer', base_net(), ow({'type': 'NoSuchOptimizer', 'lr': 0.01}), error=True)
    oc('err-negative-lr', base_net(), ow({'type': 'SGD', 'lr': -0.1}), error='Invalid learning rate')
    oc('err-nesterov-without-momentum', base_net(), ow({'type': 'SGD', 'lr': 0.1, 'nesterov': True}), error='Nesterov momentum requires a momentum and zero dampening')
    oc('err-paramwise-not-dict', base_net(), ow(OPT_SGD, [1, 2]), error='paramwise_cfg should be None or a dict')

    load_mmseg(mmseg_wheel)
    LRD = 'LearningRateDecayOptimizerConstructor'
    oc('mmseg-convnext-layer-wise-deep-stage', convnext(depths=(1, 1, 7, 1)), ow(OPT_ADAMW, {'decay_rate': 0.8, 'decay_type': 'layer_wise', 'num_layers': 6}, constructor=LRD), mmseg=True)
    oc('mmseg-convnext-stage-wise-sgd', convnext(depths=(1, 2, 2, 1)), ow(OPT_SGD, {'decay_rate': 0.7, 'decay_type': 'stage_wise', 'num_layers': 6}, constructor=LRD), mmseg=True)
    oc('mmseg-convnext-default-decay-type', convnext(name='ConvNeXtV2', frozen_stem=True), ow(OPT_ADAMW, {'decay_rate': 0.9, 'num_layers': 6}, constructor=LRD), mmseg=True)
    oc('mmseg-convnext-vit-decay-type', convnext(), ow(OPT_ADAMW, {'decay_rate': 0.9, 'decay_type': 'layer_wise_vit', 'num_layers': 6}, constructor=LRD), mmseg=True)
    oc('mmseg-beit-mask-token', vit('BEiT', 4, mask_token=True), ow(OPT_ADAMW, {'decay_rate': 0.9, 'decay_type': 'layer_wise', 'num_layers': 4}, constructor=LRD), mmseg=True)
    oc('mmseg-mae-adapter-name', vit('MAEAdapter', 2), ow(OPT_ADAMW, {'decay_rate': 0.75, 'decay_type': 'layer_wise_vit', 'num_layers': 2, 'custom_keys': {'decode_head': {'lr_mult': 10.0}}}, constructor=LRD), mmseg=True)
    oc('mmseg-no-paramwise-single-group', vit('BEiT', 2), ow(OPT_ADAMW, constructor=LRD), mmseg=True)
    oc('mmseg-legacy-layer-decay-sgd', vit('BEiT', 2), ow(OPT_SGD, {'layer_decay_rate': 0.5, 'num_layers': 2}, constructor='LayerDecayOptimizerConstructor'), mmseg=True)
    oc('err-mmseg-stage-wise-vit', vit('BEiT', 2), ow(OPT_ADAMW, {'decay_rate': 0.9, 'decay_type': 'stage_wise', 'num_layers': 2}, constructor=LRD), error=True, mmseg=True)
    oc('err-mmseg-unknown-decay-type', convnext(), ow(OPT_ADAMW, {'decay_rate': 0.9, 'decay_type': 'block_wise', 'num_layers': 6}, constructor=LRD), error="'layer_id'", mmseg=True)
    oc('err-mmseg-no-backbone', base_net(), ow(OPT_ADAMW, {'decay_rate': 0.9, 'decay_type': 'layer_wise', 'num_layers': 2}, constructor=LRD), error=True, mmseg=True)
    oc('err-mmseg-legacy-missing-rate', vit('BEiT', 2), ow(OPT_ADAMW, {'num_layers': 2}, constructor='LayerDecayOptimizerConstructor'), error='layer_decay_rate', mmseg=True)


# ------------------------------------------------------------------------------------ hook_order

HOOK_SOURCE = (f'mmengine.runner.Runner(...)._hooks after __init__ (register_default_hooks then register_custom_hooks); '
               f'stages from Hook.get_triggered_stages ({VERSIONS})')
MMSEG_DEFAULTS = {
    'timer': {'type': 'IterTimerHook'},
    'logger': {'type': 'LoggerHook', 'interval': 50, 'log_metric_by_epoch': False},
    'param_scheduler': {'type': 'ParamSchedulerHook'},
    'checkpoint': {'type': 'CheckpointHook', 'by_epoch': False, 'interval': 16000},
    'sampler_seed': {'type': 'DistSamplerSeedHook'},
}
TRAIN_CFG = {'by_epoch': False, 'max_iters': 4}


class _ToyModel(BaseModel):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.linear(inputs)


class _ToyDataset(torch.utils.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return torch.zeros(2)


def hook_run(default_hooks, custom_hooks, index):
    work = tempfile.mkdtemp(prefix='hook-case-')
    try:
        runner = Runner(
            model=_ToyModel(), work_dir=work, experiment_name=f'hook_case_{index}',
            train_dataloader=dict(dataset=_ToyDataset(), sampler=dict(type='DefaultSampler', shuffle=False), batch_size=1),
            train_cfg=copy.deepcopy(TRAIN_CFG), optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
            default_hooks=copy.deepcopy(default_hooks), custom_hooks=copy.deepcopy(custom_hooks))
        hooks = [{'type': type(h).__name__, 'priority': get_priority(h.priority)} for h in runner._hooks]
        stages = {s: [type(h).__name__ for h in runner._hooks if s in h.get_triggered_stages()] for s in Hook.stages}
        return {'hooks': hooks, 'stages': stages, 'hooks_info': runner.get_hooks_info()}
    finally:
        MMLogger.get_current_instance().handlers.clear()
        shutil.rmtree(work, ignore_errors=True)


def hook(name, default_hooks, custom_hooks, error=None):
    expected = reference(name, lambda: hook_run(default_hooks, custom_hooks, COUNTS.get('hook_order', 0)), error)
    write('hook_order', name, HOOK_SOURCE, {'default_hooks': default_hooks, 'custom_hooks': custom_hooks, 'train_cfg': TRAIN_CFG}, expected)


def with_defaults(**changes):
    d = copy.deepcopy(MMSEG_DEFAULTS)
    d.update(changes)
    return d


def gen_hook_order():
    names = ['HIGHEST', 'VERY_HIGH', 'HIGH', 'ABOVE_NORMAL', 'NORMAL', 'BELOW_NORMAL', 'LOW', 'VERY_LOW', 'LOWEST']
    hook('all-nine-priority-names', MMSEG_DEFAULTS, [{'type': 'EmptyCacheHook', 'priority': n} for n in reversed(names)])
    hook('lowercase-priority-names', MMSEG_DEFAULTS, [
        {'type': 'SyncBuffersHook', 'priority': 'very_high'}, {'type': 'EmptyCacheHook', 'priority': 'Below_Normal'}, {'type': 'EMAHook', 'priority': 'low'}])
    hook('boundary-int-priorities', MMSEG_DEFAULTS, [
        {'type': 'EmptyCacheHook', 'priority': 100}, {'type': 'SyncBuffersHook', 'priority': 0}, {'type': 'EMAHook', 'priority': 10}, {'type': 'EmptyCacheHook', 'priority': 90}])
    hook('new-default-keys-after-runner-keys', {
        'empty_cache': {'type': 'EmptyCacheHook', 'after_iter': True}, 'timer': {'type': 'IterTimerHook'},
        'visualization': {'type': 'NaiveVisualizationHook'}, 'checkpoint': {'type': 'CheckpointHook', 'interval': 1}}, None)
    hook('runtime-info-override-and-remove-timer', {'runtime_info': {'type': 'RuntimeInfoHook', 'priority': 'LOWEST'}, 'timer': None, 'logger': {'type': 'LoggerHook', 'priority': 'HIGHEST'}}, [])
    hook('all-defaults-removed', {k: None for k in ['runtime_info', 'timer', 'sampler_seed', 'logger', 'param_scheduler', 'checkpoint']}, [{'type': 'EMAHook'}])
    hook('default-key-other-hook-type', with_defaults(timer={'type': 'EmptyCacheHook', 'before_epoch': True}, sampler_seed={'type': 'SyncBuffersHook'}), None)
    hook('custom-duplicates-and-defaults-again', MMSEG_DEFAULTS, [
        {'type': 'ParamSchedulerHook'}, {'type': 'CheckpointHook', 'interval': 2, 'priority': 'VERY_HIGH'}, {'type': 'IterTimerHook', 'priority': 'NORMAL'},
        {'type': 'DistSamplerSeedHook', 'priority': 50}, {'type': 'LoggerHook', 'priority': 'LOW'}])
    hook('ema-options', MMSEG_DEFAULTS, [{'type': 'EMAHook', 'ema_type': 'MomentumAnnealingEMA', 'momentum': 0.0001, 'gamma': 100, 'begin_iter': 2, 'strict_load': False}])
    hook('naive-visualization-custom', MMSEG_DEFAULTS, [{'type': 'NaiveVisualizationHook', 'interval': 2, 'priority': 'LOW'}, {'type': 'SyncBuffersHook', 'priority': 'LOW'}])
    hook('epoch-style-defaults', {'logger': {'type': 'LoggerHook', 'interval': 10, 'ignore_last': False}, 'checkpoint': {'type': 'CheckpointHook', 'interval': 1, 'max_keep_ckpts': 3, 'save_best': 'auto'}}, [{'type': 'EmptyCacheHook', 'after_epoch': True, 'priority': 'VERY_LOW'}])
    hook('checkpoint-and-logger-options', with_defaults(
        checkpoint={'type': 'CheckpointHook', 'interval': 2000, 'by_epoch': False, 'max_keep_ckpts': 2, 'save_best': 'mIoU', 'rule': 'greater', 'save_last': True, 'save_optimizer': True, 'save_param_scheduler': True, 'filename_tmpl': 'it_{}.pth', 'save_begin': 0},
        logger={'type': 'LoggerHook', 'interval': 10, 'ignore_last': True, 'log_metric_by_epoch': False, 'interval_exp_name': 1000}), [])
    hook('err-negative-priority', MMSEG_DEFAULTS, [{'type': 'SyncBuffersHook', 'priority': -1}], error='priority must be between 0 and 100')
    # (45.0 would read as the int 45 in JSON: a fractional float is what a JSON reader can tell apart)
    hook('err-float-priority', MMSEG_DEFAULTS, [{'type': 'SyncBuffersHook', 'priority': 45.5}], error='priority must be an integer or Priority enum value')
    hook('err-default-priority-name', with_defaults(timer={'type': 'IterTimerHook', 'priority': 'MEDIUM'}), None, error='MEDIUM')
    hook('err-default-hook-without-type', with_defaults(logger={'interval': 10}), None, error='must contain the key "type"')
    hook('err-unknown-default-hook', with_defaults(visualization={'type': 'SegVisualizationHookX'}), None, error='SegVisualizationHookX')
    hook('err-unexpected-hook-argument', MMSEG_DEFAULTS, [{'type': 'EmptyCacheHook', 'before_iter': True}], error="unexpected keyword argument 'before_iter'")


# ---------------------------------------------------------------------------------------- config


def config_run(files, entry, cfg_options):
    root = tempfile.mkdtemp(prefix='cfg-case-')
    try:
        for rel, text in files.items():
            p = os.path.join(root, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, 'w') as f:
                f.write(text)
        cfg = Config.fromfile(os.path.join(root, entry))
        if cfg_options is not None:
            cfg.merge_from_dict(copy.deepcopy(cfg_options))
        return {'cfg': cfg.to_dict()}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def config(name, files, entry, cfg_options=None, error=None):
    source = 'mmengine.config.Config.fromfile(root/entry)' + (' + cfg.merge_from_dict(cfg_options)' if cfg_options is not None else '')
    source += f'; cfg.to_dict() ({VERSIONS})'
    expected = reference(name, lambda: config_run(files, entry, cfg_options), error)
    inp = {'files': files, 'entry': entry}
    if cfg_options is not None:
        inp['cfg_options'] = cfg_options
    text = json.dumps(jsonable(expected))
    assert os.path.sep + 'tmp' not in text and 'cfg-case-' not in text, f'{name}: a temporary path leaked into expected'
    write('config', name, source, inp, expected)


def data_files(entry):
    """The entry of ../shared/mmengine-config-data and every file it references, by path under that root."""
    todo, seen = [entry], {}
    while todo:
        rel = todo.pop()
        if rel in seen:
            continue
        with open(os.path.join(DATA_ROOT, rel)) as f:
            seen[rel] = f.read()
        for ref in re.findall(r"""['"]([^'"\s]+\.(?:py|json|ya?ml))['"]""", seen[rel]):
            dep = os.path.normpath(os.path.join(os.path.dirname(rel), ref))
            if os.path.isfile(os.path.join(DATA_ROOT, dep)):
                todo.append(dep)
    return dict(sorted(seen.items()))


def gen_config():
    config('options-none-true-false', {'a.py': "model = dict(pretrained='x.pth', frozen=False, act=dict(type='ReLU', inplace=True))\n"}, 'a.py',
           {'model.pretrained': None, 'model.frozen': True, 'model.act.inplace': False})
    config('options-new-nested-keys', {'a.py': 'x = 1\n'}, 'a.py', {'train_cfg.val_interval': 500, 'env_cfg.dist_cfg.backend': 'gloo'})
    config('options-nested-list-in-list', {'a.py': "data = dict(pipeline=[dict(type='A', transforms=[dict(type='B', scale=(1, 2)), dict(type='C')])])\n"}, 'a.py',
           {'data.pipeline.0.transforms.1.p': 0.5, 'data.pipeline.0.transforms.0.scale': [[3, 4], [5, 6]]})
    config('err-options-scalar-list-index', {'a.py': 'mean = [123.675, 116.28, 103.53]\n'}, 'a.py', {'mean.1': 0.0}, error=True)
    config('options-replace-dict-with-scalar', {'a.py': "optim = dict(type='SGD', lr=0.1)\n"}, 'a.py', {'optim': 'none', 'lr_list': [0.1, 0.01]})
    config('options-string-quoting', {'a.py': "name = 'a'\n"}, 'a.py', {'name': "it's \"quoted\"", 'path': 'a/b c/d.py'})
    config('options-delete-in-list-item', {'a.py': "pipeline = [dict(type='Resize', scale=(512, 512), keep_ratio=True)]\n"}, 'a.py',
           {'pipeline.0': {'_delete_': True, 'type': 'Pad', 'size': 32}})
    config('err-options-dict-over-scalar', {'a.py': 'lr = 0.1\n'}, 'a.py', {'lr.base': 0.2}, error='cannot inherit from base')
    config('err-options-index-into-dict-list', {'a.py': 'x = [1]\n'}, 'a.py', {'x.a': 1}, error=True)
    config('base-list-in-relative-dirs', {
        'configs/_base_/models/net.py': "model = dict(type='Net', depth=50, norm_cfg=dict(type='BN'))\n",
        'configs/_base_/schedules/s.py': "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01))\nmax_iters = 100\n",
        'configs/_base_/runtime.py': "default_scope = 'mmseg'\nlog_level = 'INFO'\n",
        'configs/net/exp_a.py': "_base_ = ['../_base_/models/net.py', '../_base_/schedules/s.py', '../_base_/runtime.py']\nmodel = dict(depth=101, norm_cfg=dict(type='SyncBN', requires_grad=True))\noptim_wrapper = dict(optimizer=dict(lr=0.02))\n",
    }, 'configs/net/exp_a.py')
    config('base-var-in-child-expressions', {
        'base.py': "crop_size = (512, 512)\nnum_classes = 150\nlr = 0.01\n",
        'child.py': "_base_ = './base.py'\nmodel = dict(num_classes={{_base_.num_classes}}, crop={{_base_.crop_size}})\nlr2 = _base_.lr * 2\nsize = _base_.crop_size[0] // 2\n",
    }, 'child.py')
    config('base-var-dict-copy-modified', {
        'base.py': "norm_cfg = dict(type='BN', requires_grad=True)\nmodel = dict(norm=norm_cfg)\n",
        'child.py': "_base_ = 'base.py'\nnorm_cfg = dict(type='GN', num_groups=32)\nmodel = dict(norm=norm_cfg, head=dict(norm=_base_.norm_cfg))\n",
    }, 'child.py')
    config('delete-in-nested-list-child', {
        'base.py': "model = dict(backbone=dict(type='ResNet', depth=50, style='pytorch'), neck=dict(type='FPN', in_channels=[256, 512]))\n",
        'child.py': "_base_ = ['./base.py']\nmodel = dict(backbone=dict(_delete_=True, type='Swin', embed_dims=96), neck=dict(in_channels=[96, 192]))\n",
    }, 'child.py')
    config('child-list-of-dicts-replaces', {
        'base.py': "train_pipeline = [dict(type='Load'), dict(type='Flip', prob=0.5)]\n",
        'child.py': "_base_ = './base.py'\ntrain_pipeline = [dict(type='Load'), dict(type='Crop', size=(2, 2))]\ntrain_dataloader = dict(dataset=dict(pipeline=train_pipeline))\n",
    }, 'child.py')
    config('python-syntax-mix', {'a.py': (
        "base_lr = 0.01\nn = 4\nlrs = [base_lr * (0.1 ** i) for i in range(3)]\n"
        "names = {k: v for k, v in zip(['a', 'b'], (1, 2))}\n"
        "prefix = 'work_dirs/' + 'exp' + str(n)\ntag = f'{prefix}_{base_lr:.0e}'\nratio = n / 3\nfloor = n // 3\n"
        "flag = True if n > 3 else False\nscale = tuple(x * 2 for x in (256, 512))\n"
        "msg = '%s-%d' % ('it', n)\nfmt = '{}x{}'.format(*scale)\nnested = dict(a=[1, (2, 3)], b=None, c=-1.5e-3)\n")}, 'a.py')
    config('predefined-vars-in-base', {
        'cfgs/_base_/b.py': "base_name = '{{ fileBasename }}'\nbase_stem = '{{fileBasenameNoExtension}}'\n",
        'cfgs/run.v2.py': "_base_ = './_base_/b.py'\nname = '{{ fileBasenameNoExtension }}'\next = '{{ fileExtname }}'\n",
    }, 'cfgs/run.v2.py')
    config('json-base-from-py', {
        'base.json': '{"model": {"type": "Net", "depth": 18, "widths": [1, 2]}, "seed": 1}\n',
        'child.py': "_base_ = './base.json'\nmodel = dict(depth=34)\n"}, 'child.py')
    config('yaml-entry-with-py-base', {
        'base.py': "model = dict(type='Net', depth=18)\nlr = 0.1\n",
        'child.yaml': "_base_: ./base.py\nmodel:\n  depth: 50\n  extra: [1, 2]\nflag: true\n"}, 'child.yaml', {'model.type': 'Net2'})
    config('base-index-and-method-access', {'b.py': "lst = [1, 2, 3]\nmodel = dict(type='M', depth=2)\n", 'a.py': "_base_ = 'b.py'\nsecond = _base_.lst[1]\nn = len(_base_.lst)\ntype_name = _base_.model['type'].lower()\nmodel = dict(depth=_base_.model.depth + 1)\n"}, 'a.py')
    config('delete-false-merges', {'b.py': "m = dict(a=1, b=2)\n", 'a.py': "_base_ = './b.py'\nm = dict(_delete_=False, c=3)\n"}, 'a.py')
    config('loop-variable-kept', {'a.py': "layers = []\nfor i in range(3):\n    layers.append(dict(idx=i))\nif len(layers) > 2:\n    mode = 'deep'\nelse:\n    mode = 'shallow'\nsquare = lambda v: v * v\narea = square(4)\n"}, 'a.py')
    config('empty-file-and-base', {'b.py': '', 'a.py': "_base_ = ['./b.py']\n"}, 'a.py', {'seed': 0})
    config('err-base-key-in-options-delete', {'a.py': "_base_ = './b.py'\n", 'b.py': "x = dict(a=1)\n"}, 'a.py', {'x.a.b': 1}, error='cannot inherit from base')
    config('err-brace-reference-missing-key', {'b.py': "x = dict(a=1)\n", 'a.py': "_base_ = './b.py'\ny = {{_base_.x.b}}\n"}, 'a.py', error=True)
    config('err-base-not-string-or-list', {'a.py': "_base_ = 3\n"}, 'a.py', error=True)
    for name, entry in [
            ('data-merge-multiple-bases', 'tests/data/config/py_config/test_merge_from_multiple_bases.py'),
            ('data-base-variables-nested', 'tests/data/config/py_config/test_base_variables_nested.py'),
            ('data-pre-substitute-base-vars', 'tests/data/config/py_config/test_pre_substitute_base_vars.py'),
            ('data-merge-delete', 'tests/data/config/py_config/test_merge_delete.py'),
            ('data-merge-recursive-bases', 'tests/data/config/py_config/test_merge_recursive_bases.py'),
            ('data-merge-intermediate-variable', 'tests/data/config/py_config/test_merge_intermediate_variable_child.py'),
            ('data-py-modify-key', 'tests/data/config/py_config/test_py_modify_key.py'),
            ('data-json-base', 'tests/data/config/json_config/test_base.json'),
            ('data-yaml-base', 'tests/data/config/yaml_config/test_base.yaml'),
            ('data-json-base-variables-nested', 'tests/data/config/json_config/test_base_variables_nested.json'),
    ]:
        config(name, data_files(entry), entry)
    config('data-merge-from-dict-options', data_files('tests/data/config/py_config/test_merge_from_dict.py'),
           'tests/data/config/py_config/test_merge_from_dict.py', {'item.0.a': 1, 'item.1.b': 1, 'item.1.d': [1, 2]})
    for name, entry, err in [
            ('err-data-merge-from-multiple', 'tests/data/config/py_config/test_merge_from_multiple_error.py', 'Duplicate key is not allowed among bases'),
            ('err-data-merge-from-base', 'tests/data/config/py_config/test_merge_from_base_error.py', 'cannot inherit from base'),
            ('err-data-reserved-key-yaml', 'tests/data/config/yaml_config/test_reserved_key.yaml', 'filename is reserved for config file'),
    ]:
        config(name, data_files(entry), entry, error=err)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--mmseg-wheel', required=True, help='mmsegmentation-1.2.2-py3-none-any.whl (pip download mmsegmentation==1.2.2 --no-deps)')
    ap.add_argument('--kinds', default='scheduler,optim_constructor,hook_order,config')
    args = ap.parse_args()
    kinds = args.kinds.split(',')
    for kind in kinds:
        shutil.rmtree(os.path.join(OUT, kind), ignore_errors=True)
    if 'scheduler' in kinds:
        gen_scheduler()
    if 'optim_constructor' in kinds:
        gen_optim_constructor(args.mmseg_wheel)
    if 'hook_order' in kinds:
        gen_hook_order()
    if 'config' in kinds:
        gen_config()
    print(', '.join(f'{k}: {n}' for k, n in COUNTS.items()), f'(total {sum(COUNTS.values())})')


if __name__ == '__main__':
    main()
