import * as tf from '@tensorflow/tfjs';

/**
 * Workarounds for the tfjs wasm backend (4.22), in one place. Measured on this machine
 * (STACK.md): a `BatchMatMul` with `transposeA`/`transposeB` runs 15-25x slower than an explicit
 * `Transpose` followed by a plain multiply, and every backward pass of a matMul uses transposed
 * multiplies. `UnsortedSegmentSum` (the gradient of `tf.gather`) is not registered on wasm at
 * all: the model never differentiates through `tf.gather` (its sparse first layer is computed
 * outside tfjs, see architectures/hard-sharing.ts), so no workaround is needed beyond that rule.
 */

let installed = false;

/**
 * Replace the wasm `BatchMatMul` kernel by one that transposes its operands explicitly (wasm
 * `Transpose` kernel) and then calls the original kernel without transpose flags. Every tf.matMul,
 * including those inside gradients and tf.layers, then takes the fast path. Idempotent; a no-op
 * when the wasm backend is not registered.
 */
export function installWasmWorkarounds(): void {
  if (installed) return;
  const original = tf.getKernel('BatchMatMul', 'wasm');
  const transposeKernel = tf.getKernel('Transpose', 'wasm');
  if (!original || !transposeKernel) return;
  const originalFunc = original.kernelFunc;
  const transposeFunc = transposeKernel.kernelFunc;
  const kernelFunc: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const { transposeA, transposeB } = (attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
    if (!transposeA && !transposeB) return originalFunc({ inputs, backend, attrs });
    const wasmBackend = backend as { disposeData(dataId: object): void };
    const temporaries: tf.TensorInfo[] = [];
    const swapLast = (t: tf.TensorInfo): tf.TensorInfo => {
      const rank = t.shape.length;
      const perm = [...Array(rank).keys()];
      perm[rank - 2] = rank - 1;
      perm[rank - 1] = rank - 2;
      const out = transposeFunc({ inputs: { x: t }, backend, attrs: { perm } }) as tf.TensorInfo;
      temporaries.push(out);
      return out;
    };
    const a = transposeA ? swapLast(inputs.a as tf.TensorInfo) : inputs.a;
    const b = transposeB ? swapLast(inputs.b as tf.TensorInfo) : inputs.b;
    try {
      return originalFunc({
        inputs: { ...inputs, a, b },
        backend,
        attrs: { ...attrs, transposeA: false, transposeB: false },
      });
    } finally {
      for (const t of temporaries) wasmBackend.disposeData(t.dataId);
    }
  };
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({ ...original, kernelFunc });
  installed = true;
}

/** Whether {@link installWasmWorkarounds} has replaced the wasm BatchMatMul kernel. */
export function wasmWorkaroundsInstalled(): boolean {
  return installed;
}

/**
 * `a x b` with optional transposes, `[m, k] x [k, n] -> [m, n]` after the transposes. On wasm the
 * operands are transposed explicitly before a plain multiply (see module docs); elsewhere this is
 * `tf.matMul`. Equal to `tf.matMul(a, b, transposeA, transposeB)` within float32 rounding.
 */
export function matMul(a: tf.Tensor2D, b: tf.Tensor2D, transposeA = false, transposeB = false): tf.Tensor2D {
  if (tf.getBackend() !== 'wasm' || (!transposeA && !transposeB))
    return tf.matMul(a, b, transposeA, transposeB);
  return tf.tidy(() => tf.matMul(transposeA ? tf.transpose(a) : a, transposeB ? tf.transpose(b) : b));
}
