;; Vector kernels of the three-party protocols over Z_2^64 (arithmetic) and
;; 64-bit words (boolean, XOR-shared). Compiled in memory at start-up by
;; wasm-kernels.ts; this text is the source of truth.
;;
;; Calling convention: every kernel is (out, in_1 .. in_k, scalars.., n) where
;; out and in_j are byte offsets of i64 vectors in the exported memory and n is
;; the element count. The JavaScript side copies operands in chunk by chunk, so
;; the memory stays small and cache-resident. i64 arithmetic wraps mod 2^64,
;; which is exactly the ring.
(module
  (memory (export "memory") 16)

  ;; ---- element-wise binary operations -------------------------------------

  (func (export "add") (param $o i32) (param $x i32) (param $y i32) (param $n i32)
    (local $i i32) (local $end i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (i64.store (i32.add (local.get $o) (local.get $i))
          (i64.add (i64.load (i32.add (local.get $x) (local.get $i)))
                   (i64.load (i32.add (local.get $y) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $next))))

  (func (export "sub") (param $o i32) (param $x i32) (param $y i32) (param $n i32)
    (local $i i32) (local $end i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (i64.store (i32.add (local.get $o) (local.get $i))
          (i64.sub (i64.load (i32.add (local.get $x) (local.get $i)))
                   (i64.load (i32.add (local.get $y) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $next))))

  (func (export "mul") (param $o i32) (param $x i32) (param $y i32) (param $n i32)
    (local $i i32) (local $end i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (i64.store (i32.add (local.get $o) (local.get $i))
          (i64.mul (i64.load (i32.add (local.get $x) (local.get $i)))
                   (i64.load (i32.add (local.get $y) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $next))))

  (func (export "xor") (param $o i32) (param $x i32) (param $y i32) (param $n i32)
    (local $i i32) (local $end i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (i64.store (i32.add (local.get $o) (local.get $i))
          (i64.xor (i64.load (i32.add (local.get $x) (local.get $i)))
                   (i64.load (i32.add (local.get $y) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $next))))

  (func (export "and") (param $o i32) (param $x i32) (param $y i32) (param $n i32)
    (local $i i32) (local $end i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (i64.store (i32.add (local.get $o) (local.get $i))
          (i64.and (i64.load (i32.add (local.get $x) (local.get $i)))
                   (i64.load (i32.add (local.get $y) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $next))))

  ;; ---- element-wise with a scalar -----------------------------------------

  (func (export "add_scalar") (param $o i32) (param $x i32) (param $c i64) (param $n i32)
    (local $i i32) (local $end i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (i64.store (i32.add (local.get $o) (local.get $i))
          (i64.add (i64.load (i32.add (local.get $x) (local.get $i))) (local.get $c)))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $next))))

  (func (export "mul_scalar") (param $o i32) (param $x i32) (param $c i64) (param $n i32)
    (local $i i32) (local $end i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (i64.store (i32.add (local.get $o) (local.get $i))
          (i64.mul (i64.load (i32.add (local.get $x) (local.get $i))) (local.get $c)))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $next))))

  (func (export "xor_scalar") (param $o i32) (param $x i32) (param $c i64) (param $n i32)
    (local $i i32) (local $end i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (i64.store (i32.add (local.get $o) (local.get $i))
          (i64.xor (i64.load (i32.add (local.get $x) (local.get $i))) (local.get $c)))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $next))))

  (func (export "and_scalar") (param $o i32) (param $x i32) (param $c i64) (param $n i32)
    (local $i i32) (local $end i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (i64.store (i32.add (local.get $o) (local.get $i))
          (i64.and (i64.load (i32.add (local.get $x) (local.get $i))) (local.get $c)))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $next))))

  ;; Logical shifts of words; $k in [0, 63] (wasm takes the count mod 64).
  (func (export "shl") (param $o i32) (param $x i32) (param $k i64) (param $n i32)
    (local $i i32) (local $end i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (i64.store (i32.add (local.get $o) (local.get $i))
          (i64.shl (i64.load (i32.add (local.get $x) (local.get $i))) (local.get $k)))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $next))))

  (func (export "shr") (param $o i32) (param $x i32) (param $k i64) (param $n i32)
    (local $i i32) (local $end i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (i64.store (i32.add (local.get $o) (local.get $i))
          (i64.shr_u (i64.load (i32.add (local.get $x) (local.get $i))) (local.get $k)))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $next))))

  ;; ---- protocol kernels ----------------------------------------------------

  ;; Multiplication cross terms plus the zero share:
  ;;   o = xa*ya + xa*yb + xb*ya + fn - fp = xa*(ya+yb) + xb*ya + fn - fp
  ;; where fn / fp are the PRF streams shared with the next / previous party.
  (func (export "mul_cross")
    (param $o i32) (param $xa i32) (param $xb i32) (param $ya i32) (param $yb i32)
    (param $fn i32) (param $fp i32) (param $n i32)
    (local $i i32) (local $end i32) (local $y i64)
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $y (i64.load (i32.add (local.get $ya) (local.get $i))))
        (i64.store (i32.add (local.get $o) (local.get $i))
          (i64.sub
            (i64.add
              (i64.add
                (i64.mul (i64.load (i32.add (local.get $xa) (local.get $i)))
                         (i64.add (local.get $y) (i64.load (i32.add (local.get $yb) (local.get $i)))))
                (i64.mul (i64.load (i32.add (local.get $xb) (local.get $i))) (local.get $y)))
              (i64.load (i32.add (local.get $fn) (local.get $i))))
            (i64.load (i32.add (local.get $fp) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $next))))

  ;; AND cross terms plus the XOR zero share:
  ;;   o = (xa&ya) ^ (xa&yb) ^ (xb&ya) ^ fn ^ fp = (xa&(ya^yb)) ^ (xb&ya) ^ fn ^ fp
  (func (export "and_cross")
    (param $o i32) (param $xa i32) (param $xb i32) (param $ya i32) (param $yb i32)
    (param $fn i32) (param $fp i32) (param $n i32)
    (local $i i32) (local $end i32) (local $y i64)
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $y (i64.load (i32.add (local.get $ya) (local.get $i))))
        (i64.store (i32.add (local.get $o) (local.get $i))
          (i64.xor
            (i64.xor
              (i64.and (i64.load (i32.add (local.get $xa) (local.get $i)))
                       (i64.xor (local.get $y) (i64.load (i32.add (local.get $yb) (local.get $i)))))
              (i64.and (i64.load (i32.add (local.get $xb) (local.get $i))) (local.get $y)))
            (i64.xor (i64.load (i32.add (local.get $fn) (local.get $i)))
                     (i64.load (i32.add (local.get $fp) (local.get $i))))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $next))))

  ;; o = z + fn - fp: masks a 3-out-of-3 arithmetic component with the zero share.
  (func (export "mask_add") (param $o i32) (param $z i32) (param $fn i32) (param $fp i32) (param $n i32)
    (local $i i32) (local $end i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (i64.store (i32.add (local.get $o) (local.get $i))
          (i64.sub
            (i64.add (i64.load (i32.add (local.get $z) (local.get $i)))
                     (i64.load (i32.add (local.get $fn) (local.get $i))))
            (i64.load (i32.add (local.get $fp) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $next))))

  ;; o = z ^ fn ^ fp: masks a 3-out-of-3 boolean component with the XOR zero share.
  (func (export "mask_xor") (param $o i32) (param $z i32) (param $fn i32) (param $fp i32) (param $n i32)
    (local $i i32) (local $end i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (i64.store (i32.add (local.get $o) (local.get $i))
          (i64.xor
            (i64.xor (i64.load (i32.add (local.get $z) (local.get $i)))
                     (i64.load (i32.add (local.get $fn) (local.get $i))))
            (i64.load (i32.add (local.get $fp) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $next))))

  ;; Truncation, the party holding A = a + b:  o = floor(A / d) - r   (unsigned division).
  (func (export "trunc_sum_div") (param $o i32) (param $a i32) (param $b i32) (param $r i32) (param $d i64) (param $n i32)
    (local $i i32) (local $end i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (i64.store (i32.add (local.get $o) (local.get $i))
          (i64.sub
            (i64.div_u
              (i64.add (i64.load (i32.add (local.get $a) (local.get $i)))
                       (i64.load (i32.add (local.get $b) (local.get $i))))
              (local.get $d))
            (i64.load (i32.add (local.get $r) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $next))))

  ;; The same for d = 2^k: o = ((a + b) >>> k) - r.
  (func (export "trunc_sum_shr") (param $o i32) (param $a i32) (param $b i32) (param $r i32) (param $k i64) (param $n i32)
    (local $i i32) (local $end i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (i64.store (i32.add (local.get $o) (local.get $i))
          (i64.sub
            (i64.shr_u
              (i64.add (i64.load (i32.add (local.get $a) (local.get $i)))
                       (i64.load (i32.add (local.get $b) (local.get $i))))
              (local.get $k))
            (i64.load (i32.add (local.get $r) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $next))))

  ;; Truncation, the parties holding B:  o = -floor(-B / d)   (unsigned division).
  (func (export "trunc_neg_div") (param $o i32) (param $x i32) (param $d i64) (param $n i32)
    (local $i i32) (local $end i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (i64.store (i32.add (local.get $o) (local.get $i))
          (i64.sub (i64.const 0)
            (i64.div_u
              (i64.sub (i64.const 0) (i64.load (i32.add (local.get $x) (local.get $i))))
              (local.get $d))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $next))))

  ;; The same for d = 2^k: o = -((-B) >>> k).
  (func (export "trunc_neg_shr") (param $o i32) (param $x i32) (param $k i64) (param $n i32)
    (local $i i32) (local $end i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (i64.store (i32.add (local.get $o) (local.get $i))
          (i64.sub (i64.const 0)
            (i64.shr_u
              (i64.sub (i64.const 0) (i64.load (i32.add (local.get $x) (local.get $i))))
              (local.get $k))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $next))))
)
