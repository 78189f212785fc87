import { workerData } from 'node:worker_threads';
import { CONTROL, OP_EXIT, type ThreadKernelName } from './first-layer-threads.js';

/**
 * A worker thread of the sparse first layer (./first-layer-threads.ts): an instance of the shared
 * kernel module on the layer's shared memory, running the part of each call that the main thread
 * hands it through the control block (`Atomics.wait` on its sequence number, `Atomics.notify` on
 * done).
 */
const { module, memory, control } = workerData as {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
};
const kernels = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Record<
  ThreadKernelName,
  (...args: number[]) => void
>;
const ctl = new Int32Array(control);
const floats = new Float32Array(control);
const names: ThreadKernelName[] = ['forward', 'adam', 'adagrad'];
let seen = 0;
for (;;) {
  Atomics.wait(ctl, CONTROL.seq, seen);
  seen = Atomics.load(ctl, CONTROL.seq);
  const op = ctl[CONTROL.op]!;
  if (op === OP_EXIT) break;
  try {
    const args: number[] = [];
    for (let i = 0; i < ctl[CONTROL.intCount]!; i++) args.push(ctl[CONTROL.ints + i]!);
    for (let i = 0; i < ctl[CONTROL.floatCount]!; i++) args.push(floats[CONTROL.floats + i]!);
    kernels[names[op]!](...args);
    ctl[CONTROL.failed] = 0;
  } catch {
    ctl[CONTROL.failed] = 1;
  }
  Atomics.store(ctl, CONTROL.done, seen);
  Atomics.notify(ctl, CONTROL.done);
}
