import * as tf from '@tensorflow/tfjs';

/** The activations a layer may use; the same names as tfjs layers' `activation` (for export). */
export type Activation = 'relu' | 'tanh' | 'sigmoid' | 'elu' | 'linear';

/** Every {@link Activation}, for option schemas and messages. */
export const ACTIVATIONS: readonly Activation[] = ['relu', 'tanh', 'sigmoid', 'elu', 'linear'];

/** `activation(x)`, elementwise, any shape. Inside tf.tidy (or the caller disposes). */
export function activate(x: tf.Tensor, activation: Activation): tf.Tensor {
  switch (activation) {
    case 'relu':
      return tf.relu(x);
    case 'tanh':
      return tf.tanh(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'elu':
      return tf.elu(x);
    case 'linear':
      return x;
  }
}
