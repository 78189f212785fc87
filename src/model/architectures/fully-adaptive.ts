import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../errors.js';
import { type LayersExport, LayersGraph } from '../io/layers-graph.js';
import type { Activation } from '../layers/activations.js';
import {
  activateAndDrop,
  addDenseLayer,
  applyDense,
  columnBlock,
  type DenseLayer,
  packColumns,
} from '../layers/dense-stack.js';
import type { ForwardContext } from '../layers/forward-context.js';
import { glorotWeights } from '../random.js';
import {
  type Architecture,
  type ArchitectureContext,
  type JsonSchema,
  type LabelledUnits,
  Network,
  type NetworkSpec,
  type TaskRelation,
  type WarmStartPlan,
} from './architecture.js';
import { checkTrunkOptions, TRUNK_OPTION_SCHEMAS } from './hard-sharing.js';
import { checkedWeights, copyRows, coverageRefusal, vocabularyMap } from './transfer.js';

/**
 * Fully-adaptive feature sharing (Lu, Kumar, Zhai, Cheng, Javidi & Feris, "Fully-adaptive Feature
 * Sharing in Multi-Task Networks with Applications in Person Attribute Classification", CVPR 2017,
 * arXiv 1611.05377): training starts from a thin network, every layer shared by all tasks and one
 * head per task, and widens it layer by layer from the top: each widening round splits the
 * top-most layer still shared by all tasks into branches, one per group of the branches (or, in the
 * first round, the tasks) it feeds, grouping those that are hard or easy on the same units.
 *
 *   x [batch, features] (sparse TF-IDF)
 *     layer 1:  branch b:  h_1b = dropout(act(x W_1b + b_1b))        [batch, hidden[0]]
 *     layer l:  branch b:  h_lb = dropout(act(h_(l-1),parent(b) W_lb + b_lb))   (l = 2 .. L)
 *     task t:   logit_t = h_L,branch(t) w_t + c_t                                (head_t)
 *
 * The structure is `branches[l-1][t]`, the branch (0-based) task t goes through at layer l; at each
 * layer the branches are numbered by their first task in task order. Tasks in one branch at layer
 * l+1 are in one branch at layer l (a tree rooted at the input). Layer 1's branches are column
 * blocks of the one sparse first layer, `[features, B_1 * hidden[0]]`, branch b at columns
 * `[b H1, (b+1) H1)`. `encode` is the identity (with branches at layer 1 the tasks share no
 * representation after it), so the representation of representation-level task weighting is the
 * first layer's pre-activation.
 *
 * Widening (Lu et al., section 3.2 and 3.3): the thin network trains `widen_after` epochs first
 * (the paper widens a trained thin network: before the tasks are learned, whether a unit is hard
 * for a task is noise, and copies of one task measured as little affinity as unrelated tasks);
 * then at the end of epochs widen_after, widen_after + widen_every, ... while a layer is left, one
 * round each, layer l = L, L-1, ..., 1 in turn (layers below l are still one shared trunk, so
 * there is one branch to split):
 * 1. Task affinity on the training units (section 3.3): with ℓ_nt the per-unit training loss
 *    (positive-weighted binary cross-entropy) of task t on unit n and μ_t its mean over the units
 *    where t is labelled, the unit is "hard" for t when ℓ_nt > μ_t. The affinity of tasks i and j
 *    is the fraction of units labelled for both where both are hard or both easy,
 *    A(i,j) = P(e_i = e_j) (1 for i = j; 0.5, chance, when no unit is labelled for both).
 * 2. The children of the split layer (the tasks when l = L, else the branches of layer l+1) get
 *    the paper's branch affinity, complete linkage averaged both ways: for task sets P and Q,
 *    Ã(P,Q) = mean_{i in P} min_{j in Q} A(i,j), A_b(P,Q) = (Ã(P,Q) + Ã(Q,P)) / 2.
 * 3. Groupings for k = C .. 1 groups (C children) by agglomerative clustering that merges the two
 *    groups of largest A_b (the paper leaves the grouping method open; this is deterministic and
 *    gives one grouping per k).
 * 4. The separation objective (section 3.3), k chosen to minimize
 *      L(g_k) = sum over children c of (1 - A_b(c, the other children of its group))  [0 alone]
 *               + complexity_penalty * (k - 1)
 *    (ties: fewer branches), k at most `max_branches`. The paper's complexity term is
 *    (k - 1) L_0 2^{p_l}, growing with the pooling layers p_l above layer l (a new low branch costs
 *    more convolutions); these dense layers have no pooling, so each of the k - 1 new branches
 *    costs `complexity_penalty`, the user's trade-off between fewer branches and less separation
 *    loss (with identical tasks every A = 1 and the loss is 0 for k = 1: one branch for any
 *    penalty; two tasks of affinity a are split when 2 (1 - a) > complexity_penalty).
 * 5. Layer l becomes k branches, each a copy of the old one's weights (the paper initializes a new
 *    branch from the branch it splits from), so the network computes the same function right after
 *    the split and training continues from there. The optimizers' state starts fresh and model
 *    selection restarts (Network.adaptStructure). A round that keeps one branch ends widening (its
 *    one child leaves nothing to split below).
 *
 * The stored model's configuration records the learned structure (`branches`, `widened_layers`),
 * from which `fromWeights` rebuilds it.
 *
 * Relations:
 * - `branching`: per layer l (1..L) and task, value = the number (1-based, per layer, in order of
 *   the branches' first task) of the branch the task goes through at layer l; two tasks with the
 *   same value at layer l share that layer's weights (and every layer below). Heads are per task.
 * - `error_affinity`: layer = the layer of the last widening round, every ordered pair of tasks,
 *   value = A(i,j) of that round (only from the network that trained; absent after a reload).
 *
 * Warm start: from an earlier `fully_adaptive` run with the same hidden layers, tasks and
 * structure (branches per task; e.g. a thin run into a thin start): every branch (first-layer rows by term) and
 * the heads of the tasks of both runs; refused otherwise, naming both structures.
 */

/** Options of fully-adaptive feature sharing. */
export interface FullyAdaptiveConfig {
  /** Sizes of the hidden layers (each branch of layer l has hidden[l-1] units); default [64, 32]. */
  hidden: number[];
  /** Activation of the hidden layers; default 'relu'. */
  activation: Activation;
  /** Dropout after each hidden layer while training, in [0, 1); default 0.3. */
  dropout: number;
  /** Cost of each new branch in the separation objective, >= 0; default 0.5. */
  complexity_penalty: number;
  /** Epochs of training the thin network before the first widening round (at the end of that epoch), >= 1; default 5. */
  widen_after: number;
  /** Epochs between widening rounds, >= 1; default 2. */
  widen_every: number;
  /** Most branches at a layer, >= 1, or null for as many as tasks; default null. */
  max_branches: number | null;
  /** The structure, `[layer][task]` branch (0-based); null: thin (training starts here). Learned. */
  branches: number[][] | null;
  /** Layers widened so far (from the top), 0..L. Learned. */
  widened_layers: number;
}

export const FULLY_ADAPTIVE_DEFAULTS: FullyAdaptiveConfig = {
  hidden: [64, 32],
  activation: 'relu',
  dropout: 0.3,
  complexity_penalty: 0.5,
  widen_after: 5,
  widen_every: 2,
  max_branches: null,
  branches: null,
  widened_layers: 0,
};

const OPTIONS_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    hidden: { ...TRUNK_OPTION_SCHEMAS.hidden, default: FULLY_ADAPTIVE_DEFAULTS.hidden },
    activation: { ...TRUNK_OPTION_SCHEMAS.activation, default: FULLY_ADAPTIVE_DEFAULTS.activation },
    dropout: { ...TRUNK_OPTION_SCHEMAS.dropout, default: FULLY_ADAPTIVE_DEFAULTS.dropout },
    complexity_penalty: {
      type: 'number',
      minimum: 0,
      description:
        'cost of each new branch in the separation objective (Lu et al. 2017): larger, fewer branches; two tasks of error affinity a split when 2 (1 - a) exceeds it',
      default: FULLY_ADAPTIVE_DEFAULTS.complexity_penalty,
    },
    widen_after: {
      type: 'integer',
      minimum: 1,
      description:
        'epochs of training the thin network (every layer shared) before the first widening round: task errors only show affinity once the tasks are learned',
      default: FULLY_ADAPTIVE_DEFAULTS.widen_after,
    },
    widen_every: {
      type: 'integer',
      minimum: 1,
      description: 'epochs between widening rounds (one layer each, from the top)',
      default: FULLY_ADAPTIVE_DEFAULTS.widen_every,
    },
    max_branches: {
      type: ['integer', 'null'],
      minimum: 1,
      description: 'most branches at a layer (null: as many as tasks)',
      default: FULLY_ADAPTIVE_DEFAULTS.max_branches,
    },
    branches: {
      type: ['array', 'null'],
      items: { type: 'array', items: { type: 'integer', minimum: 0 } },
      description:
        'learned structure, recorded in the stored model: per hidden layer, per task, its branch (0-based); leave out (null: start thin)',
      default: FULLY_ADAPTIVE_DEFAULTS.branches,
    },
    widened_layers: {
      type: 'integer',
      minimum: 0,
      description:
        'learned, recorded in the stored model: hidden layers widened so far from the top; leave out',
      default: FULLY_ADAPTIVE_DEFAULTS.widened_layers,
    },
  },
};

/** Renumber one layer's branch ids by first appearance in task order. */
function canonical(ids: readonly number[]): number[] {
  const map = new Map<number, number>();
  return ids.map((b) => {
    if (!map.has(b)) map.set(b, map.size);
    return map.get(b)!;
  });
}

/** The thin structure: every task in branch 0 at every layer. */
function thin(layers: number, tasks: number): number[][] {
  return Array.from({ length: layers }, () => new Array<number>(tasks).fill(0));
}

/**
 * Fill defaults and check; with the tasks known, check `branches` against them (a model training a
 * subset of the run's tasks keeps their columns, renumbered).
 * @throws UsageError naming the option.
 */
function resolveConfig(config: Record<string, unknown>, context?: ArchitectureContext): FullyAdaptiveConfig {
  const known = Object.keys(OPTIONS_SCHEMA.properties as object);
  for (const key of Object.keys(config))
    if (!known.includes(key))
      throw new UsageError(`fully_adaptive has no option '${key}' (options: ${known.join(', ')})`);
  const c = { ...FULLY_ADAPTIVE_DEFAULTS, ...config } as FullyAdaptiveConfig;
  checkTrunkOptions(c);
  if (
    typeof c.complexity_penalty !== 'number' ||
    !(c.complexity_penalty >= 0) ||
    !Number.isFinite(c.complexity_penalty)
  )
    throw new UsageError(
      `complexity_penalty must be a number >= 0, got ${JSON.stringify(c.complexity_penalty)}`,
    );
  if (!Number.isInteger(c.widen_after) || c.widen_after < 1)
    throw new UsageError(`widen_after must be an integer >= 1, got ${JSON.stringify(c.widen_after)}`);
  if (!Number.isInteger(c.widen_every) || c.widen_every < 1)
    throw new UsageError(`widen_every must be an integer >= 1, got ${JSON.stringify(c.widen_every)}`);
  if (c.max_branches !== null && (!Number.isInteger(c.max_branches) || c.max_branches < 1))
    throw new UsageError(
      `max_branches must be an integer >= 1 or null, got ${JSON.stringify(c.max_branches)}`,
    );
  const L = c.hidden.length;
  if (!Number.isInteger(c.widened_layers) || c.widened_layers < 0 || c.widened_layers > L)
    throw new UsageError(
      `widened_layers must be an integer from 0 to ${L}, got ${JSON.stringify(c.widened_layers)}`,
    );
  let branches: number[][] | null = null;
  if (c.branches !== null) {
    const b = c.branches;
    const width = Array.isArray(b) && Array.isArray(b[0]) ? b[0].length : -1;
    if (
      !Array.isArray(b) ||
      b.length !== L ||
      !b.every(
        (row) =>
          Array.isArray(row) && row.length === width && row.every((v) => Number.isInteger(v) && v >= 0),
      )
    )
      throw new UsageError(
        `branches must be ${L} lists (one per hidden layer) of one branch number per task`,
      );
    branches = b.map((row) => [...row]);
    if (context) {
      const all = context.runTasks ?? context.tasks;
      if (width === all.length && all.length !== context.tasks.length) {
        const cols = context.tasks.map((t) => all.indexOf(t));
        branches = branches.map((row) => cols.map((k) => row[k]!));
      } else if (width !== context.tasks.length) {
        throw new UsageError(`branches has ${width} tasks per layer, the model ${context.tasks.length}`);
      }
    }
    branches = branches.map(canonical);
    for (let l = 0; l + 1 < L; l++) {
      const parentOf = new Map<number, number>();
      branches[l + 1]!.forEach((child, t) => {
        const p = parentOf.get(child);
        if (p !== undefined && p !== branches![l]![t])
          throw new UsageError(
            `branches: tasks in one branch at layer ${l + 2} are in different branches at layer ${l + 1}`,
          );
        parentOf.set(child, branches![l]![t]!);
      });
    }
  }
  return {
    hidden: [...c.hidden],
    activation: c.activation,
    dropout: c.dropout,
    complexity_penalty: c.complexity_penalty,
    widen_after: c.widen_after,
    widen_every: c.widen_every,
    max_branches: c.max_branches,
    branches,
    widened_layers: c.widened_layers,
  };
}

/** The resolved structure of a network: branches per layer and task, never null. */
function structureOf(cfg: FullyAdaptiveConfig, tasks: number): number[][] {
  return cfg.branches ?? thin(cfg.hidden.length, tasks);
}

/** Number of branches at each layer. */
function branchCounts(branches: readonly number[][]): number[] {
  return branches.map((row) => Math.max(...row) + 1);
}

/** The parent (branch at layer l-1, 0-based index l-1 - 1) of each branch of layer index `l` >= 1. */
function parents(branches: readonly number[][], l: number): number[] {
  const out: number[] = [];
  branches[l]!.forEach((b, t) => {
    out[b] = branches[l - 1]![t]!;
  });
  return out;
}

/** Names and sizes of the weights, in export order: layer by layer, branch by branch, then the heads. */
function weightShapes(cfg: FullyAdaptiveConfig, inputDim: number, tasks: number): [string, number][] {
  const branches = structureOf(cfg, tasks);
  const counts = branchCounts(branches);
  const sizes = [inputDim, ...cfg.hidden];
  const out: [string, number][] = [];
  for (let l = 1; l <= cfg.hidden.length; l++)
    for (let b = 1; b <= counts[l - 1]!; b++)
      out.push([`branch_${l}_${b}/kernel`, sizes[l - 1]! * sizes[l]!], [`branch_${l}_${b}/bias`, sizes[l]!]);
  for (let t = 1; t <= tasks; t++)
    out.push([`head_${t}/kernel`, sizes[sizes.length - 1]!], [`head_${t}/bias`, 1]);
  return out;
}

/**
 * Task affinity from per-unit errors (Lu et al. 2017, section 3.3): `probabilities` and `labels`
 * `[units x tasks]` row-major (labels 1, 0, NaN unknown), `posWeight [tasks]`. The per-unit loss of
 * task t is `-(w_t y log p + (1 - y) log(1 - p))`, p clipped to [1e-7, 1 - 1e-7]; a unit is hard for
 * t when its loss exceeds t's mean over its labelled units. Returns `A [tasks x tasks]` row-major,
 * A(i,j) = the fraction of units labelled for both where both are hard or both easy (1 on the
 * diagonal, 0.5 when no unit is labelled for both).
 */
export function errorAffinity(
  probabilities: Float32Array,
  labels: Float32Array,
  posWeight: Float32Array,
  tasks: number,
): Float64Array {
  const n = probabilities.length / tasks;
  const hard = new Int8Array(n * tasks).fill(-1);
  for (let t = 0; t < tasks; t++) {
    const loss = new Float64Array(n);
    let sum = 0;
    let count = 0;
    for (let i = 0; i < n; i++) {
      const y = labels[i * tasks + t]!;
      if (y !== 0 && y !== 1) continue;
      const p = Math.min(1 - 1e-7, Math.max(1e-7, probabilities[i * tasks + t]!));
      loss[i] = y === 1 ? -posWeight[t]! * Math.log(p) : -Math.log(1 - p);
      sum += loss[i]!;
      count++;
    }
    const mean = count > 0 ? sum / count : 0;
    for (let i = 0; i < n; i++) {
      const y = labels[i * tasks + t]!;
      if (y === 0 || y === 1) hard[i * tasks + t] = loss[i]! > mean ? 1 : 0;
    }
  }
  const A = new Float64Array(tasks * tasks);
  for (let a = 0; a < tasks; a++) {
    A[a * tasks + a] = 1;
    for (let b = a + 1; b < tasks; b++) {
      let same = 0;
      let both = 0;
      for (let i = 0; i < n; i++) {
        const ea = hard[i * tasks + a]!;
        const eb = hard[i * tasks + b]!;
        if (ea < 0 || eb < 0) continue;
        both++;
        if (ea === eb) same++;
      }
      A[a * tasks + b] = A[b * tasks + a] = both > 0 ? same / both : 0.5;
    }
  }
  return A;
}

/**
 * The branch affinity of two task sets (Lu et al. 2017, section 3.3, complete linkage averaged both
 * ways): `(mean_{i in P} min_{j in Q} A(i,j) + mean_{j in Q} min_{i in P} A(i,j)) / 2`, A
 * `[tasks x tasks]` row-major.
 */
export function branchAffinity(
  A: Float64Array,
  tasks: number,
  P: readonly number[],
  Q: readonly number[],
): number {
  const oneWay = (X: readonly number[], Y: readonly number[]) =>
    X.reduce((s, i) => s + Math.min(...Y.map((j) => A[i * tasks + j]!)), 0) / X.length;
  return (oneWay(P, Q) + oneWay(Q, P)) / 2;
}

/** A grouping of the children of a split layer and its separation objective. */
export interface Grouping {
  /** Group (0-based, numbered by first child) of each child. */
  group: number[];
  /** Number of groups k. */
  k: number;
  /** sum over children of (1 - their branch affinity to the rest of their group). */
  separationLoss: number;
  /** separationLoss + complexityPenalty * (k - 1). */
  objective: number;
}

/**
 * Group the children of a split layer (each a set of task indices) for the separation objective of
 * the file's docstring, steps 2-4: agglomerative merging by largest branch affinity gives one
 * grouping per k; the one of least `separation loss + complexityPenalty (k - 1)` with
 * `k <= maxGroups` is returned (ties: smaller k).
 */
export function chooseGrouping(
  A: Float64Array,
  tasks: number,
  children: readonly (readonly number[])[],
  complexityPenalty: number,
  maxGroups: number,
): Grouping {
  const C = children.length;
  let groups: number[][] = children.map((_, c) => [c]);
  const tasksOf = (g: readonly number[]) => g.flatMap((c) => [...children[c]!]);
  const evaluate = (gs: number[][]): Grouping => {
    const group = new Array<number>(C);
    const ordered = [...gs].sort((a, b) => Math.min(...a) - Math.min(...b));
    ordered.forEach((g, k) => {
      for (const c of g) group[c] = k;
    });
    let separationLoss = 0;
    for (const g of ordered) {
      if (g.length < 2) continue;
      for (const c of g)
        separationLoss += 1 - branchAffinity(A, tasks, children[c]!, tasksOf(g.filter((o) => o !== c)));
    }
    const k = ordered.length;
    return { group, k, separationLoss, objective: separationLoss + complexityPenalty * (k - 1) };
  };
  const candidates: Grouping[] = [evaluate(groups)];
  while (groups.length > 1) {
    let best: [number, number] = [0, 1];
    let bestAffinity = Number.NEGATIVE_INFINITY;
    for (let a = 0; a < groups.length; a++)
      for (let b = a + 1; b < groups.length; b++) {
        const v = branchAffinity(A, tasks, tasksOf(groups[a]!), tasksOf(groups[b]!));
        if (v > bestAffinity) {
          bestAffinity = v;
          best = [a, b];
        }
      }
    const [a, b] = best;
    groups = [...groups.filter((_, i) => i !== a && i !== b), [...groups[a]!, ...groups[b]!]];
    candidates.push(evaluate(groups));
  }
  let chosen: Grouping | null = null;
  for (const g of candidates.sort((x, y) => x.k - y.k))
    if (g.k <= Math.max(1, maxGroups) && (chosen === null || g.objective < chosen.objective)) chosen = g;
  return chosen!;
}

/** The fully-adaptive network (see the file's docstring). */
export class FullyAdaptiveNetwork extends Network {
  readonly architecture = 'fully_adaptive';
  private readonly cfg: FullyAdaptiveConfig;
  private branches: number[][];
  /** Per layer index l >= 1 (layer l+1), its branches' dense layers. */
  private layers: DenseLayer[][] = [];
  private heads: DenseLayer[] = [];
  private lastAffinity: { layer: number; A: Float64Array } | null = null;

  /** @param weights every weight of {@link weightShapes} by name. */
  constructor(spec: NetworkSpec, weights: ReadonlyMap<string, Float32Array>) {
    const cfg = resolveConfig(spec.config);
    const branches = structureOf(cfg, spec.tasks.length);
    const B1 = branchCounts(branches)[0]!;
    const get = (name: string) => weights.get(name)!;
    const blocks = Array.from({ length: B1 }, (_, b) => `branch_1_${b + 1}`);
    const first = packColumns(
      blocks.map((b) => get(`${b}/kernel`)),
      spec.inputDim,
    );
    const bias = new Float32Array(blocks.flatMap((b) => [...get(`${b}/bias`)]));
    // the configuration names the structure even when thin, so the stored model's does
    super({ ...spec, config: { ...cfg, branches: branches.map((row) => [...row]) } }, first, bias);
    this.cfg = { ...cfg, branches };
    this.branches = branches;
    this.install(weights);
  }

  /** The structure: per layer, per task, its branch (0-based). A copy. */
  get structure(): number[][] {
    return this.branches.map((row) => [...row]);
  }

  /** Register the tfjs parameters of the current structure (layers 2.., heads) from `weights`. */
  private install(weights: ReadonlyMap<string, Float32Array>): void {
    const counts = branchCounts(this.branches);
    const sizes = this.cfg.hidden;
    const dense = (name: string, fanIn: number, units: number) =>
      addDenseLayer(this.params, name, fanIn, units, {
        kernel: weights.get(`${name}/kernel`)!,
        bias: weights.get(`${name}/bias`)!,
      });
    this.layers = [];
    for (let l = 2; l <= sizes.length; l++) {
      const row: DenseLayer[] = [];
      for (let b = 1; b <= counts[l - 1]!; b++)
        row.push(dense(`branch_${l}_${b}`, sizes[l - 2]!, sizes[l - 1]!));
      this.layers.push(row);
    }
    const H = sizes[sizes.length - 1]!;
    this.heads = this.tasks.map((_, t) => dense(`head_${t + 1}`, H, 1));
  }

  /** The current weights by export name (the first layer cut into its branches' blocks). */
  private namedWeights(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    const h1 = this.cfg.hidden[0]!;
    const B1 = branchCounts(this.branches)[0]!;
    for (let b = 0; b < B1; b++) {
      out.set(`branch_1_${b + 1}/kernel`, columnBlock(this.first.weights, this.firstWidth, b * h1, h1));
      out.set(`branch_1_${b + 1}/bias`, this.first.bias.slice(b * h1, (b + 1) * h1));
    }
    for (const p of this.params.all) out.set(p.name, this.params.values(p.name));
    return out;
  }

  /** The identity: the representation is the first layer's pre-activation (see the file's docstring). */
  encode(z1: tf.Tensor2D): tf.Tensor2D {
    return z1;
  }

  decode(rep: tf.Tensor2D, _z1: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
    const { activation, dropout } = this.cfg;
    const h1 = this.cfg.hidden[0]!;
    const B1 = branchCounts(this.branches)[0]!;
    let h: tf.Tensor2D[] = [];
    for (let b = 0; b < B1; b++)
      h.push(
        activateAndDrop(B1 === 1 ? rep : tf.slice(rep, [0, b * h1], [-1, h1]), activation, dropout, ctx),
      );
    this.layers.forEach((row, i) => {
      const parent = parents(this.branches, i + 1);
      h = row.map((layer, b) => activateAndDrop(applyDense(h[parent[b]!]!, layer), activation, dropout, ctx));
    });
    const top = this.branches[this.branches.length - 1]!;
    const logits = this.heads.map((head, t) => applyDense(h[top[t]!]!, head));
    return logits.length === 1 ? logits[0]! : tf.concat(logits, 1);
  }

  /**
   * One widening round (see the file's docstring) at the end of epochs widen_after + i widen_every while
   * a layer is left to widen; true when a layer was split.
   */
  override adaptStructure(epoch: number, train: () => LabelledUnits): boolean {
    const L = this.cfg.hidden.length;
    const T = this.tasks.length;
    const { widen_after: after, widen_every: every } = this.cfg;
    if (this.cfg.widened_layers >= L || epoch < after || (epoch - after) % every !== 0) return false;
    const layer = L - this.cfg.widened_layers; // 1-based, the top-most layer shared by all tasks
    const units = train();
    const A = errorAffinity(this.predict(units.x), units.y, units.posWeight, T);
    this.lastAffinity = { layer, A };
    // the children: the tasks at the top layer, else the branches of the layer above
    const childOf = layer === L ? this.tasks.map((_, t) => t) : this.branches[layer]!;
    const C = Math.max(...childOf) + 1;
    const children = Array.from({ length: C }, (_, c) => childOf.flatMap((v, t) => (v === c ? [t] : [])));
    const grouping = chooseGrouping(A, T, children, this.cfg.complexity_penalty, this.cfg.max_branches ?? T);
    this.cfg.widened_layers = grouping.k === 1 ? L : this.cfg.widened_layers + 1;
    this.config.widened_layers = this.cfg.widened_layers;
    if (grouping.k === 1) return false;
    const weights = this.namedWeights();
    const next = this.structure;
    next[layer - 1] = canonical(childOf.map((c) => grouping.group[c]!));
    // every new branch of the split layer copies the one branch it came from
    const counts = branchCounts(next);
    for (let b = 2; b <= counts[layer - 1]!; b++) {
      weights.set(`branch_${layer}_${b}/kernel`, weights.get(`branch_${layer}_1/kernel`)!.slice());
      weights.set(`branch_${layer}_${b}/bias`, weights.get(`branch_${layer}_1/bias`)!.slice());
    }
    this.branches = next;
    this.cfg.branches = next.map((row) => [...row]);
    this.config.branches = next.map((row) => [...row]);
    if (layer === 1) {
      const names = Array.from({ length: counts[0]! }, (_, b) => `branch_1_${b + 1}`);
      this.replaceFirstLayer(
        packColumns(
          names.map((n) => weights.get(`${n}/kernel`)!),
          this.inputDim,
        ),
        new Float32Array(names.flatMap((n) => [...weights.get(`${n}/bias`)!])),
      );
    }
    this.replaceParameters();
    this.install(weights);
    return true;
  }

  /** `branching` per layer and task, and the last round's `error_affinity` (see the file's docstring). */
  override relations(): TaskRelation[] {
    const out: TaskRelation[] = [];
    for (const [l, row] of this.branches.entries())
      for (const [t, b] of row.entries())
        out.push({ kind: 'branching', layer: l + 1, taskA: this.tasks[t]!, taskB: null, value: b + 1 });
    const last = this.lastAffinity;
    if (last) {
      const T = this.tasks.length;
      for (let a = 0; a < T; a++)
        for (let b = 0; b < T; b++)
          out.push({
            kind: 'error_affinity',
            layer: last.layer,
            taskA: this.tasks[a]!,
            taskB: this.tasks[b]!,
            value: last.A[a * T + b]!,
          });
    }
    return out;
  }

  /**
   * Plain tfjs layers: per branch of layer 1 a Dense from the input (`branch_1_b`), per branch of
   * layer l a Dense from its parent (`branch_l_b`), per task a Dense(1) from its top branch
   * (`head_t`), the heads concatenated (`logits`) and a sigmoid (`probabilities`).
   */
  async exportLayers(): Promise<LayersExport> {
    this.assertLive();
    const { activation } = this.cfg;
    const weights = this.namedWeights();
    const g = new LayersGraph(this.inputDim);
    const dense = (from: tf.SymbolicTensor, name: string, act?: Activation) =>
      g.dense(from, {
        name,
        kernel: weights.get(`${name}/kernel`)!,
        bias: weights.get(`${name}/bias`)!,
        ...(act ? { activation: act } : {}),
      });
    const counts = branchCounts(this.branches);
    let h = Array.from({ length: counts[0]! }, (_, b) => dense(g.input, `branch_1_${b + 1}`, activation));
    for (let l = 2; l <= this.cfg.hidden.length; l++) {
      const parent = parents(this.branches, l - 1);
      const below = h;
      h = Array.from({ length: counts[l - 1]! }, (_, b) =>
        dense(below[parent[b]!]!, `branch_${l}_${b + 1}`, activation),
      );
    }
    const top = this.branches[this.branches.length - 1]!;
    const logits = this.tasks.map((_, t) => dense(h[top[t]!]!, `head_${t + 1}`));
    return g.export(g.activation('probabilities', g.concatenate('logits', logits), 'sigmoid'));
  }
}

/** Seeded initial weights by name: Glorot-uniform kernels, zero biases (as hard sharing). */
function initialWeights(
  cfg: FullyAdaptiveConfig,
  inputDim: number,
  tasks: number,
  seed: number,
): Map<string, Float32Array> {
  return glorotWeights(weightShapes(cfg, inputDim, tasks), seed);
}

/** A structure by task name, for comparing two runs' structures (how far widening went does not matter). */
function describeStructure(cfg: FullyAdaptiveConfig, tasks: readonly string[]): string {
  const b = structureOf(cfg, tasks.length);
  return `[${cfg.hidden.join(', ')}] ${b
    .map((row, l) => `layer ${l + 1}: ${row.map((v, t) => `${tasks[t]}=${v + 1}`).join(' ')}`)
    .join('; ')}`;
}

/** The `fully_adaptive` architecture (registered by name in ./index.ts). */
export const fullyAdaptive: Architecture = {
  name: 'fully_adaptive',
  summary:
    'fully-adaptive feature sharing: starts thin, branches layer by layer from the top by task error affinity (Lu et al., CVPR 2017)',
  optionsSchema: OPTIONS_SCHEMA,
  resolveConfig: (config, context) => ({ ...resolveConfig(config, context) }),
  create(spec) {
    const cfg = resolveConfig(spec.config);
    return new FullyAdaptiveNetwork(spec, initialWeights(cfg, spec.inputDim, spec.tasks.length, spec.seed));
  },
  fromWeights(spec, weights) {
    const cfg = resolveConfig(spec.config);
    const checked = checkedWeights(weights, weightShapes(cfg, spec.inputDim, spec.tasks.length));
    return new FullyAdaptiveNetwork(spec, checked);
  },
  warmStart(source, target): WarmStartPlan {
    const from = resolveConfig(source.config);
    const to = resolveConfig(target.config);
    const a = describeStructure(from, source.tasks);
    const b = describeStructure(to, target.tasks);
    const sameTasks = source.tasks.join('\u0000') === target.tasks.join('\u0000');
    if (a !== b || !sameTasks)
      return {
        ok: false,
        reason: `run ${source.runId} has the structure ${a}, this run ${b} (a warm start needs the same tasks and structure)`,
      };
    const map = vocabularyMap(source.vocabulary, target.vocabulary);
    const refusal = coverageRefusal(map, source.runId);
    if (refusal) return refusal;
    const shapes = weightShapes(from, source.vocabulary.length, source.tasks.length);
    const copied = checkedWeights(source.weights, shapes);
    const h1 = to.hidden[0]!;
    return {
      ok: true,
      sharedTerms: map.sharedTerms,
      coverage: map.coverage,
      copied: 'every branch and head (the same structure)',
      apply(network) {
        const width = network.firstWidth;
        const W = network.first.weights.slice();
        const bias = network.first.bias.slice();
        for (let b = 0; b < width / h1; b++) {
          const block = columnBlock(W, width, b * h1, h1);
          copyRows(copied.get(`branch_1_${b + 1}/kernel`)!, block, h1, map);
          for (let r = 0; r < target.vocabulary.length; r++)
            W.set(block.subarray(r * h1, (r + 1) * h1), r * width + b * h1);
          bias.set(copied.get(`branch_1_${b + 1}/bias`)!, b * h1);
        }
        network.first.setWeights(W, bias);
        for (const p of network.params.all) network.params.set(p.name, copied.get(p.name)!);
      },
    };
  },
};
