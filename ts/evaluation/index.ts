// Registers the bundled metrics and builds `*_evaluator` configs (one metric or a list).

import { METRICS } from '../registry';
import { Accuracy } from './accuracy';
import { IoUMetric } from './iou-metric';
import { Evaluator, type Metric } from './metric';

export { Accuracy } from './accuracy';
export { IoUMetric, intersectAndUnion, totalAreaToMetrics } from './iou-metric';
export type { ClassAreas, DatasetMeta, IoUMetricName, IoUMetricOptions } from './iou-metric';
export { Evaluator } from './metric';
export type { Metric } from './metric';

METRICS.registerClass('Accuracy', Accuracy, { accepts: [] });
METRICS.registerClass('IoUMetric', IoUMetric, {
  accepts: ['ignore_index', 'iou_metrics', 'nan_to_num', 'beta', 'collect_device', 'output_dir', 'format_only', 'prefix'],
});

export function buildEvaluator(cfg: unknown, where: string): Evaluator {
  const list = Array.isArray(cfg) ? cfg : [cfg];
  return new Evaluator(list.map((m, i) => METRICS.build<Metric>(m, Array.isArray(cfg) ? `${where}[${i}]` : where)));
}
