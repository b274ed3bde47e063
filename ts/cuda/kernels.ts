// The CUDA backend behind the same calls as the CPU kernels (`native.adamStep(arrays, options)`,
// `native.unscaleGrads(grads, scale)` ...), so optimizers, GradScaler and clipping run on a GPU
// unchanged. Each host bucket gets a mirror in GPU memory that keeps its optimizer state there:
// a step uploads the gradients (host-side models write them), updates params and state on the
// device, and copies the params back for the next forward pass. State comes to the host only on
// demand (`downloadStates`: state dicts, checkpoints).

import { AnvilError } from '../errors';
import { registerDeviceCache } from '../hooks/empty-cache-hook';
import { native, type BucketArrays } from '../native';
import type { GradBuffer } from '../optim/grad-buffers';

type CudaBucket = InstanceType<typeof native.CudaBucket>;
type Options = Record<string, unknown>;

/** The kernel calls an optimizer, GradScaler and clipping make: the CPU addon has them, and so does `CudaKernels`. */
export type Kernels = Pick<
  typeof native,
  | 'sgdStep'
  | 'adamStep'
  | 'adamaxStep'
  | 'nadamStep'
  | 'radamStep'
  | 'adagradStep'
  | 'rmspropStep'
  | 'adadeltaStep'
  | 'asgdStep'
  | 'rpropStep'
  | 'lionStep'
  | 'lambStep'
  | 'lambGradSquareSum'
  | 'unscaleGrads'
  | 'ampCheckGrads'
  | 'gradTotalNorm'
  | 'clipGradNorm'
  | 'clipGradValue'
  | 'emaLerp'
  | 'swaAddDifference'
>;

/** A host bucket's GPU copy, and which of its host state arrays live there under which name. */
interface Mirror {
  bucket: CudaBucket;
  grads: Float32Array | Uint16Array;
  states: Map<Float32Array, string>;
}

/** A parsed device string: 'cpu', 'cuda' (GPU 0) or 'cuda:N'. */
export interface DeviceSpec {
  type: 'cpu' | 'cuda';
  index: number;
  /** The canonical name: 'cpu' or 'cuda:N'. */
  name: string;
}

export function parseDevice(device: unknown, where = 'device'): DeviceSpec {
  if (device === undefined || device === null || device === 'cpu') return { type: 'cpu', index: 0, name: 'cpu' };
  const m = typeof device === 'string' ? /^cuda(?::(\d+))?$/.exec(device) : null;
  if (!m) throw new AnvilError(`${where}: expected 'cpu', 'cuda' or 'cuda:N', got ${JSON.stringify(device)}`);
  const index = m[1] === undefined ? 0 : Number(m[1]);
  const count = native.cudaDeviceCount();
  if (count === 0) throw new AnvilError(`${where}: '${device}' was requested but CUDA is not available (no NVIDIA driver or GPU found)`);
  if (index >= count) throw new AnvilError(`${where}: '${device}' was requested but only ${count} GPU(s) are visible`);
  return { type: 'cuda', index, name: `cuda:${index}` };
}

/** Whether a CUDA GPU can be used (driver present, at least one device). Never throws. */
export function cudaAvailable(): boolean {
  return native.cudaDeviceCount() > 0;
}

const backends = new Map<number, CudaKernels>();

/** The CUDA backend of GPU `index` (one per GPU, so mirrors are shared by everyone stepping a bucket). */
export function cudaKernels(index: number): CudaKernels {
  let k = backends.get(index);
  if (!k) {
    k = new CudaKernels(index);
    backends.set(index, k);
    // EmptyCacheHook: freed device buffers stay in the driver's pool until released.
    registerDeviceCache(`cuda:${index}`, () => native.cudaEmptyCache(index));
  }
  return k;
}

let stateIds = 0;

/** The GPU path steps from the bucket's typed arrays (the optimizer passes them, never a CPU step handle). */
function arrays(b: unknown): BucketArrays {
  if (b === null || typeof b !== 'object' || !('params' in b)) throw new AnvilError('CUDA steps take the bucket arrays (Bucket.arrays()), not a CPU step handle');
  return b as BucketArrays;
}

export class CudaKernels implements Kernels {
  /** Mirrors by the host bucket's params array (and by its grads array, for the gradient passes). */
  private readonly byParams = new WeakMap<Float32Array, Mirror>();
  private readonly byGrads = new WeakMap<Float32Array | Uint16Array, Mirror>();

  constructor(readonly ordinal: number) {}

  sgdStep(b: Parameters<typeof native.sgdStep>[0], o: Parameters<typeof native.sgdStep>[1], gradScale?: number | null): void {
    this.step('sgd', arrays(b), o, gradScale);
  }
  adamStep(b: Parameters<typeof native.adamStep>[0], o: Parameters<typeof native.adamStep>[1], gradScale?: number | null): void {
    this.step('adam', arrays(b), o, gradScale);
  }
  adamaxStep(b: Parameters<typeof native.adamaxStep>[0], o: Parameters<typeof native.adamaxStep>[1], gradScale?: number | null): void {
    this.step('adamax', arrays(b), o, gradScale);
  }
  nadamStep(b: Parameters<typeof native.nadamStep>[0], o: Parameters<typeof native.nadamStep>[1], gradScale?: number | null): void {
    this.step('nadam', arrays(b), o, gradScale);
  }
  radamStep(b: Parameters<typeof native.radamStep>[0], o: Parameters<typeof native.radamStep>[1], gradScale?: number | null): void {
    this.step('radam', arrays(b), o, gradScale);
  }
  adagradStep(b: Parameters<typeof native.adagradStep>[0], o: Parameters<typeof native.adagradStep>[1], gradScale?: number | null): void {
    this.step('adagrad', arrays(b), o, gradScale);
  }
  rmspropStep(b: Parameters<typeof native.rmspropStep>[0], o: Parameters<typeof native.rmspropStep>[1], gradScale?: number | null): void {
    this.step('rmsprop', arrays(b), o, gradScale);
  }
  adadeltaStep(b: Parameters<typeof native.adadeltaStep>[0], o: Parameters<typeof native.adadeltaStep>[1], gradScale?: number | null): void {
    this.step('adadelta', arrays(b), o, gradScale);
  }
  asgdStep(b: Parameters<typeof native.asgdStep>[0], o: Parameters<typeof native.asgdStep>[1], gradScale?: number | null): void {
    this.step('asgd', arrays(b), o, gradScale);
  }
  rpropStep(b: Parameters<typeof native.rpropStep>[0], o: Parameters<typeof native.rpropStep>[1], gradScale?: number | null): void {
    this.step('rprop', arrays(b), o, gradScale);
  }
  lionStep(b: Parameters<typeof native.lionStep>[0], o: Parameters<typeof native.lionStep>[1], gradScale?: number | null): void {
    this.step('lion', arrays(b), o, gradScale);
  }
  lambStep(b: Parameters<typeof native.lambStep>[0], o: Parameters<typeof native.lambStep>[1], gradScale?: number | null): void {
    this.step('lamb', arrays(b), o, gradScale);
  }

  lambGradSquareSum(b: Parameters<typeof native.lambGradSquareSum>[0]): number {
    const a = arrays(b);
    const m = this.mirror(a);
    return native.cudaGradSquareSum([m.bucket], [a.hasGrad], a.gradScale ?? 1);
  }

  unscaleGrads(grads: GradBuffer[], scale: number): boolean {
    return this.withGrads(grads, true, (b, inc) => native.cudaUnscaleGrads(b, inc, scale));
  }

  ampCheckGrads(grads: GradBuffer[], scale: number, clip?: Parameters<typeof native.ampCheckGrads>[2]) {
    return this.withGrads(grads, false, (b, inc) => native.cudaAmpCheck(b, inc, scale, clip ?? undefined));
  }

  gradTotalNorm(grads: GradBuffer[], normType: number): number {
    return this.withGrads(grads, false, (b, inc) => native.cudaTotalNorm(b, inc, normType).norm);
  }

  clipGradNorm(grads: GradBuffer[], maxNorm: number, normType: number, errorIfNonfinite: boolean): number {
    return this.withGrads(grads, true, (b, inc) => native.cudaClipGradNorm(b, inc, maxNorm, normType, errorIfNonfinite));
  }

  clipGradValue(grads: GradBuffer[], clipValue: number): void {
    this.withGrads(grads, true, (b, inc) => native.cudaClipGradValue(b, inc, clipValue));
  }

  /** MMEngine's EMA update (torch's `lerp_`) of each averaged array towards its source, on the GPU. */
  emaLerp(averaged: Float32Array[], source: Float32Array[], weight: number): void {
    this.averagePairs(averaged, source, (a, s) => a.lerpFrom(s, weight));
  }

  /** SWA's `add_(src - avg, alpha)` on the GPU. */
  swaAddDifference(averaged: Float32Array[], source: Float32Array[], alpha: number): void {
    this.averagePairs(averaged, source, (a, s) => a.addDifferenceFrom(s, alpha));
  }

  private averagePairs(averaged: Float32Array[], source: Float32Array[], f: (a: InstanceType<typeof native.CudaBuffer>, s: InstanceType<typeof native.CudaBuffer>) => void): void {
    if (averaged.length !== source.length) throw new AnvilError(`${averaged.length} averaged tensors but ${source.length} source tensors`);
    averaged.forEach((a, i) => {
      if (a.length !== source[i].length) throw new AnvilError(`tensor ${i}: averaged holds ${a.length} elements, source ${source[i].length}`);
      const dev = native.CudaBuffer.upload(this.ordinal, a);
      f(dev, native.CudaBuffer.upload(this.ordinal, source[i]));
      dev.download(a);
    });
  }

  /** Copies every mirrored state of these host arrays' buckets into the host arrays. */
  downloadStates(params: Float32Array): void {
    const m = this.byParams.get(params);
    if (!m) return;
    for (const [host, name] of m.states) m.bucket.downloadState(name, host);
  }

  /** Forgets a bucket's mirror: the next step uploads params, grads and state afresh (after the host changed them). */
  forget(params: Float32Array): void {
    const m = this.byParams.get(params);
    if (!m) return;
    this.byParams.delete(params);
    this.byGrads.delete(m.grads);
  }

  private step(kind: string, a: BucketArrays, options: unknown, gradScale?: number | null): void {
    const m = this.mirror(a);
    const names = a.states.map((host) => {
      let name = m.states.get(host);
      if (name === undefined) {
        // New state (or a configuration change): its host values are the start (e.g. Adagrad's initial accumulator).
        name = `s${stateIds++}`;
        m.bucket.setState(name, host);
        m.states.set(host, name);
      }
      return name;
    });
    m.bucket.step(kind, options as Options, { states: names, tensorStates: a.tensorStates, steps: a.steps, hasGrad: a.hasGrad, gradScale: gradScale ?? a.gradScale });
    m.bucket.downloadParams(a.params);
  }

  /** The bucket's mirror with the host's current gradients uploaded (created on first use). */
  private mirror(a: { params: Float32Array; grads: Float32Array | Uint16Array; offsets: Uint32Array; gradDtype?: string | null }): Mirror {
    let m = this.byParams.get(a.params);
    if (!m) {
      m = { bucket: native.CudaBucket.upload(this.ordinal, a.params, a.grads, a.offsets, a.gradDtype ?? 'float32'), grads: a.grads, states: new Map() };
      this.byParams.set(a.params, m);
      this.byGrads.set(a.grads, m);
    } else {
      m.bucket.setGrads(a.grads);
    }
    return m;
  }

  /**
   * Runs a gradient pass over device copies of `grads`: an optimizer bucket's mirror when the
   * array belongs to one, else a temporary device bucket. With `writes`, the gradients the pass
   * changed are copied back into the host arrays.
   */
  private withGrads<R>(grads: GradBuffer[], writes: boolean, f: (buckets: CudaBucket[], include: Uint8Array[]) => R): R {
    const buckets = grads.map((g) => {
      const data = g.values ?? g.bits;
      if (!data) throw new AnvilError('gradient buffer without values or bits');
      const owned = this.byGrads.get(data);
      if (owned) {
        owned.bucket.setGrads(data);
        return owned.bucket;
      }
      const dtype = g.values ? 'float32' : (g.dtype ?? 'float16');
      const offsets = g.offsets ?? Uint32Array.from([0, data.length]);
      return native.CudaBucket.upload(this.ordinal, new Float32Array(data.length), data, offsets, dtype);
    });
    const include = grads.map((g) => g.include ?? new Uint8Array((g.offsets?.length ?? 2) - 1).fill(1));
    const r = f(buckets, include);
    if (writes) {
      grads.forEach((g, i) => buckets[i].downloadGrads((g.values ?? g.bits) as Float32Array | Uint16Array));
    }
    return r;
  }
}
