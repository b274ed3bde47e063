// Registers the visualizers and vis backends under MMEngine's / MMSegmentation's names and builds
// the runner's `visualizer` config: backends get `<save_dir>/vis_data`, as MMEngine sets them.

import * as path from 'node:path';

import { AnvilError } from '../errors';
import { VISBACKENDS, VISUALIZERS, type ConfigDict } from '../registry';
import { describe } from '../registry/registry';
import { camelizeKeys } from '../util/names';
import { LocalVisBackend, type VisBackend } from './local-vis-backend';
import { SegLocalVisualizer } from './seg-local-visualizer';
import { TensorboardVisBackend } from './tensorboard-vis-backend';
import { Visualizer } from './visualizer';

export type { DatasampleImage, VisImage } from './image';
export { LocalVisBackend } from './local-vis-backend';
export type { LocalVisBackendOptions } from './local-vis-backend';
export { SegLocalVisualizer, defaultPalette } from './seg-local-visualizer';
export { TensorboardVisBackend } from './tensorboard-vis-backend';
export type { TensorboardVisBackendOptions } from './tensorboard-vis-backend';
export type { VisBackend } from './vis-backend';
export type { SegLocalVisualizerOptions } from './seg-local-visualizer';
export { Visualizer } from './visualizer';
export type { DatasampleOptions, VisualizerOptions } from './visualizer';

VISBACKENDS.registerClass('LocalVisBackend', LocalVisBackend, { accepts: ['save_dir', 'img_save_dir', 'config_save_file', 'scalar_save_file'] });
VISBACKENDS.registerClass('TensorboardVisBackend', TensorboardVisBackend, { accepts: ['save_dir'] });

const VISUALIZER_KEYS = ['name', 'vis_backends', 'save_dir'];

/** A builder for a visualizer class: builds its `vis_backends` under `<save_dir>/vis_data`. */
function visualizerBuilder(type: string, extraKeys: string[], make: (options: Record<string, unknown>) => Visualizer) {
  return (args: Record<string, unknown>): Visualizer => {
    const accepted = [...VISUALIZER_KEYS, ...extraKeys];
    const unknown = Object.keys(args).find((k) => !accepted.includes(k));
    if (unknown !== undefined) throw new AnvilError(`${type}: unexpected argument '${unknown}' (accepted: ${accepted.join(', ')})`);
    const { vis_backends: backendCfgs = [], save_dir: saveDir = null, ...rest } = args;
    if (!Array.isArray(backendCfgs)) throw new AnvilError(`${type}: vis_backends must be a list of backend dicts, got ${describe(backendCfgs)}`);
    const visDir = typeof saveDir === 'string' ? path.join(saveDir, 'vis_data') : null;
    const backends: VisBackend[] = [];
    backendCfgs.forEach((cfg, i) => {
      const where = `vis_backends[${i}]`;
      const c = { ...(cfg as ConfigDict) };
      // MMEngine skips a backend that needs a folder when the run has none (no work_dir).
      if (c.save_dir === undefined) {
        if (visDir === null) return;
        c.save_dir = visDir;
      }
      backends.push(VISBACKENDS.build<VisBackend>(c, where));
    });
    return make({ ...camelizeKeys(rest), backends });
  };
}

VISUALIZERS.register('Visualizer', visualizerBuilder('Visualizer', [], (o) => new Visualizer(o)));
VISUALIZERS.register('SegLocalVisualizer', visualizerBuilder('SegLocalVisualizer', ['classes', 'palette', 'alpha'], (o) => new SegLocalVisualizer(o)));

/**
 * The runner's visualizer: the config's (`name` and `save_dir` defaulted), else MMEngine's
 * default, a Visualizer with one LocalVisBackend. `saveDir` is the run folder (null: none).
 */
export function buildVisualizer(cfg: unknown, saveDir: string | null, name: string): Visualizer {
  if (cfg === undefined || cfg === null) cfg = { type: 'Visualizer', vis_backends: [{ type: 'LocalVisBackend' }] };
  if (cfg instanceof Visualizer) return cfg;
  if (typeof cfg !== 'object' || Array.isArray(cfg)) throw new AnvilError(`visualizer: expected a dict with a 'type' key, got ${describe(cfg)}`);
  const c = { name, ...(cfg as Record<string, unknown>) } as Record<string, unknown>;
  if (c.save_dir === undefined) c.save_dir = saveDir;
  if (c.type === undefined) c.type = 'Visualizer';
  return VISUALIZERS.build<Visualizer>(c, 'visualizer');
}
