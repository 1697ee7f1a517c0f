// The GEMM's vector-ISA part — packing, the S::MR × 2-vector micro-kernel, the one-row kernel and
// the blocked loops — written once over S, a vector ISA's operations (S::T the element type,
// S::V a register, S::L its lanes), and included by gemm.cc (AVX2 + FMA) and gemm512.cc
// (AVX-512), each compiled for its ISA. Each element of C is an FMA chain over k in order
// within a block of GEMM_KC, added to C block after block, whatever the ISA, panel width or
// thread count: both ISAs give the same bits.
#pragma once
#include <algorithm>
#include <cstring>
#include <vector>

#include "gemm.h"

namespace rnnk {

// S::MR, the micro-tile's rows, is the ISA's own: 6 on AVX2 (12 accumulators + 3 of its 16
// registers), 8 on AVX-512 (16 + 3 of 32: fewer loads per FMA, and B = 32 or 16 rows of a
// batch are whole tiles). Which rows share a tile changes no element's sum: the same bits.
constexpr int GEMM_KC = 256;
constexpr int MR_AVX512 = 8;  // gemm512.cc's tile rows, which gemm.cc's thread split needs too
// Below this many elements a pack stays on the calling thread (waking the pool costs more).
constexpr double PACK_PARALLEL_MIN = 1 << 16;
constexpr int GEMM_MC = 96;

// Where B's panels come from: packed per block here, or prepacked once for many products.
template <typename T> struct BSource {
  bool transB;
  const T* B;          // the matrix, when not prepacked
  const T* prepacked;  // all of op(B) packed: block pc at pc·Npad, panel q of it at q·kc
  int Npad;
};

// ---- packing -------------------------------------------------------------------------------

// A block rows [i0, i0+mc), cols [k0, k0+kc) into MR-row panels, k-major inside a panel.
template <typename S, typename T = typename S::T>
static void pack_a(bool transA, const T* A, int M, int K, int i0, int mc, int k0, int kc, T* out) {
  constexpr int MR = S::MR;
  for (int p = 0; p < mc; p += MR) {
    const int rows = std::min(MR, mc - p);
    for (int k = 0; k < kc; k++) {
      T* o = out + (size_t)p * kc + (size_t)k * MR;
      for (int i = 0; i < rows; i++) {
        const int gi = i0 + p + i, gk = k0 + k;
        o[i] = transA ? A[(size_t)gk * M + gi] : A[(size_t)gi * K + gk];
      }
      for (int i = rows; i < MR; i++) o[i] = 0;
    }
  }
}

// B block rows [k0, k0+kc), cols [j0, j0+nc) into NR-column panels, k-major inside a panel.
// A transposed B (stored [N, K]) is read along its rows, so both layouts stream through memory.
template <typename S, typename T = typename S::T>
static void pack_b(bool transB, const T* B, int N, int K, int k0, int kc, int j0, int nc, T* out) {
  constexpr int NR = 2 * S::L;
  if (!transB) {
    // Row by row of B, each row's panels in turn: B is read along its rows (a panel at a time,
    // row after row, would cross a page per row: 2 GB/s on 16 MB), each panel written in order.
    for (int k = 0; k < kc; k++) {
      const T* row = B + (size_t)(k0 + k) * N + j0;
      for (int q = 0; q < nc; q += NR) {
        const int cols = std::min(NR, nc - q);
        T* o = out + (size_t)q * kc + (size_t)k * NR;
        std::memcpy(o, row + q, cols * sizeof(T));
        for (int j = cols; j < NR; j++) o[j] = 0;
      }
    }
    return;
  }
  for (int q = 0; q < nc; q += NR) {
    const int cols = std::min(NR, nc - q);
    T* base = out + (size_t)q * kc;
    for (int j = 0; j < cols; j++) {
      const T* src = B + (size_t)(j0 + q + j) * K + k0;
      for (int k = 0; k < kc; k++) base[(size_t)k * NR + j] = src[k];
    }
    for (int j = cols; j < NR; j++) for (int k = 0; k < kc; k++) base[(size_t)k * NR + j] = 0;
  }
}

// ---- micro-kernel --------------------------------------------------------------------------

// Register tile: MR rows × 2 vectors, 2·MR accumulators kept in vector registers across the k loop.
// C[mr, nr] (+)= Ap[kc × MR]ᵀ · Bp[kc × NR]; `add` false overwrites.
template <typename S, typename T = typename S::T>
static inline void micro(int kc, const T* __restrict Ap, const T* __restrict Bp, T* C, int ldc, int mr, int nr, bool add) {
  typedef typename S::V V;
  constexpr int L = S::L, NR = 2 * L, MR = S::MR;
  V c0[MR], c1[MR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) c0[i] = c1[i] = S::zero();
  for (int k = 0; k < kc; k++) {
    const V b0 = S::load(Bp), b1 = S::load(Bp + L);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      const V a = S::bcast(Ap + i);
      c0[i] = S::fma(a, b0, c0[i]);
      c1[i] = S::fma(a, b1, c1[i]);
    }
    Ap += MR; Bp += NR;
  }
  if (mr == MR && nr == NR) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      T* ci = C + (size_t)i * ldc;
      if (add) { S::store(ci, S::add(S::load(ci), c0[i])); S::store(ci + L, S::add(S::load(ci + L), c1[i])); }
      else { S::store(ci, c0[i]); S::store(ci + L, c1[i]); }
    }
    return;
  }
  alignas(64) T tmp[MR][NR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) { S::store(&tmp[i][0], c0[i]); S::store(&tmp[i][L], c1[i]); }
  for (int i = 0; i < mr; i++) {
    for (int j = 0; j < nr; j++) C[(size_t)i * ldc + j] = add ? C[(size_t)i * ldc + j] + tmp[i][j] : tmp[i][j];
  }
}

// One row of C (M = 1: a batch of one, as a streamed sequence steps): c[nr] (+)= a[kc] · Bp[kc × NR]
// for `panels` adjacent panels at once, so that their independent FMA chains hide one another's
// latency. Each element is summed over k in the same order as micro's, so the results are the
// same bit for bit as through the general path.
template <typename S, int P, typename T = typename S::T>
static inline void row_micro(int kc, const T* __restrict a, const T* __restrict Bp, T* C, int nc, bool add) {
  typedef typename S::V V;
  constexpr int L = S::L, NR = 2 * L;
  V c[P][2];
  for (int q = 0; q < P; q++) c[q][0] = c[q][1] = S::zero();
  for (int k = 0; k < kc; k++) {
    const V x = S::bcast(a + k);
    for (int q = 0; q < P; q++) {
      const T* b = Bp + (size_t)q * NR * kc + (size_t)k * NR;
      c[q][0] = S::fma(x, S::load(b), c[q][0]);
      c[q][1] = S::fma(x, S::load(b + L), c[q][1]);
    }
  }
  alignas(32) T tmp[P * NR];
  for (int q = 0; q < P; q++) { S::store(tmp + q * NR, c[q][0]); S::store(tmp + q * NR + L, c[q][1]); }
  for (int j = 0; j < nc; j++) C[j] = add ? C[j] + tmp[j] : tmp[j];
}

// ---- driver --------------------------------------------------------------------------------


// All of op(B) [K, N] packed into `p` for products with this ISA's micro-kernel. A large B (W_hh
// of a training step, packed twice an update) is packed a run of panels per thread: a copy, so
// the same panels whatever the split.
template <typename S, typename T = typename S::T>
static void pack_all(Packed<T>& p, bool transB, const T* B, int K, int N) {
  constexpr int NR = 2 * S::L;
  p.K = K; p.N = N; p.NR = NR; p.Npad = (N + NR - 1) / NR * NR;
  if (p.data.size() < (size_t)p.Npad * K) p.data.resize((size_t)p.Npad * K);
  struct Job { Packed<T>* p; bool transB; const T* B; int K, N, panels, parts; };
  const int panels = p.Npad / NR;
  const int parts = (double)K * N < PACK_PARALLEL_MIN ? 1 : std::min(get_threads(), panels);
  Job job{&p, transB, B, K, N, panels, std::max(parts, 1)};
  const auto part = [](void* ctx, int k) {
    const Job& j = *static_cast<Job*>(ctx);
    constexpr int W = 2 * S::L;
    const int j0 = (int)((long)j.panels * k / j.parts) * W, j1 = std::min(j.N, (int)((long)j.panels * (k + 1) / j.parts) * W);
    if (j0 >= j1) return;
    for (int pc = 0; pc < j.K; pc += GEMM_KC) {
      const int kc = std::min(GEMM_KC, j.K - pc);
      pack_b<S>(j.transB, j.B, j.N, j.K, pc, kc, j0, j1 - j0, j.p->data.data() + (size_t)pc * j.p->Npad + (size_t)j0 * kc);
    }
  };
  if (job.parts == 1) part(&job, 0);
  else run_parallel(job.parts, part, &job);
}

// Rows [i_begin, i_end) and columns [j_begin, j_end) of C: a part of one product on the pool.
template <typename S, typename T = typename S::T>
static void gemm_range(bool transA, const BSource<T>& bs, int M, int N, int K, const T* A, T* C, bool acc,
                       int i_begin, int i_end, int j_begin, int j_end) {
  constexpr int MR = S::MR, NR = 2 * S::L, KC = GEMM_KC, MC = GEMM_MC, NC = 4080 / NR * NR;
  thread_local std::vector<T> pa, pb;
  if (pa.size() < (size_t)MC * KC) pa.resize((size_t)MC * KC);
  if (!bs.prepacked && pb.size() < (size_t)NC * KC) pb.resize((size_t)NC * KC);
  if (K == 0) {
    if (!acc) for (int i = i_begin; i < i_end; i++) std::fill(C + (size_t)i * N + j_begin, C + (size_t)i * N + j_end, T(0));
    return;
  }
  for (int jc = j_begin; jc < j_end; jc += NC) {
    const int nc = std::min(NC, j_end - jc);
    for (int pc = 0; pc < K; pc += KC) {
      const int kc = std::min(KC, K - pc);
      const bool add = acc || pc > 0;
      const T* bp;
      if (bs.prepacked) {
        bp = bs.prepacked + (size_t)pc * bs.Npad + (size_t)jc * kc;
      } else {
        pack_b<S>(bs.transB, bs.B, N, K, pc, kc, jc, nc, pb.data());
        bp = pb.data();
      }
      if (M == 1) { // a single row needs no packing of A and no 6-row tile (5 rows of it would be padding)
        const T* a = A + pc; // row 0, columns pc…: the same address whether A is stored [1, K] or [K, 1]
        int jr = 0;
        for (; jr + 4 * NR <= nc; jr += 4 * NR) row_micro<S, 4>(kc, a, bp + (size_t)jr * kc, C + jc + jr, 4 * NR, add);
        for (; jr + 2 * NR <= nc; jr += 2 * NR) row_micro<S, 2>(kc, a, bp + (size_t)jr * kc, C + jc + jr, 2 * NR, add);
        for (; jr < nc; jr += NR) row_micro<S, 1>(kc, a, bp + (size_t)jr * kc, C + jc + jr, std::min(NR, nc - jr), add);
        continue;
      }
      for (int ic = i_begin; ic < i_end; ic += MC) {
        const int mc = std::min(MC, i_end - ic);
        pack_a<S>(transA, A, M, K, ic, mc, pc, kc, pa.data());
        for (int jr = 0; jr < nc; jr += NR) {
          const int nr = std::min(NR, nc - jr);
          for (int ir = 0; ir < mc; ir += MR) {
            const int mr = std::min(MR, mc - ir);
            micro<S>(kc, pa.data() + (size_t)ir * kc, bp + (size_t)jr * kc,
                     C + (size_t)(ic + ir) * N + jc + jr, N, mr, nr, add);
          }
        }
      }
    }
  }
}

}  // namespace rnnk
