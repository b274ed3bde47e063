// IoUMetric against MMSegmentation 1.2's, run by scripts/gen-iou-fixtures.py on small random maps
// (ignored pixels, absent classes, out-of-range labels, 150 classes): the same keys in the same
// order, the same float32 values, the same per-class table.

import * as fs from 'node:fs';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { AnvilError, buildEvaluator, IoUMetric, METRICS, type SegmentationOutput } from '../ts';
import { currentLogger, Logger, withCurrentLogger } from '../ts/runner/logger';
import { float32Str, nanmeanF32 } from '../ts/evaluation/iou-metric';

interface FixtureCase {
  name: string;
  args: Record<string, unknown>;
  classes: string[];
  batches: { shape: [number, number]; pred: number[]; label: number[] }[][];
  expected: Record<string, number | 'NaN'>;
  expected_keys: string[];
  table: string;
}

const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'iou-metric.json'), 'utf8')) as { cases: FixtureCase[] };

/** Runs a case through a metric built from its config dict, capturing what it logs. */
function run(c: FixtureCase): { results: Record<string, number>; logged: string[] } {
  const metric = METRICS.build<IoUMetric>({ type: 'IoUMetric', ...c.args }, 'val_evaluator');
  metric.datasetMeta = { classes: c.classes };
  const logged: string[] = [];
  const logger = new Logger(null, (line) => logged.push(line));
  const results = withCurrentLogger(logger, () => {
    for (const batch of c.batches) {
      const outputs: SegmentationOutput[] = batch.map((s) => ({ predSeg: Int32Array.from(s.pred), gtSeg: Int32Array.from(s.label) }));
      metric.process({}, outputs);
    }
    return metric.evaluate(c.batches.flat().length);
  });
  return { results, logged };
}

describe('IoUMetric matches MMSegmentation 1.2.2', () => {
  it('has the generated cases', () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(9);
  });

  for (const c of fixture.cases) {
    it(c.name, () => {
      const { results, logged } = run(c);
      expect(Object.keys(results)).toEqual(c.expected_keys);
      for (const key of c.expected_keys) {
        const want = c.expected[key];
        if (want === 'NaN') expect(results[key]).toBeNaN();
        else expect(results[key]).toBe(want); // exact: the float32 value MMSeg returns
      }
      // The per-class table, as MMSeg logs it through the current logger.
      expect(logged).toHaveLength(2);
      expect(logged[0]).toMatch(/ - INFO - per class results:$/);
      expect(logged[1].slice(logged[1].indexOf(' - INFO - ') + ' - INFO - '.length)).toBe(c.table);
    });
  }

  it('accumulates over batches: the totals are the whole set, not a mean of batch scores', () => {
    const metric = new IoUMetric();
    metric.datasetMeta = { classes: ['bg', 'fg'] };
    // Batch 1: one pixel of class 1 right; batch 2: 3 of class 0 right, 1 wrong (1 predicted as 0).
    metric.process({}, [{ predSeg: Int32Array.of(1), gtSeg: Int32Array.of(1) }]);
    metric.process({}, [{ predSeg: Int32Array.of(0, 0, 0, 0, 1), gtSeg: Int32Array.of(0, 0, 0, 1, 255) }]);
    const r = withCurrentLogger(new Logger(null, () => {}), () => metric.evaluate(2));
    // class 0: I=3, U=4, L=3 -> IoU 75, Acc 100; class 1: I=1, U=2, L=2 -> 50, 50 (the ignored
    // pixel's prediction does not count); a mean of per-batch scores would differ.
    expect(r).toEqual({ aAcc: 80, mIoU: 62.5, mAcc: 75 });
    expect(() => metric.evaluate(0)).toThrow(/no samples were processed/);
  });

  it('helpers reproduce numpy: float32 str, nanmean', () => {
    expect([75, 66.67, 0, Math.fround(0.1), NaN, 100].map((x) => float32Str(Math.fround(x)))).toEqual(['75.0', '66.67', '0.0', '0.1', 'nan', '100.0']);
    expect(nanmeanF32(Float32Array.of(1, NaN, 2))).toBe(1.5);
    expect(nanmeanF32(Float32Array.of(NaN))).toBeNaN();
  });

  it('without a current logger the table goes to the console; bad options and outputs are named', () => {
    expect(currentLogger()).toBeNull();
    expect(() => METRICS.build({ type: 'IoUMetric', iou_metrics: ['mAP'] }, 'val_evaluator')).toThrow(/iou_metrics \["mAP"\] is not supported/);
    expect(() => METRICS.build({ type: 'IoUMetric', output_dir: 'out' }, 'val_evaluator')).toThrow(AnvilError);
    expect(() => METRICS.build({ type: 'IoUMetric', num_classes: 3 }, 'val_evaluator')).toThrow(/unexpected argument 'num_classes'/);
    const evaluator = buildEvaluator({ type: 'IoUMetric' }, 'val_evaluator');
    expect(() => evaluator.process({}, [{ predSeg: Int32Array.of(0), gtSeg: Int32Array.of(0) }])).toThrow(/dataset_meta\['classes'\]/);
    evaluator.datasetMeta = { classes: ['a', 'b'] };
    expect(() => evaluator.process({}, [{ predLabel: 1, gtLabel: 1 }])).toThrow(/predSeg and gtSeg/);
    evaluator.process({}, [{ predSeg: Int32Array.of(0, 1), gtSeg: Int32Array.of(0, 0) }]);
    const lines: string[] = [];
    const log = console.log;
    console.log = (msg: string) => lines.push(msg);
    try {
      expect(evaluator.evaluate(1)).toEqual({ aAcc: 50, mIoU: 25, mAcc: 50 });
    } finally {
      console.log = log;
    }
    expect(lines[0]).toBe('per class results:');
    expect(lines[1]).toContain('| Class | IoU  | Acc  |');
  });
});
