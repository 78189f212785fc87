import * as tf from '@tensorflow/tfjs';
import type { CsrMatrix } from '../../features/csr.js';
import type { LayersExport } from '../io/layers-graph.js';
import { ForwardContext } from '../layers/forward-context.js';
import { type FirstLayerRegularization, SparseDenseLayer } from '../layers/sparse-dense.js';
import type { OptimizerConfig } from '../optimizers.js';
import { ParameterSet } from '../parameters.js';
import type { ModelTopologyJson } from '../types.js';

/**
 * The contract every network architecture fits (LibMTL's `architecture/` folder: an abstract
 * base, one architecture a file, chosen by name in the configuration). An architecture owns, in
 * its own file: its options and their JSON Schema, its forward pass (the backward pass is tfjs's
 * automatic differentiation of it), its parameter groups, its regularization, its warm start from
 * an earlier run of the same architecture (or a refusal), its export to plain tfjs layers, and
 * what it learned about how the tasks relate. The training loop (../trainer.ts) and the task
 * weighting methods (../weighting/) are the same for every architecture.
 *
 * A network reads the sparse TF-IDF batch through ONE sparse first layer (../layers/sparse-dense.ts,
 * the WebAssembly kernel or its JavaScript twin): an architecture with several first layers
 * (towers, experts, gates) packs them side by side as column blocks of one `[features, firstWidth]`
 * matrix, so a step costs O(nnz x firstWidth) and the kernel's speed carries over. Everything after
 * the first layer's pre-activation `z1 [batch, firstWidth]` is tfjs, in two parts:
 *
 *   encode(z1)      -> rep    [batch, repWidth]   the representation the tasks share
 *   decode(rep, z1) -> logits [batch, tasks]      the task-specific part (heads, towers, gates)
 *
 * The split point is what representation-level task weighting methods (PCGrad, GradNorm) take
 * per-task gradients against, as LibMTL's `rep_grad`: an architecture with a shared trunk puts it at
 * the trunk's output; one without (towers, cross-stitch, sluice) leaves `encode` the identity, and
 * the representation is then the first layer's pre-activation.
 */

/** What a network is built from. */
export interface NetworkSpec {
  /** Number of input features (the vocabulary size, CSR `cols`). */
  inputDim: number;
  /** The tasks, one output (logit) each, in output order: main and auxiliary. */
  tasks: readonly string[];
  /** The auxiliary subset of `tasks`. */
  auxTasks: readonly string[];
  /** The architecture's options, resolved by {@link Architecture.resolveConfig}. */
  config: Record<string, unknown>;
  /** Optimizer of the sparse first layer's lazy update (the tfjs parameters get theirs from the trainer). */
  optimizer: OptimizerConfig;
  /** Seed of the initial weights. */
  seed: number;
}

/** One learned relation between two tasks (or a task's place in a structure), for mhmtl.task_relations. */
export interface TaskRelation {
  /** What is measured, e.g. `cross_stitch_alpha`, `tower_distance`, `gate_mean`, `branching`. */
  kind: string;
  /** The layer (1-based) it belongs to, or null when it is not per layer. */
  layer: number | null;
  taskA: string;
  /** The second task, or null for a per-task value. */
  taskB: string | null;
  value: number;
}

/** The training units a structure change may look at ({@link Network.adaptStructure}). */
export interface LabelledUnits {
  /** Features of the training units, `[units, features]`. */
  x: CsrMatrix;
  /** Their labels, `[units x tasks]` row-major in the network's task order: 1, 0, or NaN = unknown. */
  y: Float32Array;
  /** The training loss's positive-class weight per task, `[tasks]`. */
  posWeight: Float32Array;
}

/** An earlier run's model of some architecture, as a source of initial weights (transfer learning). */
export interface WarmStartSource {
  runId: number;
  architecture: string;
  /** The source's resolved architecture options. */
  config: Record<string, unknown>;
  tasks: readonly string[];
  /** The source feature space's vocabulary, in column order. */
  vocabulary: readonly string[];
  /** The source's exported weights by name (`shared_1/kernel`, ...), as io/layers-graph.ts namedWeights gives. */
  weights: ReadonlyMap<string, Float32Array>;
}

/** The network a warm start would initialize. */
export interface WarmStartTarget {
  config: Record<string, unknown>;
  tasks: readonly string[];
  vocabulary: readonly string[];
}

/** A warm start that can be applied, or why not. */
export type WarmStartPlan =
  | {
      ok: true;
      /** Vocabulary terms of the target found in the source. */
      sharedTerms: number;
      /** sharedTerms / target vocabulary size. */
      coverage: number;
      /** What is copied, for the run's note (e.g. 'the shared layers'). */
      copied: string;
      /** Overwrite the fresh weights of `network` (a new network of the target) with the source's. */
      apply(network: Network): void;
    }
  | { ok: false; reason: string };

/** Convert a network's export to the artifact's `topology` (model.json minus the weight paths). */
export function topologyJson(exported: LayersExport): ModelTopologyJson {
  return {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
    convertedBy: null,
    modelTopology: exported.modelTopology,
    weightSpecs: exported.weightSpecs,
  };
}

/**
 * A trainable network: the sparse first layer, the tfjs parameters, and the forward pass split at
 * the shared representation. Subclasses (one per architecture) register their parameters in
 * {@link params} and implement {@link encode}, {@link decode} and {@link exportLayers}; they may
 * add a penalty, first-layer regularization, an end-of-epoch update and learned task relations.
 * Snapshots, restore, prediction and disposal are generic.
 */
export abstract class Network {
  abstract readonly architecture: string;
  readonly inputDim: number;
  readonly tasks: readonly string[];
  readonly auxTasks: readonly string[];
  /** The architecture's options with defaults filled in (JSON). */
  readonly config: Record<string, unknown>;
  private firstLayer: SparseDenseLayer;
  private parameterSet = new ParameterSet();
  private readonly firstOptimizer: OptimizerConfig;
  private readonly firstKernel: 'auto' | 'js';
  private disposed = false;

  /**
   * @param firstWeights initial W of the packed first layer, `[inputDim * firstWidth]`;
   * @param firstBias initial b, `[firstWidth]`.
   * @param firstKernel the sparse kernel of the first layer ('auto': the default; 'js' forces the
   *   JavaScript kernel; both support every {@link FirstLayerRegularization} term).
   */
  protected constructor(
    spec: NetworkSpec,
    firstWeights: Float32Array,
    firstBias: Float32Array,
    firstKernel: 'auto' | 'js' = 'auto',
  ) {
    this.inputDim = spec.inputDim;
    this.tasks = [...spec.tasks];
    this.auxTasks = [...spec.auxTasks];
    this.config = { ...spec.config };
    this.firstOptimizer = spec.optimizer;
    this.firstKernel = firstKernel;
    this.firstLayer = new SparseDenseLayer(
      spec.optimizer,
      spec.inputDim,
      firstBias.length,
      firstWeights,
      firstBias,
      firstKernel,
    );
  }

  /** The packed sparse first layer: `W [inputDim, firstWidth]`, `b [firstWidth]`. */
  get first(): SparseDenseLayer {
    return this.firstLayer;
  }

  /** The tfjs parameters, in registration order, with their groups. */
  get params(): ParameterSet {
    return this.parameterSet;
  }

  /**
   * For {@link adaptStructure}: a new packed first layer (another width allowed), `weights
   * [inputDim * width]`, `bias [width]`, with the same optimizer and kernel and fresh optimizer state.
   */
  protected replaceFirstLayer(weights: Float32Array, bias: Float32Array): void {
    this.firstLayer = new SparseDenseLayer(
      this.firstOptimizer,
      this.inputDim,
      bias.length,
      weights,
      bias,
      this.firstKernel,
    );
  }

  /**
   * For {@link adaptStructure}: dispose every tfjs parameter and start an empty set, which the
   * caller fills with the new structure's parameters (registration order = snapshot order).
   */
  protected replaceParameters(): ParameterSet {
    this.parameterSet.dispose();
    this.parameterSet = new ParameterSet();
    return this.parameterSet;
  }

  /** Width of the packed first layer. */
  get firstWidth(): number {
    return this.first.width;
  }

  /**
   * The shared part: the first layer's pre-activation `z1 [batch, firstWidth]` -> the
   * representation the tasks share `[batch, repWidth]` (the identity when the architecture has no
   * shared trunk). Dropout from `ctx`. Inside tf.tidy / a gradient tape.
   */
  abstract encode(z1: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D;

  /**
   * The task-specific part: the representation (and, for shortcuts from the input, `z1`) -> one
   * logit per task, `[batch, tasks]` in {@link tasks} order. Inside tf.tidy / a gradient tape.
   */
  abstract decode(rep: tf.Tensor2D, z1: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D;

  /**
   * The architecture's own penalty on its tfjs parameters (a coupling, an orthogonality or a prior
   * term), a scalar added to the loss, or null. The trainer adds `training.l2` times the squared
   * norm of the parameters registered with `decay` by itself. Inside a gradient tape.
   */
  penalty(): tf.Scalar | null {
    return null;
  }

  /**
   * What the sparse first layer's update adds to the gradient of each touched row (L2 toward zero
   * from `training.l2`, plus e.g. a coupling of packed towers). Default: `decay = 2 * l2`, the
   * gradient of `l2 * |W|^2` on the touched rows.
   */
  firstLayerRegularization(l2: number): FirstLayerRegularization {
    return { decay: 2 * l2 };
  }

  /** Called by the trainer after every epoch (e.g. a closed-form update of a task covariance). */
  endEpoch(_epoch: number): void {}

  /**
   * Called by the trainer after {@link endEpoch} and before the epoch's dev scores: the network may
   * change its structure here (e.g. branch a layer, as fully-adaptive feature sharing widens), and
   * returns true when it did. It must then (1) have replaced what changed through
   * {@link replaceFirstLayer} / {@link replaceParameters}, and (2) describe the new structure in
   * {@link config}, so that the stored model's configuration rebuilds it ({@link Architecture.fromWeights}).
   * The trainer then builds new optimizers for the new parameter groups (their state starts fresh)
   * and restarts model selection (a snapshot of the old structure cannot be restored into the new
   * one: the epochs before are no longer candidates). `train()` gives the training units (built on
   * the first call). Default: never changes (false).
   */
  adaptStructure(_epoch: number, _train: () => LabelledUnits): boolean {
    return false;
  }

  /**
   * What the trained network says about how its tasks relate (mhmtl.task_relations); none by
   * default. `x`: units to average relations that depend on the input over (e.g. MMoE's gate
   * weights, which differ from unit to unit; the caller passes the training units); an
   * architecture whose relations are functions of its weights alone ignores it, and one whose
   * relations need it returns only what it can without it.
   */
  relations(_x?: CsrMatrix): TaskRelation[] {
    return [];
  }

  /** The equivalent plain tfjs layers model (no custom class), as model.json parts + bytes. */
  abstract exportLayers(): Promise<LayersExport>;

  /** Logits `[batch, tasks]` of the whole forward pass. Inside tf.tidy. */
  forward(z1: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
    return this.decode(this.encode(z1, ctx), z1, ctx);
  }

  /** Probabilities (sigmoid of the logits), `[units x tasks]` row-major; no dropout. @throws Error on a feature-count mismatch. */
  predict(x: CsrMatrix): Float32Array {
    this.assertLive();
    if (x.cols !== this.inputDim) throw new Error(`input has ${x.cols} features, network ${this.inputDim}`);
    const tasks = this.tasks.length;
    const out = new Float32Array(x.rows * tasks);
    const chunk = 1024;
    for (let start = 0; start < x.rows; start += chunk) {
      const end = Math.min(x.rows, start + chunk);
      const z1 = this.first.forward(sliceRows(x, start, end));
      const probs = tf.tidy(() =>
        tf.sigmoid(this.forward(tf.tensor2d(z1, [end - start, this.firstWidth]), ForwardContext.inference())),
      );
      out.set(probs.dataSync() as Float32Array, start * tasks);
      probs.dispose();
    }
    return out;
  }

  /** A copy of every weight: `[W, b]` of the first layer, then the tfjs parameters in registration order. */
  snapshot(): Float32Array[] {
    this.assertLive();
    return [this.first.weights.slice(), this.first.bias.slice(), ...this.params.snapshot()];
  }

  /** Set every weight from a {@link snapshot}. @throws RangeError on a size mismatch. */
  restore(weights: readonly Float32Array[]): void {
    this.assertLive();
    this.first.setWeights(weights[0]!, weights[1]!);
    this.params.restore(weights.slice(2));
  }

  /** Free the tfjs variables and stop the first layer's worker threads, if any. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.params.dispose();
    this.first.dispose();
  }

  /** @throws Error when the network was disposed. */
  protected assertLive(): void {
    if (this.disposed) throw new Error('network used after dispose()');
  }
}

/** A JSON Schema object (draft-07), as Ajv takes it. */
export type JsonSchema = Record<string, unknown>;

/** What {@link Architecture.resolveConfig} may check options against. */
export interface ArchitectureContext {
  tasks: readonly string[];
  auxTasks: readonly string[];
  /**
   * Every task of the run, when this model trains a subset of them (the baselines `mtl_no_aux`
   * and `stl:<task>` share the run's model options): an option may name any of these tasks, and
   * resolveConfig drops what concerns the tasks this model does not train. Absent: `tasks`.
   */
  runTasks?: readonly string[];
}

/** An architecture: its options, how to build a fresh network, rebuild a trained one, warm-start one. */
export interface Architecture {
  readonly name: string;
  /** One line: what it is and its source (paper, year), for --help and errors. */
  readonly summary: string;
  /**
   * JSON Schema of its options: the properties of a pipeline's `model` block besides
   * `architecture` (additionalProperties false). The pipeline schema and `--help` take them from here.
   */
  readonly optionsSchema: JsonSchema;
  /**
   * Fill the defaults of the options and check what a schema cannot (e.g. a task name among the
   * tasks). With `context` omitted, checks that need the tasks are skipped.
   * @throws UsageError naming the option on a bad value.
   */
  resolveConfig(config: Record<string, unknown>, context?: ArchitectureContext): Record<string, unknown>;
  /** A new network with seeded initial weights. */
  create(spec: NetworkSpec): Network;
  /** A network with the weights of an export (as io/layers-graph.ts namedWeights gives them). @throws Error on missing or mis-sized weights. */
  fromWeights(spec: NetworkSpec, weights: ReadonlyMap<string, Float32Array>): Network;
  /** Whether and how an earlier run's model of this architecture can initialize a new network. */
  warmStart(source: WarmStartSource, target: WarmStartTarget): WarmStartPlan;
}

/** Rows `[start, end)` of a CSR matrix, sharing its buffers (no copy). */
export function sliceRows(x: CsrMatrix, start: number, end: number): CsrMatrix {
  const base = x.indptr[start]!;
  const indptr = new Int32Array(end - start + 1);
  for (let i = start; i <= end; i++) indptr[i - start] = x.indptr[i]! - base;
  const stop = x.indptr[end]!;
  return {
    rows: end - start,
    cols: x.cols,
    indptr,
    indices: x.indices.subarray(base, stop),
    values: x.values.subarray(base, stop),
  };
}
