// ConvModule (MMCV's conv -> norm -> activation), children named as MMCV names them (`conv`,
// `bn`/`gn`/`ln`, `activate`); norm and activation built from norm_cfg / act_cfg through LAYERS.

import { AnvilError } from '../errors';
import { LAYERS } from '../registry';
import type { ChildLayer } from './container';
import { Conv2d } from './conv';
import { Layer, type Tensor } from './tensor';

type Cfg = Record<string, unknown> & { type?: unknown };

export interface ConvModuleOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: number | [number, number];
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
  /** 'auto' (MMCV's default): a bias only when there is no norm layer. */
  bias?: boolean | 'auto';
  normCfg?: Cfg | null;
  actCfg?: Cfg | null;
  /** MMCV's default: ReLU-like activations run in place (they follow a conv or a norm). */
  inplace?: boolean;
}

/** MMCV's `infer_abbr`: the attribute name of a norm layer. */
function normName(type: string): string {
  if (/^(BN|BatchNorm|SyncBN|SyncBatchNorm)/.test(type)) return 'bn';
  if (/^(GN|GroupNorm)/.test(type)) return 'gn';
  if (/^(LN|LayerNorm)/.test(type)) return 'ln';
  return 'norm';
}

export class ConvModule extends Layer {
  readonly conv: Conv2d;
  readonly norm: ChildLayer | null = null;
  readonly activate: ChildLayer | null = null;
  private readonly order: ChildLayer[];

  constructor(options: ConvModuleOptions) {
    super();
    const { normCfg = null, actCfg = { type: 'ReLU' }, bias = 'auto' } = options;
    this.conv = this.addModule('conv', new Conv2d({ ...options, bias: bias === 'auto' ? normCfg === null : bias }));
    this.order = [this.conv];
    if (normCfg !== null) {
      const { requires_grad: requiresGrad = true, ...cfg } = normCfg;
      const type = String(cfg.type);
      const size = normName(type) === 'gn' ? { num_channels: options.outChannels } : normName(type) === 'ln' ? { normalized_shape: [options.outChannels] } : { num_features: options.outChannels };
      const norm = LAYERS.build(cfg, 'norm_cfg', size) as unknown as ChildLayer;
      for (const p of norm.parameters()) p.requiresGrad = requiresGrad !== false;
      this.norm = this.addModule(normName(type), norm);
      this.order.push(norm);
    }
    if (actCfg !== null) {
      const withInplace = actCfg.type === 'ReLU' && !('inplace' in actCfg) ? { ...actCfg, inplace: options.inplace ?? true } : actCfg;
      const act = LAYERS.build(withInplace, 'act_cfg') as unknown as ChildLayer;
      if (typeof act.forward !== 'function') throw new AnvilError(`ConvModule: act_cfg type ${String(actCfg.type)} is not a layer`);
      this.activate = this.addModule('activate', act);
      this.order.push(act);
    }
  }

  override get typeName(): string {
    return 'ConvModule';
  }

  forward(x: Tensor): Tensor {
    let h = x;
    for (const l of this.order) h = l.forward(h);
    return h;
  }

  backward(dy: Tensor, needInputGrad: boolean): Tensor | null {
    let g: Tensor | null = dy;
    for (let i = this.order.length - 1; i >= 0 && g; i--) g = this.order[i].backward(g, i > 0 || needInputGrad);
    return g;
  }
}
