// Registers the bundled models in MODELS.

import { LAYERS, MODELS } from '../registry';
import { ImageClassifier, SequentialModel } from './classifiers';
import { GlobalAveragePooling } from './heads';
import { MLPClassifier } from './mlp';
import { EncoderDecoder } from './segmentor';

export { BaseModel } from './base-model';
export { MLPClassifier } from './mlp';
export type { MLPClassifierOptions } from './mlp';
export { batchTensor, ImageClassifier, predictLabels, SequentialModel } from './classifiers';
export type { ImageClassifierOptions, SequentialModelOptions } from './classifiers';
export { FCNHead, GlobalAveragePooling, LinearClsHead } from './heads';
export type { FCNHeadOptions, LinearClsHeadOptions } from './heads';
export { EncoderDecoder } from './segmentor';
export type { EncoderDecoderOptions } from './segmentor';

MODELS.registerClass('MLPClassifier', MLPClassifier, { accepts: ['in_features', 'hidden_sizes', 'num_classes'] });
// Models assembled from LAYERS (layer dicts, norm_cfg, act_cfg) with a loss.
MODELS.registerClass('Sequential', SequentialModel, { accepts: ['layers', 'loss', 'input_shape'] });
MODELS.registerClass('ImageClassifier', ImageClassifier, { accepts: ['backbone', 'neck', 'head', 'input_shape'] });
MODELS.registerClass('EncoderDecoder', EncoderDecoder, { accepts: ['backbone', 'neck', 'decode_head'] });
LAYERS.registerClass('GlobalAveragePooling', GlobalAveragePooling, { accepts: [] });
