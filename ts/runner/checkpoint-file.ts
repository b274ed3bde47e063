// A checkpoint dict (MMEngine's nested dict: meta, state_dict, optimizer, ...) to one safetensors
// file and back: every Float32Array/Float64Array becomes a named tensor, the rest JSON metadata.

import { AnvilError } from '../errors';
import { native } from '../native';
import type { CheckpointTensor } from '../../native/index';

/** Where a tensor sits in the dict (its keys from the root) and its array; returns its shape and dtype. */
export type TensorInfoOf = (path: readonly string[], data: Float32Array | Float64Array) => { shape?: readonly number[]; dtype?: 'int64' } | undefined;

export interface WriteCheckpointOptions {
  /** Shapes (and int64 dtype) of tensors; a tensor without one is saved flat. */
  tensorInfo?: TensorInfoOf;
  /** Test-only: the save sleeps this long halfway through writing its temp file. */
  pauseMidwayMs?: number;
}

/** Placeholders in the metadata JSON. */
const TENSOR = '__tensor__';
const FLOAT = '__float__';
/** The metadata's format version, for readers of older files. */
const FORMAT = 1;

/**
 * Writes `checkpoint` to `file` atomically (temp file, fsync, rename, fsync of the folder): the
 * typed arrays as safetensors tensors named by their key path (`state_dict.fc1.weight`), and
 * everything else as JSON under the file's `__metadata__` with a placeholder per tensor.
 */
export function writeCheckpointFile(file: string, checkpoint: Record<string, unknown>, options: WriteCheckpointOptions = {}): void {
  const tensors: CheckpointTensor[] = [];
  const names = new Set<string>();
  const encode = (value: unknown, path: string[]): unknown => {
    if (value instanceof Float32Array || value instanceof Float64Array) {
      let name = path.join('.');
      for (let k = 1; names.has(name); k++) name = `${path.join('.')}#${k}`;
      names.add(name);
      const info = options.tensorInfo?.(path, value);
      const shape = info?.shape ? [...info.shape] : [value.length];
      if (shape.reduce((a, b) => a * b, 1) !== value.length) {
        throw new AnvilError(`checkpoint ${file}: '${path.join('.')}' holds ${value.length} values, its shape [${shape.join(', ')}] needs ${shape.reduce((a, b) => a * b, 1)}`);
      }
      tensors.push(value instanceof Float32Array ? { name, shape, f32: value } : { name, shape, f64: value, dtype: info?.dtype === 'int64' ? 'int64' : undefined });
      return { [TENSOR]: name };
    }
    if (ArrayBuffer.isView(value)) {
      throw new AnvilError(`checkpoint ${file}: '${path.join('.')}' is a ${value.constructor.name}; checkpoints hold Float32Array and Float64Array tensors`);
    }
    if (typeof value === 'number') return Number.isFinite(value) ? value : { [FLOAT]: String(value) };
    if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
    if (value === undefined || typeof value === 'function') return undefined;
    if (Array.isArray(value)) return value.map((v, i) => encode(v, [...path, String(i)]) ?? null);
    if (typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        const e = encode(v, [...path, k]);
        if (e !== undefined) out[k] = e;
      }
      return out;
    }
    throw new AnvilError(`checkpoint ${file}: '${path.join('.')}' is a ${typeof value}, which a checkpoint cannot hold`);
  };
  const tree = encode(checkpoint, []);
  const metadata = JSON.stringify({ format: FORMAT, checkpoint: tree });
  try {
    native.saveCheckpointFile(file, tensors, metadata, options.pauseMidwayMs ?? null);
  } catch (e) {
    throw new AnvilError(`cannot save checkpoint ${file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/** A checkpoint read back: the dict, and the tensors' shapes by tensor name. */
export interface CheckpointFile {
  checkpoint: Record<string, unknown>;
  shapes: Map<string, number[]>;
  /** False for safetensors files written by other tools: their tensors become `state_dict`. */
  fromAnvil: boolean;
}

/**
 * Reads a checkpoint file: Anvil's files give back the dict that was saved (typed arrays where
 * tensors were); other safetensors files (a model's weights saved by torch or Hugging Face)
 * give `{ meta: {}, state_dict: {name: array} }`.
 */
export function readCheckpointFile(file: string): CheckpointFile {
  let loaded: ReturnType<typeof native.loadCheckpointFile>;
  try {
    loaded = native.loadCheckpointFile(file);
  } catch (e) {
    throw new AnvilError(`cannot load checkpoint ${file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const byName = new Map<string, Float32Array | Float64Array>();
  const shapes = new Map<string, number[]>();
  for (const t of loaded.tensors) {
    byName.set(t.name, (t.f32 ?? t.f64)!);
    shapes.set(t.name, t.shape);
  }
  if (loaded.metadata === null || loaded.metadata === undefined) {
    return { checkpoint: { meta: {}, state_dict: Object.fromEntries(byName) }, shapes, fromAnvil: false };
  }
  let parsed: { format?: unknown; checkpoint?: unknown };
  try {
    parsed = JSON.parse(loaded.metadata);
  } catch (e) {
    throw new AnvilError(`checkpoint ${file}: its metadata is not valid JSON (${(e as Error).message})`);
  }
  if (parsed.format !== FORMAT || parsed.checkpoint === null || typeof parsed.checkpoint !== 'object') {
    throw new AnvilError(`checkpoint ${file}: unknown metadata format ${JSON.stringify(parsed.format)} (this Anvil reads format ${FORMAT})`);
  }
  const decode = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(decode);
    if (value === null || typeof value !== 'object') return value;
    const v = value as Record<string, unknown>;
    if (typeof v[TENSOR] === 'string' && Object.keys(v).length === 1) {
      const t = byName.get(v[TENSOR] as string);
      if (!t) throw new AnvilError(`checkpoint ${file}: the metadata refers to tensor '${String(v[TENSOR])}', which the file does not hold`);
      return t;
    }
    if (typeof v[FLOAT] === 'string' && Object.keys(v).length === 1) return Number(v[FLOAT]);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decode(x)]));
  };
  return { checkpoint: decode(parsed.checkpoint) as Record<string, unknown>, shapes, fromAnvil: true };
}
