// gradc's native matrix products: C[m,n] = A[m,k] @ B[k,n] over strided operands, C contiguous.
//
// The contract is the interpreter's (ops/contraction.ts): each C[i,j] is summed over p in
// increasing order from zero, each step a multiply and then a separate add (this file is compiled
// with -ffp-contract=off: no fused multiply-add). Vectors run across j (columns of C), one lane per
// C[i,j], so every lane performs exactly the interpreter's sequence of operations:
//   double: bit for bit the interpreter's result;
//   float: the product is rounded to float, then the sum (as gradc's WebAssembly f32x4 kernel does;
//     the interpreter rounds once per step: spec/wasm.test.ts and spec/native.test.ts bound it).
// K is cut into chunks whose partial sums pass through C (an exact store and reload), which keeps
// the order of the additions.
//
// Blocking (GotoBLAS's loop nest, without reordering the sum): for each K chunk, for each block of
// MC rows of A (packed into MR-row panels when A is not contiguous along p, e.g. x^T), for each
// panel of NV vectors of C's columns (B read in place when contiguous along j, else packed, e.g.
// W^T), the microkernel computes an MR x NV-vector tile of C in registers.

#pragma once
#include <stdint.h>
#include <string.h>

#if defined(__AVX512F__)
#define GRADC_VBYTES 64
#elif defined(__AVX__)
#define GRADC_VBYTES 32
#else
#define GRADC_VBYTES 16
#endif

namespace gradc {

template <typename T> struct Vec;
template <> struct Vec<double> { typedef double type __attribute__((vector_size(GRADC_VBYTES))); };
template <> struct Vec<float> { typedef float type __attribute__((vector_size(GRADC_VBYTES))); };

/** Rows and vectors of C per microkernel tile (MR_MAX * NV_MAX accumulators + NV_MAX B vectors fit 32 registers). */
constexpr int MR_MAX = 6;
constexpr int NV_MAX = 4;

struct Shape {
  int64_t m, k, n;
  int64_t sa0, sa1, sb0, sb1;
  /** C's row stride (n for a whole C; wider for a column range of it). */
  int64_t ldc;
};

/** Scratch a product needs: packed A block, packed B panel, one C tile (see scratchBytes). */
struct Scratch {
  void* a;
  void* b;
  void* c;
};

template <typename T>
struct Blocking {
  static constexpr int W = GRADC_VBYTES / sizeof(T);
  int mr;       // rows per tile
  int64_t kc;   // K chunk: a B panel of kc x NV_MAX*W stays in L1
  int64_t mc;   // rows per A block: a packed block of mc x kc stays in L2
};

template <typename T>
Blocking<T> blockingOf(const Shape& s) {
  Blocking<T> b;
  constexpr int W = Blocking<T>::W;
  // 32 KB of B panel per K chunk
  b.kc = (32 * 1024) / (NV_MAX * W * (int64_t)sizeof(T));
  if (b.kc < 16) b.kc = 16;
  // the row count per tile leaving the fewest (and fullest) tiles: 50 rows are 10 tiles of 5
  int best = MR_MAX;
  int64_t bestCost = INT64_MAX;
  for (int mr = MR_MAX; mr >= 4; mr--) {
    int64_t tiles = (s.m + mr - 1) / mr;
    // a tile's time per step of p is about max(mr, 4) vector multiplies per vector column
    int64_t cost = tiles * (mr > 4 ? mr : 4) * 8 + (s.m % mr ? 4 : 0);
    if (cost < bestCost) bestCost = cost, best = mr;
  }
  b.mr = best;
  b.mc = ((256 * 1024) / (b.kc * (int64_t)sizeof(T))) / best * best;
  if (b.mc < best) b.mc = best;
  return b;
}

/** Bytes of scratch for a shape: A block, B panel, C tile. */
template <typename T>
void scratchBytes(const Shape& s, int64_t out[3]) {
  Blocking<T> b = blockingOf<T>(s);
  constexpr int W = Blocking<T>::W;
  int64_t kc = b.kc < s.k ? b.kc : s.k;
  if (kc < 1) kc = 1;
  out[0] = (b.mc + MR_MAX) * kc * (int64_t)sizeof(T);
  out[1] = kc * NV_MAX * W * (int64_t)sizeof(T);
  out[2] = MR_MAX * NV_MAX * W * (int64_t)sizeof(T);
}

#if defined(__AVX512F__)
// AVX-512's masked loads and stores let a tile's last vector be partial (C's last columns): the
// masked-off lanes are neither read nor written, so B and C are used in place up to their last
// column. Without AVX-512 the last partial vector goes through a zero-padded panel and a tile copy.
#define GRADC_MASKED 1
#include <immintrin.h>
template <typename T> struct Masked;
template <> struct Masked<double> {
  typedef Vec<double>::type V;
  static V load(const double* p, unsigned k) { return (V)_mm512_maskz_loadu_pd((__mmask8)k, p); }
  static void store(double* p, V v, unsigned k) { _mm512_mask_storeu_pd(p, (__mmask8)k, (__m512d)v); }
};
template <> struct Masked<float> {
  typedef Vec<float>::type V;
  static V load(const float* p, unsigned k) { return (V)_mm512_maskz_loadu_ps((__mmask16)k, p); }
  static void store(float* p, V v, unsigned k) { _mm512_mask_storeu_ps(p, (__mmask16)k, (__m512)v); }
};
#else
#define GRADC_MASKED 0
#endif

/**
 * The microkernel: C[0:MR, 0:NV*W] (rows crs apart) = (load ? C : 0) + sum over p < kc of
 * A[r, p] * B[p, :], A's element (r, p) at a[r*ars + p*acs], B's row p at b[p*brs] (NV*W
 * contiguous values; with MASK, the last vector's lanes outside `mask` are neither read nor
 * written). One accumulator vector per (row, vector); the product is formed, then added.
 */
template <typename T, int MR, int NV, bool MASK>
static void micro(int64_t kc, const T* __restrict a, int64_t ars, int64_t acs, const T* __restrict b, int64_t brs, T* __restrict c, int64_t crs, bool load, unsigned mask) {
  typedef typename Vec<T>::type V;
  constexpr int W = GRADC_VBYTES / sizeof(T);
  auto get = [mask](const T* p, int v) {
    V x;
#if GRADC_MASKED
    if (MASK && v == NV - 1) return Masked<T>::load(p, mask);
#endif
    memcpy(&x, p, sizeof(V));
    return x;
  };
  V acc[MR][NV];
#pragma GCC unroll 8
  for (int r = 0; r < MR; r++)
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) acc[r][v] = load ? get(c + r * crs + v * W, v) : V{};
  const T* ar[MR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; r++) ar[r] = a + r * ars;
  for (int64_t p = 0; p < kc; p++) {
    V bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) bv[v] = get(b + v * W, v);
    b += brs;
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
      const T x = *ar[r];
      ar[r] += acs;
#pragma GCC unroll 8
      for (int v = 0; v < NV; v++) {
        V prod = bv[v] * x;
        acc[r][v] = acc[r][v] + prod;
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; r++)
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) {
#if GRADC_MASKED
      if (MASK && v == NV - 1) {
        Masked<T>::store(c + r * crs + v * W, acc[r][v], mask);
        continue;
      }
#endif
      memcpy(c + r * crs + v * W, &acc[r][v], sizeof(V));
    }
}

template <typename T>
using MicroFn = void (*)(int64_t, const T*, int64_t, int64_t, const T*, int64_t, T*, int64_t, bool, unsigned);

template <typename T, int MR, bool MASK>
struct Row {
  static constexpr MicroFn<T> fns[NV_MAX] = {micro<T, MR, 1, MASK>, micro<T, MR, 2, MASK>, micro<T, MR, 3, MASK>, micro<T, MR, 4, MASK>};
};

template <typename T, bool MASK>
static MicroFn<T> microOf(int mr, int nv) {
  switch (mr) {
    case 1: return Row<T, 1, MASK>::fns[nv - 1];
    case 2: return Row<T, 2, MASK>::fns[nv - 1];
    case 3: return Row<T, 3, MASK>::fns[nv - 1];
    case 4: return Row<T, 4, MASK>::fns[nv - 1];
    case 5: return Row<T, 5, MASK>::fns[nv - 1];
    default: return Row<T, 6, MASK>::fns[nv - 1];
  }
}

template <typename T>
static MicroFn<T> microFor(int mr, int nv, bool mask) {
  return GRADC_MASKED && mask ? microOf<T, GRADC_MASKED != 0>(mr, nv) : microOf<T, false>(mr, nv);
}

/** C = A @ B for the shape; the caller has checked every index lies in its buffer. */
template <typename T>
void gemm(const Shape& s, const T* A, const T* B, T* C, const Scratch& scratch) {
  constexpr int W = Blocking<T>::W;
  const int64_t m = s.m, k = s.k, n = s.n;
  if (m == 0 || n == 0) return;
  if (k == 0) {
    for (int64_t i = 0; i < m; i++) memset(C + i * s.ldc, 0, sizeof(T) * n);
    return;
  }
  const Blocking<T> bl = blockingOf<T>(s);
  const int MR = bl.mr;
  T* packA = (T*)scratch.a;
  T* packB = (T*)scratch.b;
  T* tileC = (T*)scratch.c;
  const bool directA = s.sa1 == 1;
  for (int64_t p0 = 0; p0 < k; p0 += bl.kc) {
    const int64_t kc = k - p0 < bl.kc ? k - p0 : bl.kc;
    const bool load = p0 > 0;
    for (int64_t i0 = 0; i0 < m; i0 += bl.mc) {
      const int64_t mc = m - i0 < bl.mc ? m - i0 : bl.mc;
      if (!directA) {
        // panels of MR rows, each p's MR values adjacent: [tile][p][MR] (the last panel partly
        // filled), read in A's memory order: for x^T (rows of A adjacent in x), p outermost, so
        // each row of x is read once along its length (tile by tile, every step of p reread lines
        // a row of x apart, all in one L1 set)
        if (s.sa0 < s.sa1) {
          for (int64_t p = 0; p < kc; p++) {
            const T* src = A + i0 * s.sa0 + (p0 + p) * s.sa1;
            for (int64_t t = 0; t < mc; t += MR) {
              const int64_t h = mc - t < MR ? mc - t : MR;
              T* d = packA + t * kc + p * MR;
              for (int64_t r = 0; r < h; r++) d[r] = src[(t + r) * s.sa0];
            }
          }
        } else {
          for (int64_t t = 0; t < mc; t += MR) {
            const int64_t h = mc - t < MR ? mc - t : MR;
            T* d = packA + t * kc;
            const T* src = A + (i0 + t) * s.sa0 + p0 * s.sa1;
            for (int64_t p = 0; p < kc; p++, d += MR, src += s.sa1)
              for (int64_t r = 0; r < h; r++) d[r] = src[r * s.sa0];
          }
        }
      }
      for (int64_t j0 = 0; j0 < n; j0 += NV_MAX * W) {
        const int64_t nc = n - j0 < NV_MAX * W ? n - j0 : NV_MAX * W;
        const int nfull = (int)(nc / W);
        const int tail = (int)(nc % W);
        // with masks, one part of nfull (+1 partial) vectors; without, the full vectors, then the
        // last partial vector computed into a tile and copied out
        for (int part = 0; part < (GRADC_MASKED ? 1 : 2); part++) {
          const bool masked = GRADC_MASKED && tail;
          const int nv = masked ? nfull + 1 : part == 0 ? nfull : (tail ? 1 : 0);
          if (nv == 0) continue;
          const int64_t jc = j0 + (part == 0 ? 0 : nfull * W);
          const int64_t width = masked ? nc : part == 0 ? nv * W : tail;
          const unsigned mask = tail ? (1u << tail) - 1 : ~0u;
          const bool viaTile = part == 1;
          const T* b;
          int64_t brs;
          if (!viaTile && s.sb1 == 1) {
            b = B + p0 * s.sb0 + jc;
            brs = s.sb0;
          } else {
            const int64_t row = nv * W;
            const T* src = B + p0 * s.sb0 + jc * s.sb1;
            for (int64_t p = 0; p < kc; p++, src += s.sb0) {
              T* d = packB + p * row;
              int64_t j = 0;
              for (; j < width; j++) d[j] = src[j * s.sb1];
              for (; j < row; j++) d[j] = 0;
            }
            b = packB;
            brs = row;
          }
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int mr = (int)(mc - ir < MR ? mc - ir : MR);
            const T* a;
            int64_t ars, acs;
            if (directA) {
              a = A + (i0 + ir) * s.sa0 + p0;
              ars = s.sa0;
              acs = 1;
            } else {
              a = packA + ir * kc;
              ars = 1;
              acs = MR;
            }
            T* c = C + (i0 + ir) * s.ldc + jc;
            MicroFn<T> fn = microFor<T>(mr, nv, masked);
            if (!viaTile) {
              fn(kc, a, ars, acs, b, brs, c, s.ldc, load, mask);
            } else {
              if (load)
                for (int r = 0; r < mr; r++) memcpy(tileC + r * W, c + r * s.ldc, sizeof(T) * width);
              fn(kc, a, ars, acs, b, brs, tileC, W, load, ~0u);
              for (int r = 0; r < mr; r++) memcpy(c + r * s.ldc, tileC + r * W, sizeof(T) * width);
            }
          }
        }
      }
    }
  }
}

}  // namespace gradc
