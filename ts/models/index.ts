// Registers the bundled models in MODELS.

import { MODELS } from '../registry';
import { MLPClassifier } from './mlp';

export { BaseModel } from './base-model';
export { MLPClassifier } from './mlp';
export type { MLPClassifierOptions } from './mlp';

MODELS.registerClass('MLPClassifier', MLPClassifier, { accepts: ['in_features', 'hidden_sizes', 'num_classes'] });
