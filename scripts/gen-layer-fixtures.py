#!/usr/bin/env python3
"""Generates test/fixtures/layers/*.json: forward and backward values of torch.nn layers on fixed
small inputs, which test/layer-fixtures.test.ts compares Anvil's layers against.

Inputs are drawn in float32 (so Anvil sees exactly the same values) and the reference is computed
in float64 from them. Every case holds the module's type and constructor arguments (torch's
names), its parameters, inputs, the upstream gradient `dy` of y (the loss is sum(y * dy)), and the
expected output and gradients. Run with PyTorch installed (any venv outside the repo):

    python scripts/gen-layer-fixtures.py
"""

import json
import os

import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'layers')


def t(x):
    """A tensor as {shape, data}, values rounded to 9 significant digits (beyond float32)."""
    x = x.detach()
    return {'shape': list(x.shape), 'data': [float(f'{v:.9g}') for v in x.double().flatten().tolist()]}


def rand(gen, *shape, scale=1.0):
    return (torch.randn(*shape, generator=gen, dtype=torch.float32) * scale).double()


def module_case(name, type_, args, module, x, gen, train=True, buffers=()):
    """Runs module(x) in float64, backward of sum(y * dy); records params, grads and buffers."""
    module = module.double()
    params0 = {k: t(v) for k, v in module.named_parameters()}
    bufs0 = {k: t(getattr(module, k)) for k in buffers}
    module.train(train)
    x = x.clone().requires_grad_(x.is_floating_point())
    y = module(x)
    dy = rand(gen, *y.shape)
    (y * dy).sum().backward()
    case = {
        'name': name, 'type': type_, 'args': args, 'train': train,
        'params': params0, 'buffers': bufs0,
        'x': t(x), 'dy': t(dy),
        'expected': {'y': t(y), 'dx': t(x.grad) if x.grad is not None else None,
                     'grads': {k: t(v.grad) for k, v in module.named_parameters()},
                     'buffers': {k: t(getattr(module, k)) for k in buffers}},
    }
    return case


def with_params(module, gen, scale=0.5):
    """Replaces every parameter with float32-representable random values (beyond init defaults)."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(rand(gen, *p.shape, scale=scale).float())
    return module


def linear(gen):
    cases = []
    for name, (i, o, shape, bias) in {'2d': (5, 3, (4, 5), True), '3d-nobias': (5, 3, (2, 3, 5), False)}.items():
        m = with_params(nn.Linear(i, o, bias=bias), gen)
        cases.append(module_case(name, 'Linear', {'in_features': i, 'out_features': o, 'bias': bias}, m, rand(gen, *shape), gen))
    return cases


def conv2d(gen):
    configs = [
        ('k3-s1-p1', dict(in_channels=3, out_channels=4, kernel_size=3, stride=1, padding=1), (2, 3, 6, 5)),
        ('k3x2-s2-p1x0-d2-g2', dict(in_channels=4, out_channels=6, kernel_size=[3, 2], stride=2, padding=[1, 0], dilation=2, groups=2), (2, 4, 9, 8)),
        ('depthwise-nobias', dict(in_channels=4, out_channels=8, kernel_size=3, padding=1, groups=4, bias=False), (2, 4, 5, 5)),
        ('pointwise', dict(in_channels=6, out_channels=3, kernel_size=1), (2, 6, 4, 4)),
        ('k2-s3-p1', dict(in_channels=2, out_channels=2, kernel_size=2, stride=3, padding=1), (1, 2, 7, 6)),
    ]
    cases = []
    for name, args, shape in configs:
        m = with_params(nn.Conv2d(**{k: tuple(v) if isinstance(v, list) else v for k, v in args.items()}), gen)
        cases.append(module_case(name, 'Conv2d', args, m, rand(gen, *shape), gen))
    return cases


def batchnorm2d(gen):
    bufs = ('running_mean', 'running_var', 'num_batches_tracked')
    cases = []
    m = with_params(nn.BatchNorm2d(3), gen)
    cases.append(module_case('train-affine', 'BatchNorm2d', {'num_features': 3}, m, rand(gen, 4, 3, 5, 5, scale=2.0) + 0.5, gen, True, bufs))
    m = with_params(nn.BatchNorm2d(3, momentum=0.3), gen)
    with torch.no_grad():
        m.running_mean.copy_(rand(gen, 3).float())
        m.running_var.copy_(rand(gen, 3).abs().float() + 0.5)
    cases.append(module_case('train-momentum-0.3-from-running', 'BatchNorm2d', {'num_features': 3, 'momentum': 0.3}, m, rand(gen, 2, 3, 4, 3), gen, True, bufs))
    m = with_params(nn.BatchNorm2d(3), gen)
    with torch.no_grad():
        m.running_mean.copy_(rand(gen, 3).float())
        m.running_var.copy_(rand(gen, 3).abs().float() + 0.5)
    cases.append(module_case('eval', 'BatchNorm2d', {'num_features': 3}, m, rand(gen, 2, 3, 4, 4), gen, False, bufs))
    m = nn.BatchNorm2d(2, affine=False)
    cases.append(module_case('train-no-affine', 'BatchNorm2d', {'num_features': 2, 'affine': False}, m, rand(gen, 3, 2, 3, 3), gen, True, bufs))
    return cases


def layernorm(gen):
    cases = []
    m = with_params(nn.LayerNorm(6), gen)
    cases.append(module_case('last-dim', 'LayerNorm', {'normalized_shape': [6]}, m, rand(gen, 3, 4, 6, scale=3.0), gen))
    m = with_params(nn.LayerNorm([4, 6], eps=1e-3), gen)
    cases.append(module_case('two-dims-eps', 'LayerNorm', {'normalized_shape': [4, 6], 'eps': 1e-3}, m, rand(gen, 2, 4, 6), gen))
    m = nn.LayerNorm(5, elementwise_affine=False)
    cases.append(module_case('no-affine', 'LayerNorm', {'normalized_shape': [5], 'elementwise_affine': False}, m, rand(gen, 4, 5), gen))
    return cases


def cross_entropy(gen):
    cases = []
    w5 = [0.5, 2.0, 1.0, 0.25, 3.0]
    variants = [
        ('plain', {}, (6, 5), [0, 4, 2, 2, 1, 3]),
        ('class-weights', {'weight': w5}, (6, 5), [0, 4, 2, 2, 1, 3]),
        ('ignore-index', {'ignore_index': 2}, (6, 5), [0, 4, 2, 2, 1, 3]),
        ('label-smoothing', {'label_smoothing': 0.1}, (6, 5), [0, 4, 2, 2, 1, 3]),
        ('weights-smoothing-ignore', {'weight': w5, 'label_smoothing': 0.2, 'ignore_index': -100}, (6, 5), [0, -100, 2, 4, -100, 3]),
        ('sum-smoothing', {'reduction': 'sum', 'label_smoothing': 0.05, 'weight': w5}, (6, 5), [1, 1, 0, 4, 3, 2]),
        ('spatial-ignore-255', {'ignore_index': 255, 'weight': [1.0, 0.5, 2.0, 1.5], 'label_smoothing': 0.1}, (2, 4, 3, 3), None),
    ]
    for name, args, shape, target in variants:
        logits = rand(gen, *shape, scale=2.0).requires_grad_(True)
        if target is None:
            target = torch.randint(0, shape[1], (shape[0], *shape[2:]), generator=gen)
            target[0, 0, 1] = 255
            target[1, 2, :] = 255
        else:
            target = torch.tensor(target)
        kw = {k: torch.tensor(v, dtype=torch.float64) if k == 'weight' else v for k, v in args.items()}
        loss = nn.CrossEntropyLoss(**kw)(logits, target)
        loss.backward()
        cases.append({'name': name, 'type': 'CrossEntropyLoss', 'args': args, 'x': t(logits), 'target': {'shape': list(target.shape), 'data': target.flatten().tolist()},
                      'expected': {'loss': float(f'{loss.item():.12g}'), 'dx': t(logits.grad)}})
    cases += cross_entropy_none_and_soft(gen)
    return cases


def cross_entropy_none_and_soft(gen):
    """reduction='none' (losses y and, for an upstream gradient dy, dx) and probability targets
    (a target shaped as the logits: torch's soft-label path, which refuses ignore_index >= 0 and
    has no index to ignore for a negative one)."""
    cases = []
    w4 = [1.0, 0.5, 2.0, 1.5]
    variants = [
        ('none-ignore', {'reduction': 'none', 'ignore_index': 1}, (6, 4), 'classes'),
        ('none-weights-smoothing-spatial', {'reduction': 'none', 'weight': w4, 'label_smoothing': 0.1, 'ignore_index': 255}, (2, 4, 3, 2), 'classes'),
        ('probs', {}, (5, 4), 'probs'),
        ('probs-weights-smoothing', {'weight': w4, 'label_smoothing': 0.2, 'ignore_index': -1}, (5, 4), 'probs'),
        ('probs-sum-spatial', {'reduction': 'sum', 'weight': w4, 'label_smoothing': 0.05}, (2, 4, 2, 3), 'probs'),
        ('probs-none-spatial', {'reduction': 'none', 'weight': w4, 'label_smoothing': 0.1}, (2, 4, 3, 2), 'probs'),
    ]
    for name, args, shape, kind in variants:
        logits = rand(gen, *shape, scale=2.0).requires_grad_(True)
        if kind == 'classes':
            target = torch.randint(0, shape[1], (shape[0], *shape[2:]), generator=gen)
            if len(shape) > 2:
                target[1, 0, :] = 255
            target_json = {'shape': list(target.shape), 'data': target.flatten().tolist()}
        else:
            target = torch.softmax(rand(gen, *shape, scale=1.5).float(), dim=1).double()
            target_json = t(target)
        kw = {k: torch.tensor(v, dtype=torch.float64) if k == 'weight' else v for k, v in args.items()}
        loss = nn.CrossEntropyLoss(**kw)(logits, target)
        case = {'name': name, 'type': 'CrossEntropyLoss', 'args': args, 'x': t(logits), 'target': target_json}
        if args.get('reduction') == 'none':
            dy = rand(gen, *loss.shape)
            (loss * dy).sum().backward()
            case.update(dy=t(dy), expected={'y': t(loss), 'dx': t(logits.grad)})
        else:
            loss.backward()
            case['expected'] = {'loss': float(f'{loss.item():.12g}'), 'dx': t(logits.grad)}
        cases.append(case)
    return cases


def extras(gen):
    """The other layer families, so every one of them is checked against torch too."""
    cases = []
    m = with_params(nn.GroupNorm(2, 4), gen)
    cases.append(module_case('groupnorm', 'GroupNorm', {'num_groups': 2, 'num_channels': 4}, m, rand(gen, 2, 4, 3, 3), gen))
    for approx in ['none', 'tanh']:
        cases.append(module_case(f'gelu-{approx}', 'GELU', {'approximate': approx}, nn.GELU(approximate=approx), rand(gen, 3, 7, scale=3.0), gen))
    cases.append(module_case('sigmoid', 'Sigmoid', {}, nn.Sigmoid(), rand(gen, 3, 7, scale=3.0), gen))
    cases.append(module_case('tanh', 'Tanh', {}, nn.Tanh(), rand(gen, 3, 7, scale=2.0), gen))
    cases.append(module_case('maxpool-ceil', 'MaxPool2d', {'kernel_size': 2, 'stride': 2, 'ceil_mode': True}, nn.MaxPool2d(2, 2, ceil_mode=True), rand(gen, 2, 3, 5, 7), gen))
    cases.append(module_case('maxpool-pad-dil', 'MaxPool2d', {'kernel_size': 3, 'stride': 2, 'padding': 1, 'dilation': 2}, nn.MaxPool2d(3, 2, 1, dilation=2), rand(gen, 1, 2, 8, 8), gen))
    cases.append(module_case('avgpool-pad-exclude', 'AvgPool2d', {'kernel_size': 3, 'stride': 2, 'padding': 1, 'count_include_pad': False, 'ceil_mode': True},
                             nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False), rand(gen, 2, 2, 6, 7), gen))
    cases.append(module_case('avgpool-pad-include', 'AvgPool2d', {'kernel_size': 2, 'padding': 1}, nn.AvgPool2d(2, padding=1), rand(gen, 1, 2, 5, 5), gen))
    cases.append(module_case('adaptive-avgpool', 'AdaptiveAvgPool2d', {'output_size': [2, 3]}, nn.AdaptiveAvgPool2d((2, 3)), rand(gen, 2, 3, 5, 7), gen))
    cases.append(module_case('upsample-x2', 'Upsample', {'scale_factor': 2, 'mode': 'bilinear'}, nn.Upsample(scale_factor=2, mode='bilinear'), rand(gen, 1, 2, 3, 4), gen))
    cases.append(module_case('upsample-size', 'Upsample', {'size': [7, 5], 'mode': 'bilinear'}, nn.Upsample(size=(7, 5), mode='bilinear'), rand(gen, 2, 1, 3, 4), gen))
    cases.append(module_case('upsample-align', 'Upsample', {'size': [5, 6], 'mode': 'bilinear', 'align_corners': True},
                             nn.Upsample(size=(5, 6), mode='bilinear', align_corners=True), rand(gen, 1, 2, 3, 4), gen))
    m = with_params(nn.Embedding(6, 4, padding_idx=1), gen)
    cases.append(module_case('embedding', 'Embedding', {'num_embeddings': 6, 'embedding_dim': 4, 'padding_idx': 1}, m, torch.tensor([[1, 3, 5], [0, 3, 1]]), gen))
    # Losses with float targets: loss and input gradient.
    x = rand(gen, 3, 4, scale=2.0).requires_grad_(True)
    target = torch.rand(3, 4, generator=gen, dtype=torch.float32).double()
    for name, type_, args, fn in [
        ('mse', 'MSELoss', {}, nn.MSELoss()),
        ('bce-pos-weight', 'BCEWithLogitsLoss', {'pos_weight': [2.0, 0.5, 1.0, 3.0], 'weight': [1.0, 0.5, 2.0, 1.0]},
         nn.BCEWithLogitsLoss(weight=torch.tensor([1.0, 0.5, 2.0, 1.0], dtype=torch.float64), pos_weight=torch.tensor([2.0, 0.5, 1.0, 3.0], dtype=torch.float64))),
        ('bce-sum', 'BCEWithLogitsLoss', {'reduction': 'sum'}, nn.BCEWithLogitsLoss(reduction='sum')),
    ]:
        x.grad = None
        loss = fn(x, target)
        loss.backward()
        cases.append({'name': name, 'type': type_, 'args': args, 'x': t(x), 'target': t(target),
                      'expected': {'loss': float(f'{loss.item():.12g}'), 'dx': t(x.grad)}})
    # Nearest upsampling (torch's default mode): floor(dst * in/out), or dst / scale_factor.
    for name, args, shape in [
        ('upsample-nearest-x2', {'scale_factor': 2}, (1, 2, 3, 4)),
        ('upsample-nearest-size', {'size': [7, 5], 'mode': 'nearest'}, (2, 1, 3, 4)),
        ('upsample-nearest-scale-1.5x1.3', {'scale_factor': [1.5, 1.3], 'mode': 'nearest'}, (1, 2, 4, 5)),
        ('upsample-nearest-down', {'size': [2, 3], 'mode': 'nearest'}, (1, 2, 5, 7)),
    ]:
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in args.items()}
        cases.append(module_case(name, 'Upsample', args, nn.Upsample(**kw), rand(gen, *shape), gen))
    return cases


def main():
    os.makedirs(OUT, exist_ok=True)
    for seed, (fname, fn) in enumerate([('linear', linear), ('conv2d', conv2d), ('batchnorm2d', batchnorm2d), ('layernorm', layernorm),
                                        ('cross_entropy', cross_entropy), ('extras', extras)]):
        gen = torch.Generator().manual_seed(1000 + seed)
        doc = {'generator': 'scripts/gen-layer-fixtures.py', 'torch': torch.__version__.split('+')[0], 'cases': fn(gen)}
        with open(os.path.join(OUT, f'{fname}.json'), 'w') as f:
            json.dump(doc, f, separators=(',', ':'))
            f.write('\n')
        print(f'{fname}.json: {len(doc["cases"])} cases')


if __name__ == '__main__':
    main()
