// Registers the bundled metrics and builds `*_evaluator` configs (one metric or a list).

import { METRICS } from '../registry';
import { Accuracy } from './accuracy';
import { Evaluator, type Metric } from './metric';

export { Accuracy } from './accuracy';
export { Evaluator } from './metric';
export type { Metric } from './metric';

METRICS.registerClass('Accuracy', Accuracy, { accepts: [] });

export function buildEvaluator(cfg: unknown, where: string): Evaluator {
  const list = Array.isArray(cfg) ? cfg : [cfg];
  return new Evaluator(list.map((m, i) => METRICS.build<Metric>(m, Array.isArray(cfg) ? `${where}[${i}]` : where)));
}
