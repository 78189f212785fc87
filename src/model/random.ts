/**
 * A small seeded pseudo-random generator (mulberry32 over a 32-bit state mixed with splitmix32),
 * used for every random choice of training: initial weights, shuffling, dropout masks. tfjs's own
 * initializers are not used (their seeds were ignored by some versions), so the same seed and data
 * give identical weights on the same backend.
 */
export class Random {
  private state: number;

  constructor(seed: number) {
    // splitmix32 of the seed so that nearby seeds give unrelated streams
    let z = (seed | 0) + 0x9e3779b9;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    this.state = (z ^ (z >>> 16)) >>> 0;
  }

  /** A uniform float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A standard normal draw (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Shuffle `a` in place (Fisher-Yates) and return it. */
  shuffle<T extends { length: number; [i: number]: number }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
    return a;
  }

  /** A generator for a derived purpose (e.g. one per epoch), independent of this one's position. */
  fork(salt: number): Random {
    return new Random(Math.imul(this.seedMix(), 0x01000193) ^ salt);
  }

  private seedMix(): number {
    return Math.floor(this.next() * 4294967296) | 0;
  }
}

/**
 * Glorot (Xavier) uniform initialization (Glorot & Bengio, AISTATS 2010): U(-l, l) with
 * l = sqrt(6 / (fanIn + fanOut)). Returns `[fanIn, fanOut]` row-major.
 */
export function glorotUniform(fanIn: number, fanOut: number, random: Random): Float32Array {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const out = new Float32Array(fanIn * fanOut);
  for (let i = 0; i < out.length; i++) out[i] = (2 * random.next() - 1) * limit;
  return out;
}

/**
 * Seeded initial weights by name for `shapes` listed as (kernel, bias) pairs, each entry
 * `[name, number of values]`: Glorot-uniform kernels `[values / units, units]` (Glorot & Bengio,
 * AISTATS 2010), zero biases `[units]`, drawn in the order given.
 */
export function glorotWeights(
  shapes: readonly (readonly [string, number])[],
  seed: number,
): Map<string, Float32Array> {
  const random = new Random(seed);
  const out = new Map<string, Float32Array>();
  for (let i = 0; i < shapes.length; i += 2) {
    const [kernelName, size] = shapes[i]!;
    const [biasName, units] = shapes[i + 1]!;
    out.set(kernelName, glorotUniform(size / units, units, random));
    out.set(biasName, new Float32Array(units));
  }
  return out;
}
