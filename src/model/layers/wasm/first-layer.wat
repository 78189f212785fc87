;; The sparse first layer's inner loops (embedding-bag forward, per-row gradient and lazy Adam /
;; Adagrad update) in WebAssembly with 128-bit SIMD: four float32 lanes per instruction, where
;; V8 runs the equivalent JavaScript loops one double at a time.
;;
;; Compiled by scripts/build-wasm.mjs (wabt) into dist/model/layers/wasm/first-layer.wasm and driven
;; by src/model/layers/wasm/wasm-first-layer.ts, which also holds the reference semantics: each
;; function computes exactly what the JavaScript kernels of src/model/layers/embedding-bag.ts and
;; src/model/optimizers.ts compute, in float32 arithmetic (so results differ from them by float32
;; rounding only; the summation order is fixed, so results are deterministic).
;;
;; Conventions: every pointer is a byte offset into the imported memory; matrices are row-major
;; float32; `width` is the row length in floats (any positive value: a scalar loop handles the
;; last width mod 4 lanes); CSR matrices are (indptr i32[rows + 1], indices i32[nnz],
;; values f32[nnz]).
(module
  (import "env" "memory" (memory 1))

  ;; out[i, :] = bias + sum over k in [indptr[i], indptr[i + 1]) of values[k] * w[indices[k], :]
  ;; for i in [0, rows): the embedding-bag, i.e. a Dense layer over the sparse input.
  (func (export "forward")
    (param $rows i32) (param $indptr i32) (param $indices i32) (param $values i32)
    (param $w i32) (param $bias i32) (param $width i32) (param $out i32)
    (local $i i32) (local $k i32) (local $end i32) (local $z i32) (local $a i32)
    (local $h i32) (local $bytes i32) (local $vec i32) (local $v f32) (local $vv v128)
    (local $a0 i32) (local $a1 i32) (local $a2 i32) (local $a3 i32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local.set $bytes (i32.shl (local.get $width) (i32.const 2)))
    (local.set $vec (i32.and (local.get $bytes) (i32.const -16)))
    (block $rows_done
      (loop $rows_loop
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $rows)))
        (local.set $z (i32.add (local.get $out) (i32.mul (local.get $i) (local.get $bytes))))
        (memory.copy (local.get $z) (local.get $bias) (local.get $bytes))
        (local.set $k (i32.load (i32.add (local.get $indptr) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $end
          (i32.load (i32.add (local.get $indptr) (i32.shl (i32.add (local.get $i) (i32.const 1)) (i32.const 2)))))
        ;; four entries at a time: one load and store of the output row per four weight rows,
        ;; and four independent streams of weight rows in flight
        (block $quads_done
          (loop $quads_loop
            (br_if $quads_done (i32.gt_u (i32.add (local.get $k) (i32.const 4)) (local.get $end)))
            (local.set $v0 (f32x4.splat (f32.load (i32.add (local.get $values) (i32.shl (local.get $k) (i32.const 2))))))
            (local.set $v1 (f32x4.splat (f32.load offset=4 (i32.add (local.get $values) (i32.shl (local.get $k) (i32.const 2))))))
            (local.set $v2 (f32x4.splat (f32.load offset=8 (i32.add (local.get $values) (i32.shl (local.get $k) (i32.const 2))))))
            (local.set $v3 (f32x4.splat (f32.load offset=12 (i32.add (local.get $values) (i32.shl (local.get $k) (i32.const 2))))))
            (local.set $a0 (i32.add (local.get $w) (i32.mul (i32.load (i32.add (local.get $indices) (i32.shl (local.get $k) (i32.const 2)))) (local.get $bytes))))
            (local.set $a1 (i32.add (local.get $w) (i32.mul (i32.load offset=4 (i32.add (local.get $indices) (i32.shl (local.get $k) (i32.const 2)))) (local.get $bytes))))
            (local.set $a2 (i32.add (local.get $w) (i32.mul (i32.load offset=8 (i32.add (local.get $indices) (i32.shl (local.get $k) (i32.const 2)))) (local.get $bytes))))
            (local.set $a3 (i32.add (local.get $w) (i32.mul (i32.load offset=12 (i32.add (local.get $indices) (i32.shl (local.get $k) (i32.const 2)))) (local.get $bytes))))
            (local.set $h (i32.const 0))
            (block $qvec_done
              (loop $qvec_loop
                (br_if $qvec_done (i32.ge_u (local.get $h) (local.get $vec)))
                (v128.store (i32.add (local.get $z) (local.get $h))
                  (f32x4.add
                    (v128.load (i32.add (local.get $z) (local.get $h)))
                    (f32x4.add
                      (f32x4.add
                        (f32x4.mul (local.get $v0) (v128.load (i32.add (local.get $a0) (local.get $h))))
                        (f32x4.mul (local.get $v1) (v128.load (i32.add (local.get $a1) (local.get $h)))))
                      (f32x4.add
                        (f32x4.mul (local.get $v2) (v128.load (i32.add (local.get $a2) (local.get $h))))
                        (f32x4.mul (local.get $v3) (v128.load (i32.add (local.get $a3) (local.get $h))))))))
                (local.set $h (i32.add (local.get $h) (i32.const 16)))
                (br $qvec_loop)))
            (block $qtail_done
              (loop $qtail_loop
                (br_if $qtail_done (i32.ge_u (local.get $h) (local.get $bytes)))
                (f32.store (i32.add (local.get $z) (local.get $h))
                  (f32.add
                    (f32.load (i32.add (local.get $z) (local.get $h)))
                    (f32.add
                      (f32.add
                        (f32.mul (f32x4.extract_lane 0 (local.get $v0)) (f32.load (i32.add (local.get $a0) (local.get $h))))
                        (f32.mul (f32x4.extract_lane 0 (local.get $v1)) (f32.load (i32.add (local.get $a1) (local.get $h)))))
                      (f32.add
                        (f32.mul (f32x4.extract_lane 0 (local.get $v2)) (f32.load (i32.add (local.get $a2) (local.get $h))))
                        (f32.mul (f32x4.extract_lane 0 (local.get $v3)) (f32.load (i32.add (local.get $a3) (local.get $h))))))))
                (local.set $h (i32.add (local.get $h) (i32.const 4)))
                (br $qtail_loop)))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br $quads_loop)))
        (block $entries_done
          (loop $entries_loop
            (br_if $entries_done (i32.ge_u (local.get $k) (local.get $end)))
            (local.set $v (f32.load (i32.add (local.get $values) (i32.shl (local.get $k) (i32.const 2)))))
            (local.set $vv (f32x4.splat (local.get $v)))
            (local.set $a
              (i32.add (local.get $w)
                (i32.mul
                  (i32.load (i32.add (local.get $indices) (i32.shl (local.get $k) (i32.const 2))))
                  (local.get $bytes))))
            (local.set $h (i32.const 0))
            (block $vec_done
              (loop $vec_loop
                (br_if $vec_done (i32.ge_u (local.get $h) (local.get $vec)))
                (v128.store (i32.add (local.get $z) (local.get $h))
                  (f32x4.add
                    (v128.load (i32.add (local.get $z) (local.get $h)))
                    (f32x4.mul (local.get $vv) (v128.load (i32.add (local.get $a) (local.get $h))))))
                (local.set $h (i32.add (local.get $h) (i32.const 16)))
                (br $vec_loop)))
            (block $tail_done
              (loop $tail_loop
                (br_if $tail_done (i32.ge_u (local.get $h) (local.get $bytes)))
                (f32.store (i32.add (local.get $z) (local.get $h))
                  (f32.add
                    (f32.load (i32.add (local.get $z) (local.get $h)))
                    (f32.mul (local.get $v) (f32.load (i32.add (local.get $a) (local.get $h))))))
                (local.set $h (i32.add (local.get $h) (i32.const 4)))
                (br $tail_loop)))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $entries_loop)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows_loop))))

  ;; The gradient row of one feature: g[:] = sum over p in [p0, p1) of
  ;; entryValue[p] * dz[entryRow[p] + :] (entryRow holds float offsets i * width into dz).
  (func $gradient_row
    (param $p0 i32) (param $p1 i32) (param $entryRow i32) (param $entryValue i32)
    (param $dz i32) (param $g i32) (param $bytes i32) (param $vec i32)
    (local $p i32) (local $h i32) (local $a i32) (local $v f32) (local $vv v128)
    (memory.fill (local.get $g) (i32.const 0) (local.get $bytes))
    (local.set $p (local.get $p0))
    (block $done
      (loop $entries
        (br_if $done (i32.ge_u (local.get $p) (local.get $p1)))
        (local.set $v (f32.load (i32.add (local.get $entryValue) (i32.shl (local.get $p) (i32.const 2)))))
        (local.set $vv (f32x4.splat (local.get $v)))
        (local.set $a
          (i32.add (local.get $dz)
            (i32.shl
              (i32.load (i32.add (local.get $entryRow) (i32.shl (local.get $p) (i32.const 2))))
              (i32.const 2))))
        (local.set $h (i32.const 0))
        (block $vec_done
          (loop $vec_loop
            (br_if $vec_done (i32.ge_u (local.get $h) (local.get $vec)))
            (v128.store (i32.add (local.get $g) (local.get $h))
              (f32x4.add
                (v128.load (i32.add (local.get $g) (local.get $h)))
                (f32x4.mul (local.get $vv) (v128.load (i32.add (local.get $a) (local.get $h))))))
            (local.set $h (i32.add (local.get $h) (i32.const 16)))
            (br $vec_loop)))
        (block $tail_done
          (loop $tail_loop
            (br_if $tail_done (i32.ge_u (local.get $h) (local.get $bytes)))
            (f32.store (i32.add (local.get $g) (local.get $h))
              (f32.add
                (f32.load (i32.add (local.get $g) (local.get $h)))
                (f32.mul (local.get $v) (f32.load (i32.add (local.get $a) (local.get $h))))))
            (local.set $h (i32.add (local.get $h) (i32.const 4)))
            (br $tail_loop)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $entries))))

  ;; Lazy Adam (Kingma & Ba, ICLR 2015; TensorFlow's LazyAdamOptimizer) over the touched rows of
  ;; w [features, width] with moments m and s of the same shape: for t in [0, touched), feature
  ;; f = features[t], its gradient row g is formed by $gradient_row from the entries
  ;; [start[t], start[t + 1]) into the scratch row at $g, then for every h:
  ;;   g' = g[h] + decay * w[f, h]        (decay: the gradient of an L2 penalty)
  ;;   m  = beta1 * m + (1 - beta1) * g'
  ;;   s  = beta2 * s + (1 - beta2) * g'^2
  ;;   w -= lrC1 * m / (sqrt(s * c2) + eps)   (lrC1 = lr / (1 - beta1^t), c2 = 1 / (1 - beta2^t))
  (func (export "adam")
    (param $touched i32) (param $features i32) (param $start i32) (param $entryRow i32)
    (param $entryValue i32) (param $dz i32) (param $w i32) (param $m i32) (param $s i32)
    (param $width i32) (param $g i32)
    (param $decay f32) (param $lrC1 f32) (param $c2 f32) (param $beta1 f32) (param $beta2 f32)
    (param $eps f32)
    (local $t i32) (local $bytes i32) (local $vec i32) (local $row i32) (local $h i32)
    (local $i i32) (local $gi f32) (local $pi f32) (local $mi f32) (local $si f32)
    (local $gv v128) (local $pv v128) (local $mv v128) (local $sv v128)
    (local $decayV v128) (local $lrC1V v128) (local $c2V v128) (local $b1V v128) (local $b2V v128)
    (local $ob1V v128) (local $ob2V v128) (local $epsV v128)
    (local.set $bytes (i32.shl (local.get $width) (i32.const 2)))
    (local.set $vec (i32.and (local.get $bytes) (i32.const -16)))
    (local.set $decayV (f32x4.splat (local.get $decay)))
    (local.set $lrC1V (f32x4.splat (local.get $lrC1)))
    (local.set $c2V (f32x4.splat (local.get $c2)))
    (local.set $b1V (f32x4.splat (local.get $beta1)))
    (local.set $b2V (f32x4.splat (local.get $beta2)))
    (local.set $ob1V (f32x4.splat (f32.sub (f32.const 1) (local.get $beta1))))
    (local.set $ob2V (f32x4.splat (f32.sub (f32.const 1) (local.get $beta2))))
    (local.set $epsV (f32x4.splat (local.get $eps)))
    (block $rows_done
      (loop $rows_loop
        (br_if $rows_done (i32.ge_u (local.get $t) (local.get $touched)))
        (call $gradient_row
          (i32.load (i32.add (local.get $start) (i32.shl (local.get $t) (i32.const 2))))
          (i32.load (i32.add (local.get $start) (i32.shl (i32.add (local.get $t) (i32.const 1)) (i32.const 2))))
          (local.get $entryRow) (local.get $entryValue) (local.get $dz) (local.get $g)
          (local.get $bytes) (local.get $vec))
        (local.set $row
          (i32.mul
            (i32.load (i32.add (local.get $features) (i32.shl (local.get $t) (i32.const 2))))
            (local.get $bytes)))
        (local.set $h (i32.const 0))
        (block $vec_done
          (loop $vec_loop
            (br_if $vec_done (i32.ge_u (local.get $h) (local.get $vec)))
            (local.set $i (i32.add (local.get $row) (local.get $h)))
            (local.set $pv (v128.load (i32.add (local.get $w) (local.get $i))))
            (local.set $gv
              (f32x4.add
                (v128.load (i32.add (local.get $g) (local.get $h)))
                (f32x4.mul (local.get $decayV) (local.get $pv))))
            (local.set $mv
              (f32x4.add
                (f32x4.mul (local.get $b1V) (v128.load (i32.add (local.get $m) (local.get $i))))
                (f32x4.mul (local.get $ob1V) (local.get $gv))))
            (local.set $sv
              (f32x4.add
                (f32x4.mul (local.get $b2V) (v128.load (i32.add (local.get $s) (local.get $i))))
                (f32x4.mul (local.get $ob2V) (f32x4.mul (local.get $gv) (local.get $gv)))))
            (v128.store (i32.add (local.get $m) (local.get $i)) (local.get $mv))
            (v128.store (i32.add (local.get $s) (local.get $i)) (local.get $sv))
            (v128.store (i32.add (local.get $w) (local.get $i))
              (f32x4.sub (local.get $pv)
                (f32x4.div
                  (f32x4.mul (local.get $lrC1V) (local.get $mv))
                  (f32x4.add (f32x4.sqrt (f32x4.mul (local.get $sv) (local.get $c2V))) (local.get $epsV)))))
            (local.set $h (i32.add (local.get $h) (i32.const 16)))
            (br $vec_loop)))
        (block $tail_done
          (loop $tail_loop
            (br_if $tail_done (i32.ge_u (local.get $h) (local.get $bytes)))
            (local.set $i (i32.add (local.get $row) (local.get $h)))
            (local.set $pi (f32.load (i32.add (local.get $w) (local.get $i))))
            (local.set $gi
              (f32.add
                (f32.load (i32.add (local.get $g) (local.get $h)))
                (f32.mul (local.get $decay) (local.get $pi))))
            (local.set $mi
              (f32.add
                (f32.mul (local.get $beta1) (f32.load (i32.add (local.get $m) (local.get $i))))
                (f32.mul (f32.sub (f32.const 1) (local.get $beta1)) (local.get $gi))))
            (local.set $si
              (f32.add
                (f32.mul (local.get $beta2) (f32.load (i32.add (local.get $s) (local.get $i))))
                (f32.mul (f32.sub (f32.const 1) (local.get $beta2)) (f32.mul (local.get $gi) (local.get $gi)))))
            (f32.store (i32.add (local.get $m) (local.get $i)) (local.get $mi))
            (f32.store (i32.add (local.get $s) (local.get $i)) (local.get $si))
            (f32.store (i32.add (local.get $w) (local.get $i))
              (f32.sub (local.get $pi)
                (f32.div
                  (f32.mul (local.get $lrC1) (local.get $mi))
                  (f32.add (f32.sqrt (f32.mul (local.get $si) (local.get $c2))) (local.get $eps)))))
            (local.set $h (i32.add (local.get $h) (i32.const 4)))
            (br $tail_loop)))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $rows_loop))))

  ;; Lazy Adagrad (Duchi, Hazan & Singer, JMLR 2011) over the touched rows, as "adam" forms the
  ;; gradient rows; for every h: g' = g[h] + decay * w[f, h]; s += g'^2; w -= lr * g' / sqrt(s + 1e-7).
  (func (export "adagrad")
    (param $touched i32) (param $features i32) (param $start i32) (param $entryRow i32)
    (param $entryValue i32) (param $dz i32) (param $w i32) (param $s i32)
    (param $width i32) (param $g i32) (param $decay f32) (param $lr f32)
    (local $t i32) (local $bytes i32) (local $vec i32) (local $row i32) (local $h i32)
    (local $i i32) (local $gi f32) (local $pi f32) (local $si f32)
    (local $gv v128) (local $pv v128) (local $sv v128)
    (local $decayV v128) (local $lrV v128) (local $tinyV v128)
    (local.set $bytes (i32.shl (local.get $width) (i32.const 2)))
    (local.set $vec (i32.and (local.get $bytes) (i32.const -16)))
    (local.set $decayV (f32x4.splat (local.get $decay)))
    (local.set $lrV (f32x4.splat (local.get $lr)))
    (local.set $tinyV (f32x4.splat (f32.const 1e-7)))
    (block $rows_done
      (loop $rows_loop
        (br_if $rows_done (i32.ge_u (local.get $t) (local.get $touched)))
        (call $gradient_row
          (i32.load (i32.add (local.get $start) (i32.shl (local.get $t) (i32.const 2))))
          (i32.load (i32.add (local.get $start) (i32.shl (i32.add (local.get $t) (i32.const 1)) (i32.const 2))))
          (local.get $entryRow) (local.get $entryValue) (local.get $dz) (local.get $g)
          (local.get $bytes) (local.get $vec))
        (local.set $row
          (i32.mul
            (i32.load (i32.add (local.get $features) (i32.shl (local.get $t) (i32.const 2))))
            (local.get $bytes)))
        (local.set $h (i32.const 0))
        (block $vec_done
          (loop $vec_loop
            (br_if $vec_done (i32.ge_u (local.get $h) (local.get $vec)))
            (local.set $i (i32.add (local.get $row) (local.get $h)))
            (local.set $pv (v128.load (i32.add (local.get $w) (local.get $i))))
            (local.set $gv
              (f32x4.add
                (v128.load (i32.add (local.get $g) (local.get $h)))
                (f32x4.mul (local.get $decayV) (local.get $pv))))
            (local.set $sv
              (f32x4.add (v128.load (i32.add (local.get $s) (local.get $i)))
                (f32x4.mul (local.get $gv) (local.get $gv))))
            (v128.store (i32.add (local.get $s) (local.get $i)) (local.get $sv))
            (v128.store (i32.add (local.get $w) (local.get $i))
              (f32x4.sub (local.get $pv)
                (f32x4.div (f32x4.mul (local.get $lrV) (local.get $gv))
                  (f32x4.sqrt (f32x4.add (local.get $sv) (local.get $tinyV))))))
            (local.set $h (i32.add (local.get $h) (i32.const 16)))
            (br $vec_loop)))
        (block $tail_done
          (loop $tail_loop
            (br_if $tail_done (i32.ge_u (local.get $h) (local.get $bytes)))
            (local.set $i (i32.add (local.get $row) (local.get $h)))
            (local.set $pi (f32.load (i32.add (local.get $w) (local.get $i))))
            (local.set $gi
              (f32.add
                (f32.load (i32.add (local.get $g) (local.get $h)))
                (f32.mul (local.get $decay) (local.get $pi))))
            (local.set $si
              (f32.add (f32.load (i32.add (local.get $s) (local.get $i)))
                (f32.mul (local.get $gi) (local.get $gi))))
            (f32.store (i32.add (local.get $s) (local.get $i)) (local.get $si))
            (f32.store (i32.add (local.get $w) (local.get $i))
              (f32.sub (local.get $pi)
                (f32.div (f32.mul (local.get $lr) (local.get $gi))
                  (f32.sqrt (f32.add (local.get $si) (f32.const 1e-7))))))
            (local.set $h (i32.add (local.get $h) (i32.const 4)))
            (br $tail_loop)))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $rows_loop))))
)
