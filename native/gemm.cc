// Packed, register-tiled GEMM (the BLIS loop order: jc → pc → ic → jr → ir) with a
// 6 × 2-vector micro-kernel written with GCC vector extensions, compiled for AVX2 + FMA.
// Every element of C is summed over k in the same order whatever the thread count, so the
// results do not depend on how many threads run.
#pragma GCC target("avx2,fma")
#include "gemm.h"
#include "simd.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace rnnk {

constexpr int MR = 6;
template <typename T> struct Blk {
  static constexpr int NR = 2 * Vec<T>::L;
  static constexpr int KC = 256;
  static constexpr int MC = 96;
  static constexpr int NC = 4080 / NR * NR;
};

// ---- packing -------------------------------------------------------------------------------

// A block rows [i0, i0+mc), cols [k0, k0+kc) into MR-row panels, k-major inside a panel.
template <typename T>
static void pack_a(bool transA, const T* A, int M, int K, int i0, int mc, int k0, int kc, T* out) {
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
template <typename T>
static void pack_b(bool transB, const T* B, int N, int K, int k0, int kc, int j0, int nc, T* out) {
  constexpr int NR = Blk<T>::NR;
  for (int q = 0; q < nc; q += NR) {
    const int cols = std::min(NR, nc - q);
    T* base = out + (size_t)q * kc;
    if (!transB) {
      for (int k = 0; k < kc; k++) {
        T* o = base + (size_t)k * NR;
        std::memcpy(o, B + (size_t)(k0 + k) * N + j0 + q, cols * sizeof(T));
        for (int j = cols; j < NR; j++) o[j] = 0;
      }
    } else {
      for (int j = 0; j < cols; j++) {
        const T* src = B + (size_t)(j0 + q + j) * K + k0;
        for (int k = 0; k < kc; k++) base[(size_t)k * NR + j] = src[k];
      }
      for (int j = cols; j < NR; j++) for (int k = 0; k < kc; k++) base[(size_t)k * NR + j] = 0;
    }
  }
}

// ---- micro-kernel --------------------------------------------------------------------------

// Register tile: MR rows × 2 vectors, 12 accumulators kept in ymm registers across the k loop.
template <typename T> struct Simd;
template <> struct Simd<float> {
  typedef __m256 V;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
};
template <> struct Simd<double> {
  typedef __m256d V;
  static V zero() { return _mm256_setzero_pd(); }
  static V load(const double* p) { return _mm256_loadu_pd(p); }
  static void store(double* p, V v) { _mm256_storeu_pd(p, v); }
  static V bcast(const double* p) { return _mm256_broadcast_sd(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V add(V a, V b) { return _mm256_add_pd(a, b); }
};

// C[mr, nr] (+)= Ap[kc × MR]ᵀ · Bp[kc × NR]; `add` false overwrites.
template <typename T>
static inline void micro(int kc, const T* __restrict Ap, const T* __restrict Bp, T* C, int ldc, int mr, int nr, bool add) {
  typedef Simd<T> S;
  typedef typename S::V V;
  constexpr int L = Vec<T>::L, NR = Blk<T>::NR;
  V c00 = S::zero(), c01 = S::zero(), c10 = S::zero(), c11 = S::zero(), c20 = S::zero(), c21 = S::zero();
  V c30 = S::zero(), c31 = S::zero(), c40 = S::zero(), c41 = S::zero(), c50 = S::zero(), c51 = S::zero();
  for (int k = 0; k < kc; k++) {
    const V b0 = S::load(Bp), b1 = S::load(Bp + L);
    V a;
    a = S::bcast(Ap + 0); c00 = S::fma(a, b0, c00); c01 = S::fma(a, b1, c01);
    a = S::bcast(Ap + 1); c10 = S::fma(a, b0, c10); c11 = S::fma(a, b1, c11);
    a = S::bcast(Ap + 2); c20 = S::fma(a, b0, c20); c21 = S::fma(a, b1, c21);
    a = S::bcast(Ap + 3); c30 = S::fma(a, b0, c30); c31 = S::fma(a, b1, c31);
    a = S::bcast(Ap + 4); c40 = S::fma(a, b0, c40); c41 = S::fma(a, b1, c41);
    a = S::bcast(Ap + 5); c50 = S::fma(a, b0, c50); c51 = S::fma(a, b1, c51);
    Ap += MR; Bp += NR;
  }
  const V acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  if (mr == MR && nr == NR) {
    for (int i = 0; i < MR; i++) {
      T* ci = C + (size_t)i * ldc;
      if (add) { S::store(ci, S::add(S::load(ci), acc[i][0])); S::store(ci + L, S::add(S::load(ci + L), acc[i][1])); }
      else { S::store(ci, acc[i][0]); S::store(ci + L, acc[i][1]); }
    }
    return;
  }
  alignas(32) T tmp[MR][NR];
  for (int i = 0; i < MR; i++) { S::store(&tmp[i][0], acc[i][0]); S::store(&tmp[i][L], acc[i][1]); }
  for (int i = 0; i < mr; i++) {
    for (int j = 0; j < nr; j++) C[(size_t)i * ldc + j] = add ? C[(size_t)i * ldc + j] + tmp[i][j] : tmp[i][j];
  }
}

// One row of C (M = 1: a batch of one, as a streamed sequence steps): c[nr] (+)= a[kc] · Bp[kc × NR]
// for `panels` adjacent panels at once, so that their independent FMA chains hide one another's
// latency. Each element is summed over k in the same order as micro's, so the results are the
// same bit for bit as through the general path.
template <typename T, int P>
static inline void row_micro(int kc, const T* __restrict a, const T* __restrict Bp, T* C, int nc, bool add) {
  typedef Simd<T> S;
  typedef typename S::V V;
  constexpr int L = Vec<T>::L, NR = Blk<T>::NR;
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

// Where B's panels come from: packed per block here, or prepacked once for many products.
template <typename T> struct BSource {
  bool transB;
  const T* B;          // the matrix, when not prepacked
  const T* prepacked;  // all of op(B) packed: block pc at pc·Npad, panel q of it at q·kc
  int Npad;
};

template <typename T>
static void gemm_range(bool transA, const BSource<T>& bs, int M, int N, int K, const T* A, T* C, bool acc, int j_begin, int j_end) {
  constexpr int NR = Blk<T>::NR, KC = Blk<T>::KC, MC = Blk<T>::MC, NC = Blk<T>::NC;
  thread_local std::vector<T> pa, pb;
  if (pa.size() < (size_t)MC * KC) pa.resize((size_t)MC * KC);
  if (!bs.prepacked && pb.size() < (size_t)NC * KC) pb.resize((size_t)NC * KC);
  if (K == 0) {
    if (!acc) for (int i = 0; i < M; i++) std::fill(C + (size_t)i * N + j_begin, C + (size_t)i * N + j_end, T(0));
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
        pack_b(bs.transB, bs.B, N, K, pc, kc, jc, nc, pb.data());
        bp = pb.data();
      }
      if (M == 1) { // a single row needs no packing of A and no 6-row tile (5 rows of it would be padding)
        const T* a = A + pc; // row 0, columns pc…: the same address whether A is stored [1, K] or [K, 1]
        int jr = 0;
        for (; jr + 4 * NR <= nc; jr += 4 * NR) row_micro<T, 4>(kc, a, bp + (size_t)jr * kc, C + jc + jr, 4 * NR, add);
        for (; jr + 2 * NR <= nc; jr += 2 * NR) row_micro<T, 2>(kc, a, bp + (size_t)jr * kc, C + jc + jr, 2 * NR, add);
        for (; jr < nc; jr += NR) row_micro<T, 1>(kc, a, bp + (size_t)jr * kc, C + jc + jr, std::min(NR, nc - jr), add);
        continue;
      }
      for (int ic = 0; ic < M; ic += MC) {
        const int mc = std::min(MC, M - ic);
        pack_a(transA, A, M, K, ic, mc, pc, kc, pa.data());
        for (int jr = 0; jr < nc; jr += NR) {
          const int nr = std::min(NR, nc - jr);
          for (int ir = 0; ir < mc; ir += MR) {
            const int mr = std::min(MR, mc - ir);
            micro<T>(kc, pa.data() + (size_t)ir * kc, bp + (size_t)jr * kc,
                     C + (size_t)(ic + ir) * N + jc + jr, N, mr, nr, add);
          }
        }
      }
    }
  }
}

// ---- a small thread pool -----------------------------------------------------------------
// A job is split into parts claimed from a shared ticket (job generation << 32 | next part),
// so whoever is running takes the next part: when the other core is busy elsewhere the caller
// simply does every part itself instead of waiting for a worker the OS has not scheduled.
// Workers spin briefly for the next job (a training loop calls in every few microseconds),
// then sleep on a condition variable.

class Pool {
 public:
  ~Pool() { resize(1); }
  int size() const { return (int)workers_.size() + 1; }
  void resize(int n) {
    n = std::max(1, n);
    if (n == size()) return;
    stop_.store(true);
    wake();
    for (auto& w : workers_) w.join();
    workers_.clear();
    stop_.store(false);
    // A worker must not miss a job posted before it first runs: it starts from this generation.
    const unsigned g0 = gen_.load(std::memory_order_acquire);
    for (int i = 1; i < n; i++) workers_.emplace_back([this, g0] { loop(g0); });
  }
  // Runs fn(ctx, 0 .. parts-1), the caller taking part too. No allocation per call.
  void run(int parts, void (*fn)(void*, int), void* ctx) {
    if (parts <= 1 || workers_.empty()) { for (int p = 0; p < parts; p++) fn(ctx, p); return; }
    fn_ = fn;
    ctx_ = ctx;
    parts_ = parts;
    done_.store(0, std::memory_order_relaxed);
    const uint64_t job = ++jobs_;
    ticket_.store(job << 32, std::memory_order_release);
    wake();
    work(job);
    while (done_.load(std::memory_order_acquire) != parts) _mm_pause();
  }

 private:
  void work(uint64_t job) {
    uint64_t v = ticket_.load(std::memory_order_acquire);
    for (;;) {
      if ((v >> 32) != job) return;
      const int p = (int)(v & 0xffffffffu);
      if (p >= parts_) return;
      if (ticket_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
        fn_(ctx_, p);
        done_.fetch_add(1, std::memory_order_release);
        v = ticket_.load(std::memory_order_acquire);
      }
    }
  }
  void wake() {
    gen_.fetch_add(1, std::memory_order_release);
    std::lock_guard<std::mutex> g(m_);
    if (sleeping_ > 0) cv_.notify_all();
  }
  void loop(unsigned seen) {
    for (;;) {
      auto t0 = std::chrono::steady_clock::now();
      for (int spins = 0; gen_.load(std::memory_order_acquire) == seen; spins++) {
        _mm_pause();
        if ((spins & 255) == 255 && std::chrono::steady_clock::now() - t0 > std::chrono::microseconds(200)) {
          std::unique_lock<std::mutex> lk(m_);
          sleeping_++;
          cv_.wait(lk, [&] { return gen_.load(std::memory_order_acquire) != seen; });
          sleeping_--;
          break;
        }
      }
      seen = gen_.load(std::memory_order_acquire);
      if (stop_.load()) return;
      work(ticket_.load(std::memory_order_acquire) >> 32);
    }
  }
  std::vector<std::thread> workers_;
  std::mutex m_;
  std::condition_variable cv_;
  int sleeping_ = 0;
  void (*fn_)(void*, int) = nullptr;
  void* ctx_ = nullptr;
  int parts_ = 0;
  uint64_t jobs_ = 0;
  std::atomic<uint64_t> ticket_{0};
  std::atomic<int> done_{0};
  std::atomic<unsigned> gen_{0};
  std::atomic<bool> stop_{false};
};

static Pool& pool() { static Pool p; return p; }
void set_threads(int n) { pool().resize(n); }
int get_threads() { return pool().size(); }
void run_parallel(int parts, void (*fn)(void*, int), void* ctx) { pool().run(parts, fn, ctx); }

/** Work below this many multiply-adds stays on one thread: waking another costs more. */
constexpr double PARALLEL_MIN = 1e6;

template <typename T>
static void gemm_split(bool transA, const BSource<T>& bs, int M, int N, int K, const T* A, T* C, bool acc) {
  constexpr int NR = Blk<T>::NR;
  const int threads = get_threads();
  const double work = (double)M * N * K;
  const int panels = (N + NR - 1) / NR;
  const int parts = (threads > 1 && work >= PARALLEL_MIN && panels >= 2) ? std::min(2 * threads, panels) : 1;
  if (parts == 1) { gemm_range<T>(transA, bs, M, N, K, A, C, acc, 0, N); return; }
  struct Job { bool transA; const BSource<T>* bs; int M, N, K; const T* A; T* C; bool acc; int panels, parts; };
  Job job{transA, &bs, M, N, K, A, C, acc, panels, parts};
  pool().run(parts, [](void* ctx, int p) {
    const Job& j = *static_cast<Job*>(ctx);
    const int j0 = std::min(j.N, (int)((long)j.panels * p / j.parts) * NR);
    const int j1 = std::min(j.N, (int)((long)j.panels * (p + 1) / j.parts) * NR);
    if (j0 < j1) gemm_range<T>(j.transA, *j.bs, j.M, j.N, j.K, j.A, j.C, j.acc, j0, j1);
  }, &job);
}

template <typename T>
void gemm(bool transA, bool transB, int M, int N, int K, const T* A, const T* B, T* C, bool acc) {
  gemm_split<T>(transA, BSource<T>{transB, B, nullptr, 0}, M, N, K, A, C, acc);
}

template void gemm<float>(bool, bool, int, int, int, const float*, const float*, float*, bool);
template void gemm<double>(bool, bool, int, int, int, const double*, const double*, double*, bool);

template <typename T>
void pack(Packed<T>& p, bool transB, const T* B, int K, int N) {
  constexpr int NR = Blk<T>::NR, KC = Blk<T>::KC;
  p.K = K; p.N = N; p.Npad = (N + NR - 1) / NR * NR;
  if (p.data.size() < (size_t)p.Npad * K) p.data.resize((size_t)p.Npad * K);
  for (int pc = 0; pc < K; pc += KC) {
    const int kc = std::min(KC, K - pc);
    pack_b(transB, B, N, K, pc, kc, 0, N, p.data.data() + (size_t)pc * p.Npad);
  }
}

template <typename T>
void gemm_packed(int M, const T* A, const Packed<T>& p, T* C, bool acc) {
  gemm_split<T>(false, BSource<T>{false, nullptr, p.data.data(), p.Npad}, M, p.N, p.K, A, C, acc);
}

template void pack<float>(Packed<float>&, bool, const float*, int, int);
template void pack<double>(Packed<double>&, bool, const double*, int, int);
template void gemm_packed<float>(int, const float*, const Packed<float>&, float*, bool);
template void gemm_packed<double>(int, const double*, const Packed<double>&, double*, bool);

template <typename T>
void add_rows(T* out, const T* v, size_t rows, size_t n) {
  for (size_t r = 0; r < rows; r++) { T* o = out + r * n; for (size_t j = 0; j < n; j++) o[j] += v[j]; }
}
template <typename T>
void sum_rows(T* out, const T* a, size_t rows, size_t n) {
  for (size_t r = 0; r < rows; r++) { const T* x = a + r * n; for (size_t j = 0; j < n; j++) out[j] += x[j]; }
}
template <typename T>
void mul_mask(T* out, const T* a, const T* m, size_t n, bool acc) {
  if (acc) {
    for (size_t i = 0; i < n; i++) out[i] += a[i] * m[i];
  } else {
    for (size_t i = 0; i < n; i++) out[i] = a[i] * m[i];
  }
}
template void mul_mask<float>(float*, const float*, const float*, size_t, bool);
template void mul_mask<double>(double*, const double*, const double*, size_t, bool);
template void add_rows<float>(float*, const float*, size_t, size_t);
template void add_rows<double>(double*, const double*, size_t, size_t);
template void sum_rows<float>(float*, const float*, size_t, size_t);
template void sum_rows<double>(double*, const double*, size_t, size_t);

// ---- activations ---------------------------------------------------------------------------

template <>
void activate<float>(int act, float* x, size_t n) {
  typedef Vec<float>::v V;
  size_t i = 0;
  if (act == TANH) {
    for (; i + 8 <= n; i += 8) storeu(x + i, tanh_v(loadu(x + i)));
    if (i < n) store_part(x + i, tanh_v(load_part(x + i, (int)(n - i))), (int)(n - i));
  } else if (act == RELU) {
    for (; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0.0f;
  } else {
    for (; i < n; i++) x[i] = 1.0f / (1.0f + std::exp(-x[i]));
  }
}

template <>
void activate<double>(int act, double* x, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const double v = x[i];
    x[i] = act == TANH ? std::tanh(v) : act == RELU ? (v > 0 ? v : 0.0) : 1.0 / (1.0 + std::exp(-v));
  }
}

template <typename T>
void activate_backward(int act, T* dpre, const T* dh, const T* dnext, const T* s, size_t n) {
  if (act == TANH) {
    for (size_t i = 0; i < n; i++) dpre[i] = (dh[i] + dnext[i]) * (T(1) - s[i] * s[i]);
  } else if (act == RELU) {
    for (size_t i = 0; i < n; i++) dpre[i] = (dh[i] + dnext[i]) * (s[i] > 0 ? T(1) : T(0));
  } else {
    for (size_t i = 0; i < n; i++) dpre[i] = (dh[i] + dnext[i]) * (s[i] * (T(1) - s[i]));
  }
}

template void activate_backward<float>(int, float*, const float*, const float*, const float*, size_t);
template void activate_backward<double>(int, double*, const double*, const double*, const double*, size_t);

bool cpu_ok() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

}  // namespace rnnk
