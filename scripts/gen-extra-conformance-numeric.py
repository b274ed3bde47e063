"""Generates extra conformance cases for the numeric kinds (optimizer, clip_grad, grad_scaler, ema,
optim_wrapper) by running the reference code itself; no expected value is typed by hand.

The cases follow ../shared/conformance/FORMAT.md exactly as the official cases do (same `kind`,
`input` / `expected` layout, `source` wording and `tolerance`); they cover options and situations
the official cases leave out (maximize, weight decay and eps variants of every torch optimizer, null
gradients at various steps, 0-dim parameters, more norm orders and error_if_nonfinite, other scaler
settings and optimizers, momentum >= 0.5 for the EMA lerp, other accumulation / clipping combos).

Reproduce (outside the repo, e.g. a venv under /tmp):

    python -m venv /tmp/mm-venv && /tmp/mm-venv/bin/pip install torch==2.15.0 mmengine==0.10.7
    /tmp/mm-venv/bin/python scripts/gen-extra-conformance-numeric.py

Writes test/fixtures/conformance-extra/<kind>/<name>.json for the five kinds above (each of those
folders is emptied first; other kinds' folders are left alone). Inputs come from a generator seeded
by the case name, so the files are reproducible.
"""
import copy
import json
import math
import os
import shutil
import zlib

import mmengine
import torch
import torch.nn as nn
from mmengine.logging import MessageHub
from mmengine.model import ExponentialMovingAverage, MomentumAnnealingEMA, StochasticWeightAverage
from mmengine.optim import build_optim_wrapper

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, 'test', 'fixtures', 'conformance-extra')
KINDS = ['optimizer', 'clip_grad', 'grad_scaler', 'ema', 'optim_wrapper']
VERSIONS = f'torch {torch.__version__}, mmengine {mmengine.__version__}'

torch.set_default_dtype(torch.float32)


# ---------------------------------------------------------------------------------------------
# JSON encoding (FORMAT.md): float32 tensors written exactly, widened to float64; non-finite
# floats as "inf" / "-inf" / "nan"; 0-dim state tensors as plain numbers.

def enc(x):
    if isinstance(x, float):
        if math.isnan(x):
            return 'nan'
        if math.isinf(x):
            return 'inf' if x > 0 else '-inf'
    return x


def tensor_json(t):
    t = t.detach().cpu()
    out = {'shape': list(t.shape), 'data': [enc(v) for v in t.reshape(-1).tolist()]}
    if t.dtype == torch.int64:
        out['dtype'] = 'int64'
    elif t.dtype != torch.float32:
        raise ValueError(f'unexpected dtype {t.dtype}')
    return out


def from_json(j):
    dec = {'inf': math.inf, '-inf': -math.inf, 'nan': math.nan}
    data = [dec[v] if isinstance(v, str) else v for v in j['data']]
    dtype = torch.int64 if j.get('dtype') == 'int64' else torch.float32
    return torch.tensor(data, dtype=dtype).reshape(j['shape'])


def state_value(v):
    if isinstance(v, torch.Tensor):
        return enc(v.item()) if v.dim() == 0 else tensor_json(v)
    return enc(float(v)) if isinstance(v, (int, float)) and not isinstance(v, bool) else v


def rng(name):
    g = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    return g


def randn(g, shape, scale=1.0):
    return torch.randn(shape, generator=g) * scale


CASES = []


def emit(kind, name, source, inp, expected, tolerance):
    case = {'kind': kind, 'name': name, 'source': source, 'input': inp, 'expected': expected}
    if tolerance is not None:
        case['tolerance'] = tolerance
    CASES.append(case)


def error_expected(e):
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return {'error': msg, 'error_type': type(e).__name__}


# ---------------------------------------------------------------------------------------------
# optimizer: torch.optim.<type>.step() over fresh tensors, CPU float32 single-tensor path.

OPT_TOL = {'rtol': 1e-05, 'atol': 1e-06}
TUPLE_KEYS = ('betas', 'etas', 'step_sizes')


def torch_optimizer(cfg, params):
    kwargs = {k: (tuple(v) if k in TUPLE_KEYS else v) for k, v in cfg.items() if k != 'type'}
    return getattr(torch.optim, cfg['type'])(params, **kwargs)


def optimizer_case(name, cfg, shapes, steps, nulls=(), grad_scale=0.5, grad_edits=None):
    """`nulls`: (step, param) pairs whose gradient is None; `grad_edits`: {(step, param, flat): value}."""
    g = rng(name)
    init = [randn(g, s) for s in shapes]
    grads = []
    for k in range(steps):
        row = []
        for i, s in enumerate(shapes):
            gr = randn(g, s, grad_scale)
            for (ks, ip, flat), v in (grad_edits or {}).items():
                if ks == k and ip == i:
                    gr.view(-1)[flat] = v
            row.append(None if (k, i) in nulls else gr)
        grads.append(row)
    params = [nn.Parameter(t.clone()) for t in init]
    inp = {'optimizer': cfg, 'params': [tensor_json(t) for t in init],
           'grads': [[None if gr is None else tensor_json(gr) for gr in row] for row in grads]}
    source = f'torch.optim.{cfg["type"]}.step() ({VERSIONS}), float32 CPU, single-tensor path'
    try:
        opt = torch_optimizer(cfg, params)
    except Exception as e:  # an error case: what the reference raised
        emit('optimizer', name, source, inp, error_expected(e), None)
        return
    history = []
    for row in grads:
        for p, gr in zip(params, row):
            p.grad = None if gr is None else gr.clone()
        opt.step()
        history.append([tensor_json(p) for p in params])
    state = {}
    for i, p in enumerate(params):
        st = opt.state.get(p, {})
        state[str(i)] = {k: state_value(v) for k, v in st.items()}
    emit('optimizer', name, source, inp, {'params': history, 'state': state}, OPT_TOL)


def optimizer_cases():
    S2 = [[3], [2, 3]]
    S3 = [[4], [2, 2], [3]]
    # SGD
    optimizer_case('sgd-nesterov-maximize-wd', {'type': 'SGD', 'lr': 0.05, 'momentum': 0.9, 'dampening': 0, 'nesterov': True, 'weight_decay': 0.01, 'maximize': True}, S2, 4)
    optimizer_case('sgd-wd-maximize-no-momentum', {'type': 'SGD', 'lr': 0.1, 'weight_decay': 0.05, 'maximize': True}, S2, 3)
    optimizer_case('sgd-flags-foreach-false', {'type': 'SGD', 'lr': 0.05, 'momentum': 0.9, 'weight_decay': 0.0001, 'foreach': False, 'differentiable': False, 'fused': None}, S2, 3)
    optimizer_case('sgd-momentum-null-first-step', {'type': 'SGD', 'lr': 0.1, 'momentum': 0.9, 'dampening': 0.5}, S3, 4, nulls={(0, 1), (1, 1), (2, 0)})
    optimizer_case('sgd-nesterov-null-never', {'type': 'SGD', 'lr': 0.02, 'momentum': 0.5, 'nesterov': True}, S3, 3, nulls={(0, 2), (1, 2), (2, 2)})
    optimizer_case('sgd-scalar-param', {'type': 'SGD', 'lr': 0.1, 'momentum': 0.8, 'weight_decay': 0.01}, [[], [3]], 3)
    # Adam / AdamW
    optimizer_case('adam-maximize-amsgrad-wd', {'type': 'Adam', 'lr': 0.01, 'weight_decay': 0.02, 'amsgrad': True, 'maximize': True}, S2, 4)
    optimizer_case('adam-eps-betas', {'type': 'Adam', 'lr': 0.05, 'betas': [0.5, 0.9], 'eps': 0.001}, S2, 4, grad_scale=0.01)
    optimizer_case('adam-decoupled-wd', {'type': 'Adam', 'lr': 0.01, 'weight_decay': 0.1, 'decoupled_weight_decay': True}, S2, 3)
    optimizer_case('adam-null-grads-amsgrad', {'type': 'Adam', 'lr': 0.01, 'amsgrad': True}, S3, 4, nulls={(0, 0), (2, 0), (1, 2), (3, 1)})
    optimizer_case('adam-scalar-param', {'type': 'Adam', 'lr': 0.01, 'weight_decay': 0.01}, [[], [2, 2]], 3)
    optimizer_case('adam-grad-inf', {'type': 'Adam', 'lr': 0.01}, S2, 3, grad_edits={(1, 0, 1): math.inf})
    optimizer_case('adamw-maximize', {'type': 'AdamW', 'lr': 0.01, 'weight_decay': 0.05, 'maximize': True}, S2, 4)
    optimizer_case('adamw-amsgrad-maximize-betas', {'type': 'AdamW', 'lr': 0.003, 'betas': [0.8, 0.95], 'eps': 1e-06, 'weight_decay': 0.1, 'amsgrad': True, 'maximize': True}, S3, 4)
    optimizer_case('adamw-flags-wd0', {'type': 'AdamW', 'lr': 0.002, 'weight_decay': 0.0, 'foreach': False, 'capturable': False, 'differentiable': False, 'fused': None}, S2, 3)
    optimizer_case('adamw-defaults', {'type': 'AdamW'}, S2, 3)
    # Adamax
    optimizer_case('adamax-wd-maximize', {'type': 'Adamax', 'lr': 0.01, 'weight_decay': 0.05, 'maximize': True}, S2, 4)
    optimizer_case('adamax-eps-betas-null', {'type': 'Adamax', 'lr': 0.02, 'betas': [0.7, 0.9], 'eps': 0.01}, S3, 4, nulls={(0, 1), (2, 2)}, grad_scale=0.05)
    # NAdam
    optimizer_case('nadam-wd-coupled-maximize', {'type': 'NAdam', 'lr': 0.002, 'weight_decay': 0.05, 'maximize': True}, S2, 4)
    optimizer_case('nadam-momentum-decay-eps-null', {'type': 'NAdam', 'lr': 0.01, 'betas': [0.8, 0.99], 'eps': 0.0001, 'momentum_decay': 0.01}, S3, 4, nulls={(0, 2), (1, 0)})
    optimizer_case('nadam-decoupled-maximize', {'type': 'NAdam', 'lr': 0.003, 'weight_decay': 0.1, 'decoupled_weight_decay': True, 'maximize': True, 'foreach': False}, S2, 3)
    # RAdam: betas that make the rectification start within a few steps
    optimizer_case('radam-wd-maximize-rectified', {'type': 'RAdam', 'lr': 0.01, 'betas': [0.8, 0.9], 'weight_decay': 0.05, 'maximize': True}, S2, 5)
    optimizer_case('radam-decoupled-eps-null', {'type': 'RAdam', 'lr': 0.01, 'betas': [0.5, 0.8], 'eps': 0.001, 'weight_decay': 0.1, 'decoupled_weight_decay': True}, S3, 5, nulls={(0, 0), (3, 1)})
    # Adagrad
    optimizer_case('adagrad-wd-maximize', {'type': 'Adagrad', 'lr': 0.1, 'weight_decay': 0.1, 'maximize': True}, S2, 4)
    optimizer_case('adagrad-lr-decay-eps-init', {'type': 'Adagrad', 'lr': 0.05, 'lr_decay': 0.1, 'eps': 0.01, 'initial_accumulator_value': 0.5}, S2, 4)
    optimizer_case('adagrad-null-grads', {'type': 'Adagrad', 'lr': 0.1, 'initial_accumulator_value': 0.2}, S3, 3, nulls={(0, 0), (0, 2), (1, 2), (2, 2)})
    # RMSprop
    optimizer_case('rmsprop-momentum-not-centered-wd', {'type': 'RMSprop', 'lr': 0.01, 'momentum': 0.8, 'weight_decay': 0.01}, S2, 4)
    optimizer_case('rmsprop-centered-maximize', {'type': 'RMSprop', 'lr': 0.005, 'alpha': 0.95, 'eps': 0.0001, 'centered': True, 'maximize': True}, S2, 4)
    optimizer_case('rmsprop-momentum-maximize-null', {'type': 'RMSprop', 'lr': 0.01, 'momentum': 0.5, 'centered': True, 'maximize': True, 'weight_decay': 0.05}, S3, 4, nulls={(1, 1), (0, 2)})
    # Adadelta
    optimizer_case('adadelta-wd-maximize', {'type': 'Adadelta', 'lr': 0.5, 'rho': 0.95, 'weight_decay': 0.1, 'maximize': True}, S2, 4)
    optimizer_case('adadelta-eps-null', {'type': 'Adadelta', 'lr': 1.0, 'eps': 0.001}, S3, 4, nulls={(0, 1), (2, 0)})
    # ASGD
    optimizer_case('asgd-maximize-wd', {'type': 'ASGD', 'lr': 0.02, 'weight_decay': 0.05, 'maximize': True}, S2, 4)
    optimizer_case('asgd-t0-1-lambd', {'type': 'ASGD', 'lr': 0.1, 'lambd': 0.1, 'alpha': 0.5, 't0': 1}, S2, 5)
    optimizer_case('asgd-null-grads', {'type': 'ASGD', 'lr': 0.05, 't0': 2}, S3, 4, nulls={(0, 0), (1, 2)})
    # Rprop
    optimizer_case('rprop-maximize', {'type': 'Rprop', 'lr': 0.01, 'maximize': True}, S2, 5)
    # configurations the reference refuses
    optimizer_case('err-sgd-nesterov-without-momentum', {'type': 'SGD', 'lr': 0.1, 'nesterov': True}, S2, 2)
    optimizer_case('err-sgd-nesterov-dampening', {'type': 'SGD', 'lr': 0.1, 'momentum': 0.9, 'dampening': 0.1, 'nesterov': True}, S2, 2)
    optimizer_case('err-adam-beta1-one', {'type': 'Adam', 'lr': 0.01, 'betas': [1.0, 0.999]}, S2, 2)
    optimizer_case('err-adamw-negative-lr', {'type': 'AdamW', 'lr': -0.01}, S2, 2)
    optimizer_case('err-adamw-decoupled-kwarg', {'type': 'AdamW', 'lr': 0.01, 'decoupled_weight_decay': True}, S2, 2)
    optimizer_case('err-rmsprop-negative-momentum', {'type': 'RMSprop', 'lr': 0.01, 'momentum': -0.5}, S2, 2)
    optimizer_case('err-sgd-unknown-kwarg', {'type': 'SGD', 'lr': 0.1, 'betas': [0.9, 0.999]}, S2, 2)
    optimizer_case('rprop-null-grads-zero-grad', {'type': 'Rprop', 'lr': 0.02, 'etas': [0.4, 1.5], 'step_sizes': [0.001, 0.05]}, S3, 5, nulls={(0, 2), (2, 0)}, grad_edits={(1, 1, 0): 0.0, (2, 1, 0): 0.5})


# ---------------------------------------------------------------------------------------------
# clip_grad: torch.nn.utils.clip_grad_norm_ / clip_grad_value_ as MMEngine calls them
# (the clip_grad dict, less `type`, as keyword arguments).

CLIP_TOL = {'rtol': 1e-05, 'atol': 1e-07}


def clip_case(name, cfg, grads):
    params = []
    for gr in grads:
        if gr is None:
            params.append(nn.Parameter(torch.zeros(2)))
        else:
            p = nn.Parameter(torch.zeros_like(gr))
            p.grad = gr.clone()
            params.append(p)
    kwargs = {k: (float(v) if k == 'norm_type' and isinstance(v, str) else v) for k, v in cfg.items() if k != 'type'}
    value = cfg.get('type') == 'value'
    inp = {'grads': [None if gr is None else tensor_json(gr) for gr in grads], 'clip_grad': cfg}
    if value:
        source = f'torch.nn.utils.clip_grad_value_ ({VERSIONS}), float32 CPU'
    elif cfg.get('error_if_nonfinite'):
        source = f'torch.nn.utils.clip_grad_norm_(error_if_nonfinite=True) ({VERSIONS}), float32 CPU'
    else:
        source = f'torch.nn.utils.clip_grad_norm_(error_if_nonfinite=False) ({VERSIONS}), float32 CPU'
    try:
        if value:
            torch.nn.utils.clip_grad_value_(params, **kwargs)
            total = None
        else:
            total = enc(torch.nn.utils.clip_grad_norm_(params, **kwargs).item())
    except Exception as e:  # an error case: what the reference raised
        emit('clip_grad', name, source, inp, error_expected(e), None)
        return
    out = [None if gr is None else tensor_json(p.grad) for gr, p in zip(grads, params)]
    emit('clip_grad', name, source, inp, {'total_norm': total, 'grads': out}, CLIP_TOL)


def clip_cases():
    def grads(name, shapes, scale=1.0):
        g = rng(name)
        return [randn(g, s, scale) for s in shapes]

    for name, norm in [('norm0.5', 0.5), ('norm1.5', 1.5), ('norm4', 4), ('norm-neg-inf', '-inf'), ('norm0', 0), ('norm2-float', 2.0)]:
        clip_case(name, {'max_norm': 0.7, 'norm_type': norm}, grads(name, [[3], [2, 3], [5]]))
    gs = grads('norm-inf-many-shapes', [[], [4], [2, 3], [2, 1, 2]])
    clip_case('norm-inf-many-shapes', {'max_norm': 0.4, 'norm_type': 'inf'}, gs)
    gs = grads('norm2-large-tensor', [[1000], [17, 9]], 0.1)
    clip_case('norm2-large-tensor', {'max_norm': 1.5, 'norm_type': 2}, gs)
    gs = grads('norm1-large-tensor', [[700], [40]], 0.1)
    clip_case('norm1-large-tensor', {'max_norm': 10.0, 'norm_type': 1}, gs)
    gs = grads('norm2-null-grad', [[3], [2, 2], [4]])
    gs[1] = None
    clip_case('norm2-null-grad', {'max_norm': 0.5, 'norm_type': 2}, gs)
    clip_case('norm2-all-null', {'max_norm': 0.5, 'norm_type': 2}, [None, None])
    clip_case('norm2-no-grads', {'max_norm': 1.0}, [])
    gs = grads('norm2-error-if-nonfinite-finite', [[3], [2, 2]])
    clip_case('norm2-error-if-nonfinite-finite', {'max_norm': 0.5, 'norm_type': 2, 'error_if_nonfinite': True}, gs)
    gs = grads('err-norm2-nonfinite-inf', [[3], [2, 2]])
    gs[1][0, 1] = math.inf
    clip_case('err-norm2-nonfinite-inf', {'max_norm': 1.0, 'norm_type': 2, 'error_if_nonfinite': True}, gs)
    gs = grads('err-norm1-nonfinite-nan', [[3], [2, 2]])
    gs[0][2] = math.nan
    clip_case('err-norm1-nonfinite-nan', {'max_norm': 1.0, 'norm_type': 1, 'error_if_nonfinite': True}, gs)
    gs = grads('norm-inf-grad-inf', [[3], [2, 2]])
    gs[0][1] = -math.inf
    clip_case('norm-inf-grad-inf', {'max_norm': 1.0, 'norm_type': 'inf'}, gs)
    gs = grads('norm2-foreach-false', [[3], [2, 3]])
    clip_case('norm2-foreach-false', {'type': 'norm', 'max_norm': 1.0, 'norm_type': 2, 'foreach': False, 'error_if_nonfinite': False}, gs)
    for name, norm in [('norm-neg1', -1), ('norm-neg2', -2.0)]:
        clip_case(name, {'max_norm': 0.7, 'norm_type': norm}, grads(name, [[3], [2, 3]]))
    clip_case('norm2-negative-max-norm', {'max_norm': -1.0, 'norm_type': 2}, grads('norm2-negative-max-norm', [[3], [2, 2]]))
    clip_case('norm0.5-zero-grads', {'max_norm': 1.0, 'norm_type': 0.5}, [torch.zeros(3), torch.zeros(2, 2)])
    # float32's range: torch reduces in float32, so sums and norms beyond it are inf, below it 0.
    clip_case('norm2-overflow-in-tensor', {'max_norm': 1.0, 'norm_type': 2}, [torch.full((32,), 1e19), torch.ones(3)])
    clip_case('norm2-overflow-across-tensors', {'max_norm': 1.0, 'norm_type': 2}, [torch.full((1,), 1.5e19), torch.full((1,), 1.5e19)])
    clip_case('norm2-near-overflow', {'max_norm': 1.0, 'norm_type': 2}, [torch.full((3,), 1e19), torch.full((2,), 1e-3)])
    clip_case('norm3-overflow-per-element', {'max_norm': 1.0, 'norm_type': 3}, [torch.full((3,), 1e13)])
    clip_case('norm3-underflow-per-element', {'max_norm': 1.0, 'norm_type': 3}, [torch.full((3,), 1e-30), torch.full((2,), 1e-40)])
    clip_case('norm1-overflow', {'max_norm': 1.0, 'norm_type': 1}, [torch.full((2,), 2e38)])
    clip_case('norm2-tiny-values', {'max_norm': 1.0, 'norm_type': 2}, [torch.full((1000,), 1e-20), torch.full((2,), 1e-23)])
    gs = grads('value-nan-inf', [[4], [2, 2]])
    gs[0][1] = math.nan
    gs[1][1, 0] = -math.inf
    clip_case('value-nan-inf', {'type': 'value', 'clip_value': 0.5}, gs)
    gs = grads('value-int-null-foreach', [[3], [3], [2, 2]], 2.0)
    gs[1] = None
    clip_case('value-int-null-foreach', {'type': 'value', 'clip_value': 1, 'foreach': False}, gs)


# ---------------------------------------------------------------------------------------------
# grad_scaler: torch.amp.GradScaler("cpu", **scaler); per step scaler.step(opt), scaler.update().

SCALER_TOL = {'rtol': 1e-05, 'atol': 1e-06}


def scaler_case(name, scaler_cfg, opt_cfg, shapes, steps, bad=None, nulls=(), grad_scale=None):
    """`bad`: {step: (param, flat, value)} non-finite entries; gradients are ~scale-sized."""
    g = rng(name)
    init = [randn(g, s) for s in shapes]
    gscale = grad_scale if grad_scale is not None else float(scaler_cfg.get('init_scale', 65536.0))
    rows = []
    for k in range(steps):
        row = []
        for i, s in enumerate(shapes):
            gr = randn(g, s, gscale)
            if bad and k in bad and bad[k][0] == i:
                gr.view(-1)[bad[k][1]] = bad[k][2]
            row.append(None if (k, i) in nulls else gr)
        rows.append(row)
    params = [nn.Parameter(t.clone()) for t in init]
    opt = torch_optimizer(opt_cfg, params)
    out = {'scale': [], 'skipped': [], 'params': []}
    inp = {'scaler': scaler_cfg, 'optimizer': opt_cfg, 'params': [tensor_json(t) for t in init],
           'scaled_grads': [[None if gr is None else tensor_json(gr) for gr in row] for row in rows]}
    source = f'torch.amp.GradScaler("cpu") step()+update() ({VERSIONS}); grads unscaled in float32 by inv_scale = float32(1/float64(scale))'
    try:
        scaler = torch.amp.GradScaler('cpu', **scaler_cfg)
        for row in rows:
            for p, gr in zip(params, row):
                p.grad = None if gr is None else gr.clone()
            scaler.scale(torch.ones(()))  # as training scales its loss (this also creates the scale tensor)
            scaler.step(opt)
            found = scaler._per_optimizer_states[id(opt)]['found_inf_per_device']
            out['skipped'].append(bool(sum(v.item() for v in found.values())))
            scaler.update()
            out['scale'].append(scaler.get_scale())
            out['params'].append([tensor_json(p) for p in params])
    except Exception as e:  # an error case: what the reference raised
        emit('grad_scaler', name, source, inp, error_expected(e), None)
        return
    out['growth_tracker'] = int(scaler._get_growth_tracker())
    emit('grad_scaler', name, source, inp, out, SCALER_TOL)


def scaler_cases():
    S = [[2], [2, 2]]
    scaler_case('adam-growth3-backoff0.1-interval3', {'init_scale': 1024.0, 'growth_factor': 3.0, 'backoff_factor': 0.1, 'growth_interval': 3},
                {'type': 'Adam', 'lr': 0.01}, S, 8, bad={4: (1, 2, math.inf)})
    scaler_case('sgd-non-pow2-scale', {'init_scale': 1000.0, 'growth_factor': 1.5, 'backoff_factor': 0.3, 'growth_interval': 1},
                {'type': 'SGD', 'lr': 0.1, 'momentum': 0.9}, S, 6, bad={2: (0, 1, -math.inf)})
    scaler_case('rmsprop-nan-first-last', {'init_scale': 64.0, 'growth_factor': 2.0, 'backoff_factor': 0.5, 'growth_interval': 2},
                {'type': 'RMSprop', 'lr': 0.01, 'momentum': 0.5}, S, 6, bad={0: (1, 0, math.nan), 5: (0, 0, math.nan)})
    scaler_case('adagrad-null-grad', {'init_scale': 16.0, 'growth_factor': 2.0, 'backoff_factor': 0.5, 'growth_interval': 2},
                {'type': 'Adagrad', 'lr': 0.1}, [[3], [2], [2, 2]], 5, bad={3: (2, 1, math.inf)}, nulls={(0, 1), (1, 1), (3, 0)})
    scaler_case('err-nadam-all-null-step', {'init_scale': 8.0, 'growth_factor': 2.0, 'backoff_factor': 0.5, 'growth_interval': 1},
                {'type': 'NAdam', 'lr': 0.01, 'weight_decay': 0.01}, S, 5, nulls={(2, 0), (2, 1)})
    scaler_case('adamw-defaults-overflow-twice', {'init_scale': 65536.0, 'growth_factor': 2.0, 'backoff_factor': 0.5, 'growth_interval': 2000},
                {'type': 'AdamW', 'lr': 0.001, 'weight_decay': 0.01}, S, 5, bad={1: (0, 0, math.inf), 2: (1, 3, math.inf)})
    scaler_case('sgd-small-scale-backoff', {'init_scale': 0.25, 'growth_factor': 4.0, 'backoff_factor': 0.25, 'growth_interval': 2},
                {'type': 'SGD', 'lr': 0.5, 'weight_decay': 0.1, 'maximize': True}, S, 6, bad={1: (1, 1, math.inf), 4: (0, 1, math.inf)})
    scaler_case('adamax-growth-interval-4', {'init_scale': 32.0, 'growth_factor': 2.0, 'backoff_factor': 0.5, 'growth_interval': 4},
                {'type': 'Adamax', 'lr': 0.01}, S, 9, bad={6: (0, 1, -math.inf)})
    scaler_case('sgd-unscale-overflow-scale-below-1', {'init_scale': 0.5, 'growth_factor': 2.0, 'backoff_factor': 0.5, 'growth_interval': 1},
                {'type': 'SGD', 'lr': 0.1}, S, 3, bad={1: (1, 2, 3e38)}, grad_scale=1.0)
    scaler_case('err-growth-factor-1', {'init_scale': 16.0, 'growth_factor': 1.0, 'backoff_factor': 0.5, 'growth_interval': 2},
                {'type': 'SGD', 'lr': 0.1}, S, 2)
    scaler_case('err-backoff-factor-1', {'init_scale': 16.0, 'growth_factor': 2.0, 'backoff_factor': 1.0, 'growth_interval': 2},
                {'type': 'SGD', 'lr': 0.1}, S, 2)
    scaler_case('rprop-partial-kwargs', {'init_scale': 128.0, 'growth_interval': 1},
                {'type': 'Rprop', 'lr': 0.01}, S, 5, bad={2: (1, 0, math.inf)})


# ---------------------------------------------------------------------------------------------
# ema: MMEngine's averaged models over fc Linear(3,2) + bn BatchNorm1d(2).

EMA_TOL = {'rtol': 1e-06, 'atol': 1e-07}
EMA_CLASSES = {'ExponentialMovingAverage': ExponentialMovingAverage, 'MomentumAnnealingEMA': MomentumAnnealingEMA,
               'StochasticWeightAverage': StochasticWeightAverage}


class FcBn(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.bn = nn.BatchNorm1d(2)


def ema_case(name, cfg, steps):
    g = rng(name)
    torch.manual_seed(zlib.crc32(name.encode()))
    model = FcBn()
    states = []
    for k in range(steps):
        sd = {}
        for key, v in model.state_dict().items():
            if key.endswith('num_batches_tracked'):
                sd[key] = torch.tensor(k + 1, dtype=torch.int64)
            elif key.endswith('running_var'):
                sd[key] = torch.rand(v.shape, generator=g) + 0.5
            else:
                sd[key] = randn(g, v.shape)
        states.append(sd)
    kwargs = {k: v for k, v in cfg.items() if k != 'type'}
    inp = {'ema': cfg,
           'model': {'modules': [{'name': 'fc', 'type': 'Linear', 'attrs': {'in_features': 3, 'out_features': 2}},
                                 {'name': 'bn', 'type': 'BatchNorm1d', 'attrs': {'num_features': 2}}]},
           'params': [{k: tensor_json(v) for k, v in sd.items()} for sd in states]}
    source = f'mmengine.model.{cfg["type"]}.update_parameters ({VERSIONS}), float32'
    try:
        ema = EMA_CLASSES[cfg['type']](model, **kwargs)
    except Exception as e:  # an error case: what the reference raised
        emit('ema', name, source, inp, error_expected(e), None)
        return
    averaged, counts = [], []
    for sd in states:
        model.load_state_dict(sd)
        ema.update_parameters(model)
        averaged.append({k: tensor_json(v) for k, v in ema.module.state_dict().items()})
        counts.append(int(ema.steps))
    emit('ema', name, source, inp, {'averaged': averaged, 'steps': counts}, EMA_TOL)


def ema_cases():
    ema_case('ema-m0.6-interval3-buffers', {'type': 'ExponentialMovingAverage', 'momentum': 0.6, 'interval': 3, 'update_buffers': True}, 8)
    ema_case('ema-m0.5-exact', {'type': 'ExponentialMovingAverage', 'momentum': 0.5, 'interval': 1, 'update_buffers': False}, 4)
    ema_case('ema-type-only-defaults', {'type': 'ExponentialMovingAverage'}, 4)
    ema_case('ema-m0.9-buffers', {'type': 'ExponentialMovingAverage', 'momentum': 0.9, 'interval': 1, 'update_buffers': True}, 5)
    ema_case('annealing-default-gamma-interval2-buffers', {'type': 'MomentumAnnealingEMA', 'momentum': 0.0002, 'gamma': 100, 'interval': 2, 'update_buffers': True}, 7)
    ema_case('annealing-gamma1', {'type': 'MomentumAnnealingEMA', 'momentum': 0.01, 'gamma': 1, 'interval': 1, 'update_buffers': False}, 6)
    ema_case('annealing-momentum-floor', {'type': 'MomentumAnnealingEMA', 'momentum': 0.3, 'gamma': 2, 'interval': 1, 'update_buffers': True}, 7)
    ema_case('annealing-gamma3-interval3', {'type': 'MomentumAnnealingEMA', 'momentum': 0.05, 'gamma': 3, 'interval': 3, 'update_buffers': False}, 8)
    ema_case('swa-interval2', {'type': 'StochasticWeightAverage', 'interval': 2, 'update_buffers': False}, 7)
    ema_case('swa-interval1-buffers', {'type': 'StochasticWeightAverage', 'interval': 1, 'update_buffers': True}, 6)
    ema_case('swa-type-only', {'type': 'StochasticWeightAverage'}, 4)
    ema_case('err-ema-momentum-zero', {'type': 'ExponentialMovingAverage', 'momentum': 0.0, 'interval': 1, 'update_buffers': False}, 2)
    ema_case('err-ema-momentum-one', {'type': 'ExponentialMovingAverage', 'momentum': 1.0, 'interval': 1, 'update_buffers': False}, 2)
    ema_case('err-annealing-gamma-zero', {'type': 'MomentumAnnealingEMA', 'momentum': 0.01, 'gamma': 0, 'interval': 1, 'update_buffers': False}, 2)


# ---------------------------------------------------------------------------------------------
# optim_wrapper: OptimWrapper from build_optim_wrapper over nn.Linear, MSE loss per batch.

OW_TOL = {'rtol': 1e-05, 'atol': 1e-06}


def optim_wrapper_case(name, ow_cfg, max_iters, in_f=2, out_f=3, batch=4, y_scale=1.0):
    g = rng(name)
    weight = randn(g, [out_f, in_f], 0.5)
    bias = randn(g, [out_f], 0.3)
    batches = [(randn(g, [batch, in_f]), randn(g, [batch, out_f], y_scale)) for _ in range(max_iters)]
    model = nn.Linear(in_f, out_f)
    with torch.no_grad():
        model.weight.copy_(weight)
        model.bias.copy_(bias)
    hub = MessageHub.get_instance(f'extra-conformance-{name}')
    inp = {'model': {'type': 'Linear', 'in_features': in_f, 'out_features': out_f, 'weight': tensor_json(weight), 'bias': tensor_json(bias)},
           'optim_wrapper': ow_cfg, 'max_iters': max_iters,
           'batches': [{'x': tensor_json(x), 'y': tensor_json(y)} for x, y in batches]}
    source = f'mmengine.optim.OptimWrapper via build_optim_wrapper; initialize_count_status(model, 0, max_iters); optim_context + update_params per iter ({VERSIONS}); grad_norm = MessageHub train/grad_norm'
    try:
        wrapper = build_optim_wrapper(model, copy.deepcopy(ow_cfg))
    except Exception as e:  # an error case: what the reference raised
        emit('optim_wrapper', name, source, inp, error_expected(e), None)
        return
    assert wrapper.message_hub is hub
    wrapper.initialize_count_status(model, 0, max_iters)
    out = {'weight': [], 'bias': [], 'grad_norm': [], 'loss': [], 'updated': []}
    for x, y in batches:
        buf = hub.log_scalars.get('train/grad_norm')
        before = len(buf.data[0]) if buf is not None else 0
        with wrapper.optim_context(model):
            loss = ((model(x) - y) ** 2).mean()
        wrapper.update_params(loss)
        buf = hub.log_scalars.get('train/grad_norm')
        logged = buf is not None and len(buf.data[0]) > before
        out['weight'].append(tensor_json(model.weight))
        out['bias'].append(tensor_json(model.bias))
        out['grad_norm'].append(enc(float(buf.current())) if logged else None)
        out['loss'].append(enc(float(loss.item())))
        out['updated'].append(bool(wrapper.should_update()))
    emit('optim_wrapper', name, source, inp, out, OW_TOL)


def optim_wrapper_cases():
    ow = lambda opt, **kw: {'type': 'OptimWrapper', 'optimizer': opt, **kw}  # noqa: E731
    optim_wrapper_case('sgd-acc2-clip-inf', ow({'type': 'SGD', 'lr': 0.1, 'momentum': 0.9}, accumulative_counts=2, clip_grad={'max_norm': 0.2, 'norm_type': 'inf'}), 6)
    optim_wrapper_case('adam-acc3-clip-norm3-remainder', ow({'type': 'Adam', 'lr': 0.02, 'amsgrad': True}, accumulative_counts=3, clip_grad={'max_norm': 0.5, 'norm_type': 3}), 7)
    optim_wrapper_case('sgd-acc3-clip-value-remainder', ow({'type': 'SGD', 'lr': 0.05, 'momentum': 0.5, 'nesterov': True}, accumulative_counts=3, clip_grad={'type': 'value', 'clip_value': 0.1}), 8)
    optim_wrapper_case('adamw-acc5-max12', ow({'type': 'AdamW', 'lr': 0.01, 'weight_decay': 0.05}, accumulative_counts=5, clip_grad={'max_norm': 1.0}), 12)
    optim_wrapper_case('rmsprop-acc2-clip-type-norm', ow({'type': 'RMSprop', 'lr': 0.01, 'momentum': 0.9}, accumulative_counts=2, clip_grad={'type': 'norm', 'max_norm': 0.8, 'norm_type': 2.0}), 5)
    optim_wrapper_case('adagrad-acc1-clip-norm1', ow({'type': 'Adagrad', 'lr': 0.1, 'lr_decay': 0.01}, clip_grad={'max_norm': 2.0, 'norm_type': 1}), 4)
    optim_wrapper_case('nadam-acc4-max4', ow({'type': 'NAdam', 'lr': 0.01}, accumulative_counts=4, clip_grad={'max_norm': 0.3}), 4)
    optim_wrapper_case('sgd-acc2-max1', ow({'type': 'SGD', 'lr': 0.1}, accumulative_counts=2), 1)
    optim_wrapper_case('adamax-acc3-max5-clip-max0', ow({'type': 'Adamax', 'lr': 0.01}, accumulative_counts=3, clip_grad={'max_norm': 0.0}), 5)
    optim_wrapper_case('sgd-acc2-clip-error-flag-false', ow({'type': 'SGD', 'lr': 0.05, 'weight_decay': 0.01}, accumulative_counts=2, clip_grad={'max_norm': 1.0, 'norm_type': 2, 'error_if_nonfinite': False}), 5)
    optim_wrapper_case('sgd-paramwise-bias-mults', ow({'type': 'SGD', 'lr': 0.1, 'momentum': 0.9, 'weight_decay': 0.01}, accumulative_counts=2,
                                                      paramwise_cfg={'bias_lr_mult': 2.0, 'bias_decay_mult': 0.0}), 5)
    optim_wrapper_case('adamw-paramwise-custom-keys', ow({'type': 'AdamW', 'lr': 0.01, 'weight_decay': 0.05},
                                                         clip_grad={'max_norm': 0.5}, paramwise_cfg={'custom_keys': {'weight': {'lr_mult': 0.1, 'decay_mult': 2.0}}}), 4)
    optim_wrapper_case('err-clip-type-unknown', ow({'type': 'SGD', 'lr': 0.1}, clip_grad={'type': 'max', 'max_norm': 1.0}), 2)
    optim_wrapper_case('err-clip-only-type', ow({'type': 'SGD', 'lr': 0.1}, clip_grad={'type': 'norm'}), 2)
    optim_wrapper_case('radam-wide-linear-clip', ow({'type': 'RAdam', 'lr': 0.01, 'betas': [0.5, 0.8]}, accumulative_counts=2, clip_grad={'max_norm': 0.5, 'norm_type': 'inf'}), 7, in_f=5, out_f=4, batch=3)


def main():
    optimizer_cases()
    clip_cases()
    scaler_cases()
    ema_cases()
    optim_wrapper_cases()
    for kind in KINDS:
        d = os.path.join(OUT, kind)
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)
    names = set()
    for c in CASES:
        key = (c['kind'], c['name'])
        assert key not in names, key
        names.add(key)
        with open(os.path.join(OUT, c['kind'], c['name'] + '.json'), 'w') as f:
            json.dump(c, f, allow_nan=False, indent=1)
            f.write('\n')
    counts = {k: sum(c['kind'] == k for c in CASES) for k in KINDS}
    print(f'wrote {len(CASES)} cases to {os.path.relpath(OUT, REPO)}: {counts}')


if __name__ == '__main__':
    main()
