import * as tf from '@tensorflow/tfjs';
import type { Activation } from '../layers/activations.js';

/**
 * Export of a network to the standard tfjs layers format (model.json + weight bytes) with no custom
 * layer class: a Sequential Dense stack ({@link exportDenseStack}) or a functional graph of
 * standard layers ({@link LayersGraph}: Dense, Concatenate, Multiply, Add, Activation, Reshape...),
 * so that `tf.loadLayersModel` in Node or a browser computes what `mhmtl predict` computes. The
 * input is the dense TF-IDF vector `[batch, features]`; the sparse first layer is a Dense layer
 * over it. Dropout is the identity at inference and is left out.
 */

/** The tfjs layers format of a network: what `model.json` holds, and the weight bytes. */
export interface LayersExport {
  /** `modelTopology` (a Keras-style Sequential or functional model: no custom layer). */
  modelTopology: object;
  /** One entry per weight in `weightData` order: name, shape, dtype ('float32'). */
  weightSpecs: tf.io.WeightsManifestEntry[];
  /** All weights concatenated, little-endian float32. */
  weightData: Uint8Array;
}

/** Shapes of the weights of a dense stack with layer sizes `sizes` (input, hidden..., output). */
export function shapesOf(sizes: readonly number[]): number[][] {
  const shapes: number[][] = [];
  for (let l = 1; l < sizes.length; l++) shapes.push([sizes[l - 1]!, sizes[l]!], [sizes[l]!]);
  return shapes;
}

/** Serialize a built tfjs model with tf.io.withSaveHandler (no tfjs-node needed), then dispose it. */
async function saveLayersModel(model: tf.LayersModel): Promise<LayersExport> {
  try {
    let saved: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        saved = artifacts;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    if (!saved?.modelTopology || !saved.weightSpecs || !saved.weightData)
      throw new Error('tfjs save gave nothing');
    const data = saved.weightData;
    const bytes = Array.isArray(data)
      ? new Uint8Array(tf.io.concatenateArrayBuffers(data))
      : new Uint8Array(data as ArrayBuffer);
    return {
      modelTopology: saved.modelTopology as object,
      weightSpecs: saved.weightSpecs,
      weightData: bytes,
    };
  } finally {
    model.dispose();
  }
}

/**
 * The plain tfjs layers model of a dense stack: Dense(sizes[1], activation, name 'shared_1') over
 * an input of sizes[0] features, ..., Dense(sizes[last], sigmoid, name 'heads'), with the given
 * weights (kernel `[in, out]`, bias `[out]` per layer), as a Sequential model.
 */
export async function exportDenseStack(
  sizes: readonly number[],
  activation: Activation,
  weights: readonly Float32Array[],
): Promise<LayersExport> {
  const model = tf.sequential();
  for (let l = 1; l < sizes.length; l++) {
    const last = l === sizes.length - 1;
    model.add(
      tf.layers.dense({
        units: sizes[l]!,
        activation: last ? 'sigmoid' : activation,
        name: last ? 'heads' : `shared_${l}`,
        kernelInitializer: 'zeros',
        ...(l === 1 ? { inputShape: [sizes[0]!] } : {}),
      }),
    );
  }
  const shapes = shapesOf(sizes);
  try {
    tf.tidy(() => model.setWeights(weights.map((w, i) => tf.tensor(w, shapes[i]!))));
  } catch (error) {
    model.dispose();
    throw error;
  }
  return saveLayersModel(model);
}

/** Options of {@link LayersGraph.dense}. */
export interface DenseExportOptions {
  name: string;
  /** `[in, units]` row-major. */
  kernel: Float32Array;
  /** `[units]`, or null for a layer without bias. */
  bias: Float32Array | null;
  activation?: Activation | 'softmax';
}

/**
 * A functional tfjs model of standard layers, built node by node with the weights each layer gets,
 * then serialized ({@link export}). Layer names must be unique; every weight is float32.
 *
 *   const g = new LayersGraph(inputDim);
 *   const h = g.dense(g.input, { name: 'tower_1', kernel, bias, activation: 'relu' });
 *   const out = g.concatenate('heads', [a, b]);
 *   const exported = await g.export(out);
 */
export class LayersGraph {
  readonly input: tf.SymbolicTensor;
  private readonly pending: { layer: tf.layers.Layer; weights: tf.Tensor[] }[] = [];
  private readonly names = new Set<string>();

  /** @param inputDim features of the dense input vector `[batch, inputDim]`. */
  constructor(readonly inputDim: number) {
    this.input = tf.input({ shape: [inputDim], name: 'features' });
  }

  private named(name: string): string {
    if (this.names.has(name)) throw new RangeError(`layer name ${name} is used twice`);
    this.names.add(name);
    return name;
  }

  /** Dense(units) over `from` (`[batch, in]`): `activation(from kernel + bias)`. @throws RangeError on a size mismatch. */
  dense(from: tf.SymbolicTensor, options: DenseExportOptions): tf.SymbolicTensor {
    const inDim = from.shape[from.shape.length - 1] as number;
    const units = options.kernel.length / inDim;
    if (!Number.isInteger(units) || (options.bias && options.bias.length !== units))
      throw new RangeError(`${options.name}: kernel of ${options.kernel.length} values over ${inDim} inputs`);
    const layer = tf.layers.dense({
      units,
      name: this.named(options.name),
      activation: options.activation ?? 'linear',
      useBias: options.bias !== null,
      kernelInitializer: 'zeros',
    });
    const out = layer.apply(from) as tf.SymbolicTensor;
    const weights: tf.Tensor[] = [tf.tensor2d(options.kernel, [inDim, units])];
    if (options.bias) weights.push(tf.tensor1d(options.bias));
    this.pending.push({ layer, weights });
    return out;
  }

  /** Concatenate along the last axis. */
  concatenate(name: string, inputs: tf.SymbolicTensor[]): tf.SymbolicTensor {
    if (inputs.length === 1) return inputs[0]!;
    return tf.layers.concatenate({ name: this.named(name) }).apply(inputs) as tf.SymbolicTensor;
  }

  /** Elementwise product of same-shaped inputs. */
  multiply(name: string, inputs: tf.SymbolicTensor[]): tf.SymbolicTensor {
    return tf.layers.multiply({ name: this.named(name) }).apply(inputs) as tf.SymbolicTensor;
  }

  /** Elementwise sum of same-shaped inputs. */
  add(name: string, inputs: tf.SymbolicTensor[]): tf.SymbolicTensor {
    if (inputs.length === 1) return inputs[0]!;
    return tf.layers.add({ name: this.named(name) }).apply(inputs) as tf.SymbolicTensor;
  }

  /** An activation layer. */
  activation(name: string, from: tf.SymbolicTensor, activation: Activation | 'softmax'): tf.SymbolicTensor {
    if (activation === 'linear') return from;
    return tf.layers.activation({ name: this.named(name), activation }).apply(from) as tf.SymbolicTensor;
  }

  /** Build the model with outputs `output` (`[batch, tasks]` probabilities) and serialize it. */
  async export(output: tf.SymbolicTensor): Promise<LayersExport> {
    const model = tf.model({ inputs: this.input, outputs: output, name: 'mhmtl' });
    try {
      for (const p of this.pending) p.layer.setWeights(p.weights);
    } catch (error) {
      model.dispose();
      throw error;
    } finally {
      for (const p of this.pending) for (const w of p.weights) w.dispose();
    }
    return saveLayersModel(model);
  }
}

/**
 * Weight arrays (float32) from a {@link LayersExport}'s specs and bytes, in spec order.
 * @throws Error on a non-float32 weight or a byte count that does not match the specs.
 */
export function decodeWeights(
  weightSpecs: readonly tf.io.WeightsManifestEntry[],
  data: Uint8Array,
): Float32Array[] {
  const out: Float32Array[] = [];
  let offset = 0;
  for (const spec of weightSpecs) {
    if (spec.dtype !== 'float32') throw new Error(`weight ${spec.name}: dtype ${spec.dtype} is not float32`);
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const bytes = data.slice(offset, offset + 4 * n);
    if (bytes.length !== 4 * n)
      throw new Error(`weight ${spec.name}: ${bytes.length} bytes, expected ${4 * n}`);
    out.push(new Float32Array(bytes.buffer, bytes.byteOffset, n));
    offset += 4 * n;
  }
  if (offset !== data.length) throw new Error(`weights: ${data.length - offset} bytes left over`);
  return out;
}

/**
 * The weights of an export by layer-weight name (`shared_1/kernel`, `heads/bias`...), as
 * {@link decodeWeights} gives them.
 */
export function namedWeights(
  weightSpecs: readonly tf.io.WeightsManifestEntry[],
  data: Uint8Array,
): Map<string, Float32Array> {
  const arrays = decodeWeights(weightSpecs, data);
  return new Map(weightSpecs.map((s, i) => [s.name, arrays[i]!]));
}
