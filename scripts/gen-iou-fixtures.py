#!/usr/bin/env python3
"""Generates test/fixtures/iou-metric.json: MMSegmentation 1.2's IoUMetric run on small random
prediction / label maps, which test/iou-metric.test.ts compares Anvil's IoUMetric against exactly.

Each case holds the metric's arguments (MMSeg's names), the classes (dataset_meta), the batches of
(pred, label) maps as flat lists with their shape, the returned metrics (MMSeg returns float32
values; they are written as the float64 numbers they equal, NaN as the string "NaN") and the
per-class table MMSeg logs. The maps hold ignored pixels, classes absent from labels or
predictions, and out-of-range labels. Needs torch, mmengine, mmsegmentation==1.2.2 and prettytable
(any venv outside the repo; mmcv is not needed, a stand-in module satisfies mmseg's version check):

    python scripts/gen-iou-fixtures.py
"""

import json
import math
import os
import sys
import types

import numpy as np
import torch

# mmseg/__init__ asserts an mmcv version; IoUMetric itself uses nothing from mmcv.
sys.modules.setdefault('mmcv', types.SimpleNamespace(__version__='2.1.0'))

import mmseg  # noqa: E402
import mmseg.evaluation.metrics.iou_metric as iou_module  # noqa: E402
from mmseg.evaluation.metrics.iou_metric import IoUMetric  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'iou-metric.json')


def num(v):
    v = float(v)
    return 'NaN' if math.isnan(v) else v


def random_maps(rng, num_classes, shape, ignore_index, ignore_frac, absent=(), extra_labels=()):
    """A (pred, label) pair: labels mostly agree with predictions so the metrics are not trivial."""
    label = rng.integers(0, num_classes, size=shape)
    for c in absent:
        label[label == c] = (c + 1) % num_classes
    pred = np.where(rng.random(shape) < 0.6, label, rng.integers(0, num_classes, size=shape))
    for c in absent:
        pred[pred == c] = (c + 2) % num_classes
    label[rng.random(shape) < ignore_frac] = ignore_index
    for v in extra_labels:
        label[rng.random(shape) < 0.03] = v
    return pred, label


def run_case(name, classes, batches, args):
    logged = []
    # Capture the per-class table instead of logging it.
    iou_module.print_log = lambda msg, logger=None, level=None: logged.append(msg)
    metric = IoUMetric(**args)
    metric.dataset_meta = dict(classes=classes)
    for batch in batches:
        metric.process({}, [
            dict(pred_sem_seg=dict(data=torch.from_numpy(p[None].astype(np.int64))),
                 gt_sem_seg=dict(data=torch.from_numpy(l[None].astype(np.int64))))
            for p, l in batch])
    size = sum(len(b) for b in batches)
    results = metric.evaluate(size)
    return {
        'name': name,
        'args': args,
        'classes': list(classes),
        'batches': [[{'shape': list(p.shape), 'pred': p.flatten().tolist(), 'label': l.flatten().tolist()} for p, l in b] for b in batches],
        'expected': {k: num(v) for k, v in results.items()},
        'expected_keys': list(results.keys()),
        'table': logged[1],
    }


def main():
    rng = np.random.default_rng(20240601)
    cases = []

    def maps(k, n, shape, ignore=255, frac=0.1, absent=(), extra=()):
        return [random_maps(rng, k, shape, ignore, frac, absent, extra) for _ in range(n)]

    four = ['background', 'road', 'car', 'tree']
    cases.append(run_case('mIoU default, a class absent from both maps', four,
                          [maps(4, 2, (5, 7), absent=(3,)), maps(4, 1, (5, 7), absent=(3,))], {}))
    cases.append(run_case('all three metrics, beta 2', four,
                          [maps(4, 3, (6, 4)), maps(4, 2, (6, 4), absent=(2,))],
                          {'iou_metrics': ['mIoU', 'mDice', 'mFscore'], 'beta': 2}))
    cases.append(run_case('mDice then mIoU, nan_to_num 0, prefix', four,
                          [maps(4, 2, (4, 4), absent=(1,))],
                          {'iou_metrics': ['mDice', 'mIoU'], 'nan_to_num': 0, 'prefix': 'val'}))
    cases.append(run_case('mFscore only, beta 0.5, nan_to_num -1', ['a', 'bb', 'ccc', 'dddd', 'eeeee'],
                          [maps(5, 2, (3, 9), absent=(4,))],
                          {'iou_metrics': 'mFscore', 'beta': 0.5, 'nan_to_num': -1}))
    cases.append(run_case('ignore_index 0 and out-of-range labels', ['x', 'y', 'z'],
                          [maps(3, 2, (8, 8), ignore=0, frac=0.2, extra=(7, -3))],
                          {'ignore_index': 0, 'iou_metrics': ['mIoU', 'mDice']}))
    cases.append(run_case('every pixel of a sample ignored', four,
                          [[(rng.integers(0, 4, size=(3, 3)), np.full((3, 3), 255))], maps(4, 1, (5, 5))], {}))
    cases.append(run_case('every pixel ignored: aAcc is NaN', ['a', 'b'],
                          [[(rng.integers(0, 2, size=(2, 2)), np.full((2, 2), 255))]], {'iou_metrics': ['mIoU', 'mFscore']}))
    ade = [f'class_{i}' for i in range(150)]
    cases.append(run_case('150 classes (ADE20K-sized), pairwise float32 sums', ade,
                          [maps(150, 2, (32, 30), frac=0.05, absent=(0, 17, 149)), maps(150, 1, (32, 30))],
                          {'iou_metrics': ['mIoU', 'mDice', 'mFscore']}))
    cases.append(run_case('11 classes (the MNIST demo\'s)', ['background'] + [f'digit_{d}' for d in range(10)],
                          [maps(11, 4, (28, 28), frac=0.08) for _ in range(3)], {}))

    with open(OUT, 'w') as f:
        json.dump({'generator': 'scripts/gen-iou-fixtures.py', 'mmsegmentation': mmseg.__version__,
                   'cases': cases}, f)
        f.write('\n')
    print(f'wrote {len(cases)} cases to {os.path.relpath(OUT)}')


if __name__ == '__main__':
    main()
