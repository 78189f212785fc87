import * as tf from '@tensorflow/tfjs';
import type { Random } from '../random.js';

/**
 * What a network's forward pass needs besides its parameters: whether it is training (dropout on)
 * and the dropout masks of the step. Masks are drawn from the training loop's seeded generator in
 * the order the forward pass asks for them, and replayed in the same order when the same step's
 * forward pass is evaluated again (the representation-level weighting methods differentiate the
 * network task by task), so every evaluation of one step sees the same masks.
 */
export class ForwardContext {
  private readonly masks: Float32Array[] = [];
  private next = 0;

  /**
   * @param random the dropout generator (null at inference: no dropout).
   */
  constructor(private readonly random: Random | null) {}

  /** A context for inference: no dropout. */
  static inference(): ForwardContext {
    return new ForwardContext(null);
  }

  /** True while training (dropout applies). */
  get training(): boolean {
    return this.random !== null;
  }

  /** Replay this step's masks from the first one (for another evaluation of the same forward pass). */
  replay(): void {
    this.next = 0;
  }

  /** How many masks the evaluation so far has used (a point to {@link replayFrom}). */
  get position(): number {
    return this.next;
  }

  /** Replay this step's masks from position `position` (e.g. the task-specific part only). */
  replayFrom(position: number): void {
    this.next = position;
  }

  /**
   * Inverted dropout (Srivastava et al., JMLR 2014) of `x` `[batch, width]` at rate `rate`: each
   * entry is kept with probability 1 - rate and scaled by 1 / (1 - rate). The identity at inference
   * or at rate 0. The mask is drawn row-major from the generator, one uniform number per entry.
   * Inside tf.tidy.
   */
  dropout(x: tf.Tensor2D, rate: number): tf.Tensor2D {
    if (this.random === null || rate === 0) return x;
    let mask = this.masks[this.next];
    if (mask === undefined) {
      const [rows, width] = x.shape;
      mask = new Float32Array(rows * width);
      const keep = 1 / (1 - rate);
      for (let i = 0; i < mask.length; i++) mask[i] = this.random.next() < rate ? 0 : keep;
      this.masks.push(mask);
    }
    this.next++;
    return tf.mul(x, tf.tensor2d(mask, x.shape));
  }
}
