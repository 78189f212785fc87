/**
 * A small seeded pseudo-random generator for the evaluation stage (splits, bootstrap): mulberry32
 * (Tommy Ettinger's 32-bit generator), seeded through splitmix32 so that neighbouring seeds give
 * unrelated streams. Same seed, same sequence, on every platform. Not for cryptography.
 */
export class SeededRandom {
  #state: number;

  /** @param seed any integer (taken modulo 2^32); `salt` derives independent streams from one seed. */
  constructor(seed: number, salt = 0) {
    let z = (Math.trunc(seed) + Math.imul(salt + 1, 0x9e3779b9)) >>> 0;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    this.#state = (z ^ (z >>> 16)) >>> 0;
  }

  /** A uniform number in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Shuffle `array` in place (Fisher-Yates) and return it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = array[i];
      array[i] = array[j];
      array[j] = t;
    }
    return array;
  }
}
