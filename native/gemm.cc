// Packed, register-tiled GEMM (the BLIS loop order: jc → pc → ic → jr → ir; gemm-kernel.h)
// on AVX2 + FMA, or on AVX-512 (gemm512.cc) where the CPU has it; the thread pool; the
// activation loops. Every element of C is summed over k in the same order whatever the ISA and
// the thread count, so the results depend on neither.
#pragma GCC target("avx2,fma")
#include "gemm.h"
#include "cpu.h"
#include "gates-rows.h"
#include "gemm-kernel.h"
#include "simd.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace rnnk {


// AVX2 + FMA operations for gemm-kernel.h: one 256-bit register of float or double.
template <typename E> struct Avx2;
template <> struct Avx2<float> {
  typedef float T;
  typedef __m256 V;
  static constexpr int L = 8, MR = 6;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
};
template <> struct Avx2<double> {
  typedef double T;
  typedef __m256d V;
  static constexpr int L = 4, MR = 6;
  static V zero() { return _mm256_setzero_pd(); }
  static V load(const double* p) { return _mm256_loadu_pd(p); }
  static void store(double* p, V v) { _mm256_storeu_pd(p, v); }
  static V bcast(const double* p) { return _mm256_broadcast_sd(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V add(V a, V b) { return _mm256_add_pd(a, b); }
};

// The AVX-512 instantiations of gemm-kernel.h (gemm512.cc): panels twice as wide.
template <typename T> constexpr int NR512 = 2 * 64 / (int)sizeof(T);
template <typename T>
void gemm_range512(bool transA, const BSource<T>& bs, int M, int N, int K, const T* A, T* C, bool acc, int i_begin, int i_end, int j_begin, int j_end);
template <typename T>
void pack512(Packed<T>& p, bool transB, const T* B, int K, int N);

namespace {
// Products of unpacked B, and B packed from now on, use the ISA chosen from the CPU (cpu.cc).
std::atomic<bool> g_wide{tuning().gemm512};
}  // namespace

bool set_gemm_isa(bool avx512) {
  if (avx512 && !cpu_info().avx512f) return false;
  g_wide.store(avx512);
  return true;
}
bool gemm_isa_avx512() { return g_wide.load(); }

// ---- a small thread pool -----------------------------------------------------------------
// A job is split into parts; thread t of n owns the contiguous parts [t·parts/n, (t+1)·parts/n)
// and runs those first, so that a product split by columns gives each core the same columns of
// B at every step and its share of B stays in that core's L2 (on 2 cores with 1 MB L2 each, an
// LSTM's 1 MB W_hh at H 256 fits only as two halves). The ticket (job << 32 | a bit per claimed
// part) is claimed part by part with a CAS, so whoever is running then takes the parts nobody
// has: when the other core is busy elsewhere the caller does every part itself instead of
// waiting for a worker the OS has not scheduled. Workers spin briefly for the next job (a
// training loop calls in every few microseconds), then sleep on a condition variable.

class Pool {
 public:
  static constexpr int MAX_PARTS = 32;
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
    for (int i = 1; i < n; i++) workers_.emplace_back([this, g0, i] { loop(g0, i); });
  }
  // Runs fn(ctx, 0 .. parts-1), the caller taking part too. No allocation per call. Inside a
  // part (a thread already running a job's share) the parts run in line, on that thread.
  void run(int parts, void (*fn)(void*, int), void* ctx) {
    if (parts <= 1 || workers_.empty() || in_part_) { for (int p = 0; p < parts; p++) fn(ctx, p); return; }
    if (parts > MAX_PARTS) { // more parts than ticket bits: run them in rounds of MAX_PARTS
      struct Round { void (*fn)(void*, int); void* ctx; int base; };
      for (int base = 0; base < parts; base += MAX_PARTS) {
        Round r{fn, ctx, base};
        run(std::min(MAX_PARTS, parts - base), [](void* c, int p) { const Round& q = *static_cast<Round*>(c); q.fn(q.ctx, q.base + p); }, &r);
      }
      return;
    }
    fn_ = fn;
    ctx_ = ctx;
    parts_.store(parts, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    const uint64_t job = ++jobs_;
    // Bits from `parts` up are set already: no such part to claim.
    const uint64_t none = parts == 32 ? 0 : (0xffffffffull << parts) & 0xffffffffull;
    ticket_.store(job << 32 | none, std::memory_order_release);
    wake();
    work(0);
    while (done_.load(std::memory_order_acquire) != parts) _mm_pause();
  }

 private:
  void work(int self) {
    uint64_t v = ticket_.load(std::memory_order_acquire);
    const uint64_t job = v >> 32;
    const int n = size();
    // parts_ may already be a later job's: the bits decide, it only orders the search.
    const int parts = std::min(std::max(parts_.load(std::memory_order_relaxed), 1), MAX_PARTS);
    const int own = (int)((long)parts * self / n);
    for (int i = 0; i < MAX_PARTS; i++) {
      const int p = (own + i) % MAX_PARTS;
      const uint64_t bit = 1ull << p;
      for (;;) {
        if ((v >> 32) != job || (v & 0xffffffffull) == 0xffffffffull) return;
        if (v & bit) break;
        if (ticket_.compare_exchange_weak(v, v | bit, std::memory_order_acq_rel, std::memory_order_acquire)) {
          in_part_ = true;
          fn_(ctx_, p);
          in_part_ = false;
          done_.fetch_add(1, std::memory_order_release);
          v = ticket_.load(std::memory_order_acquire);
          break;
        }
      }
    }
  }
  void wake() {
    gen_.fetch_add(1, std::memory_order_release);
    std::lock_guard<std::mutex> g(m_);
    if (sleeping_ > 0) cv_.notify_all();
  }
  void loop(unsigned seen, int self) {
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
      work(self);
    }
  }
  static thread_local bool in_part_;
  std::vector<std::thread> workers_;
  std::mutex m_;
  std::condition_variable cv_;
  int sleeping_ = 0;
  void (*fn_)(void*, int) = nullptr;
  void* ctx_ = nullptr;
  std::atomic<int> parts_{0};
  uint64_t jobs_ = 0;
  std::atomic<uint64_t> ticket_{0};
  std::atomic<int> done_{0};
  std::atomic<unsigned> gen_{0};
  std::atomic<bool> stop_{false};
};

thread_local bool Pool::in_part_ = false;

static Pool& pool() { static Pool p; return p; }
void set_threads(int n) { pool().resize(n); }
int get_threads() { return pool().size(); }
void run_parallel(int parts, void (*fn)(void*, int), void* ctx) { pool().run(parts, fn, ctx); }

// Work below tuning().parallel_min multiply-adds stays on one thread: waking another costs more.
// One row (a batch-1 stream's step) splits from a lower count, parallel_min_row: such a product
// reads all of B for one row of A, so split by columns each core streams half of B from its own
// cache (LSTM stream inference at H 256, B 256 × 1024: 51–53k → 69–82k rows/s on 2 threads).

// One product over the pool; `wide`: the AVX-512 kernels (B, if prepacked, in their panels).
// Each part packs what it multiplies: split by columns, every part packs all of A; split by
// rows, all of B. So a product whose B is packed per call splits along the longer side (rows
// when M ≥ N: the weight gradients, M = G·H by K = T·B rows), and into one part per thread,
// packing the shorter side once per thread; a prepacked B (W_hh) splits by columns, so that
// each core reads its own half of it at every step.
template <typename T>
static void gemm_split(bool transA, const BSource<T>& bs, int M, int N, int K, const T* A, T* C, bool acc, bool wide) {
  const int NR = wide ? NR512<T> : 2 * Avx2<T>::L, MR = wide ? MR_AVX512 : Avx2<T>::MR;
  const auto range = wide ? &gemm_range512<T> : &gemm_range<Avx2<T>>;
  const int threads = get_threads();
  const double work = (double)M * N * K;
  const int panels = (N + NR - 1) / NR, tiles = (M + MR - 1) / MR;
  const Tuning& tu = tuning();
  const bool big = threads > 1 && work >= (M == 1 ? tu.parallel_min_row : tu.parallel_min);
  const bool by_rows = big && !bs.prepacked && M >= N && tiles >= 2;
  const int parts = !big ? 1 : by_rows ? std::min(threads, tiles) : panels < 2 ? 1 : std::min(bs.prepacked ? 2 * threads : threads, panels);
  if (parts == 1) { range(transA, bs, M, N, K, A, C, acc, 0, M, 0, N); return; }
  struct Job { decltype(range) f; bool transA; const BSource<T>* bs; int M, N, K; const T* A; T* C; bool acc; int NR, MR, panels, tiles, parts; bool by_rows; };
  Job job{range, transA, &bs, M, N, K, A, C, acc, NR, MR, panels, tiles, parts, by_rows};
  pool().run(parts, [](void* ctx, int p) {
    const Job& j = *static_cast<Job*>(ctx);
    if (j.by_rows) { // whole MR-row tiles a part
      const int i0 = std::min(j.M, (int)((long)j.tiles * p / j.parts) * j.MR), i1 = std::min(j.M, (int)((long)j.tiles * (p + 1) / j.parts) * j.MR);
      if (i0 < i1) j.f(j.transA, *j.bs, j.M, j.N, j.K, j.A, j.C, j.acc, i0, i1, 0, j.N);
      return;
    }
    const int j0 = std::min(j.N, (int)((long)j.panels * p / j.parts) * j.NR);
    const int j1 = std::min(j.N, (int)((long)j.panels * (p + 1) / j.parts) * j.NR);
    if (j0 < j1) j.f(j.transA, *j.bs, j.M, j.N, j.K, j.A, j.C, j.acc, 0, j.M, j0, j1);
  }, &job);
}

// A result narrower than half a panel (the input weights' gradient of a model with few inputs,
// N = In) wastes most of each micro-tile's columns: its transpose Cᵀ = op(B)ᵀ·op(A)ᵀ, N rows
// by M columns, fills them. Cᵀ starts as C's transpose, so each element is C + the same
// k-blocks' FMA chains in the same order (a·b = b·a exactly): the same bits as directly.
template <typename T>
void gemm(bool transA, bool transB, int M, int N, int K, const T* A, const T* B, T* C, bool acc) {
  const bool wide = g_wide.load(std::memory_order_relaxed);
  const int NR = wide ? NR512<T> : 2 * Avx2<T>::L;
  if (2 * N < NR && M > N && K > 0) {
    thread_local std::vector<T> ct;
    if (ct.size() < (size_t)M * N) ct.resize((size_t)M * N);
    if (acc) for (int i = 0; i < M; i++) for (int j = 0; j < N; j++) ct[(size_t)j * M + i] = C[(size_t)i * N + j];
    gemm_split<T>(!transB, BSource<T>{!transA, A, nullptr, 0}, N, M, K, B, ct.data(), acc, wide);
    for (int i = 0; i < M; i++) for (int j = 0; j < N; j++) C[(size_t)i * N + j] = ct[(size_t)j * M + i];
    return;
  }
  gemm_split<T>(transA, BSource<T>{transB, B, nullptr, 0}, M, N, K, A, C, acc, wide);
}

template void gemm<float>(bool, bool, int, int, int, const float*, const float*, float*, bool);
template void gemm<double>(bool, bool, int, int, int, const double*, const double*, double*, bool);

template <typename T>
void pack(Packed<T>& p, bool transB, const T* B, int K, int N) {
  if (g_wide.load(std::memory_order_relaxed)) pack512<T>(p, transB, B, K, N);
  else pack_all<Avx2<T>>(p, transB, B, K, N);
}

template <typename T>
void gemm_packed(int M, const T* A, const Packed<T>& p, T* C, bool acc) {
  // The kernels the panels were packed for, whatever the ISA setting is now.
  gemm_split<T>(false, BSource<T>{false, nullptr, p.data.data(), p.Npad}, M, p.N, p.K, A, C, acc, p.NR == NR512<T>);
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
  size_t i = 0;
  if (act == TANH && tuning().gates512) {
    tanh512(x, n);
  } else if (act == TANH) {
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

bool cpu_ok() { return cpu_info().avx2 && cpu_info().fma; }

}  // namespace rnnk
