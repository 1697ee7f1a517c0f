// CPUID, read once, and the kernel choices made from it (cpu.h). Environment overrides, for
// measuring one choice against another: RNN_GEMM_ISA=avx2|avx512, RNN_ROWS_SPLIT=0|<bytes>.
#include "cpu.h"

#include <cpuid.h>

#include <cstdlib>
#include <cstring>

namespace rnnk {

namespace {

void cpuid(unsigned leaf, unsigned sub, unsigned r[4]) { __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]); }

// The register state the OS saves (XCR0; 0 without OSXSAVE): AVX needs YMM (bits 1–2), AVX-512
// the ZMM state too (bits 5–7); without it they fault whatever CPUID says.
unsigned os_xcr0() {
  unsigned r[4];
  cpuid(1, 0, r);
  if (!(r[2] & (1u << 27))) return 0;  // OSXSAVE
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return lo;
}

// Cache sizes from the deterministic cache parameters: leaf 4 (Intel) or 0x8000001D (AMD).
void caches(CpuInfo& c) {
  const unsigned leaf = c.vendor == "AuthenticAMD" ? 0x8000001Du : 4u;
  unsigned r[4];
  cpuid(leaf & 0x80000000u, 0, r);
  if (r[0] < leaf) return;
  for (unsigned i = 0; i < 16; i++) {
    cpuid(leaf, i, r);
    const unsigned type = r[0] & 31, level = (r[0] >> 5) & 7;
    if (type == 0) break;
    if (type == 2) continue;  // instruction cache
    const long ways = ((r[1] >> 22) & 1023) + 1, parts = ((r[1] >> 12) & 1023) + 1;
    const long line = (r[1] & 4095) + 1, sets = (long)r[2] + 1;
    const long size = ways * parts * line * sets;
    if (level == 1) c.l1d = size;
    else if (level == 2) c.l2 = size;
    else if (level == 3) c.l3 = size;
  }
}

CpuInfo read_cpu() {
  CpuInfo c;
  unsigned r[4];
  cpuid(0, 0, r);
  char v[13] = {0};
  std::memcpy(v, &r[1], 4); std::memcpy(v + 4, &r[3], 4); std::memcpy(v + 8, &r[2], 4);
  c.vendor = v;
  cpuid(1, 0, r);
  const unsigned base = (r[0] >> 8) & 15, ext = (r[0] >> 20) & 255;
  c.family = (int)(base == 15 ? base + ext : base);
  c.model = (int)(((r[0] >> 4) & 15) | (base == 6 || base == 15 ? ((r[0] >> 16) & 15) << 4 : 0));
  const unsigned xcr0 = os_xcr0();
  const bool ymm = (xcr0 & 0x6) == 0x6, zmm = (xcr0 & 0xe6) == 0xe6;
  c.fma = (r[2] & (1u << 12)) && ymm;
  cpuid(7, 0, r);
  c.avx2 = (r[1] & (1u << 5)) && ymm;
  c.avx512f = (r[1] & (1u << 16)) && zmm;
  cpuid(0x80000000u, 0, r);
  if (r[0] >= 0x80000004u) {
    char name[49] = {0};
    for (unsigned i = 0; i < 3; i++) { cpuid(0x80000002u + i, 0, r); std::memcpy(name + 16 * i, r, 16); }
    std::string s = name;
    const size_t a = s.find_first_not_of(' '), b = s.find_last_not_of(' ');
    c.name = a == std::string::npos ? "" : s.substr(a, b - a + 1);
  }
  caches(c);
  if (c.vendor == "AuthenticAMD") {
    c.arch = c.family == 0x19 ? (c.avx512f ? "zen4" : "zen3") : c.family == 0x1a ? "zen5" : c.family == 0x17 ? "zen2" : "amd";
  } else if (c.vendor == "GenuineIntel") {
    c.arch = c.avx512f ? "intel-avx512" : "intel-avx2";
  } else {
    c.arch = "other";
  }
  return c;
}

Tuning choose(const CpuInfo& c) {
  Tuning t;
  // AVX-512 wherever the CPU and the OS have it. Zen 4 too, though it runs a 512-bit FMA as two
  // 256-bit halves: measured there (EPYC family 0x19 model 0x11, 2026-12-08, bench/isa-ab.mjs,
  // alternating in one process) the AVX2 GEMM lost on all nine standard workloads, by 3-18%
  // (half the instructions for the same FLOPs, 32 registers for the micro-tile).
  t.gemm512 = c.avx512f;
  // The gates' tanh and sigmoid, elementwise, at the GEMM's width (on Zen 4 the two widths were
  // within the noise of each other, 0.95-1.06; on Zen 5 16 lanes halve a gate step).
  t.gates512 = t.gemm512;
  // Rows split while every core can keep all of W_hh in its own L2 (1 MB: an LSTM up to H 256,
  // an Elman up to H 512). Measured on Zen 5 (1 MB L2), 2 threads, B 32: Elman H 64 3.2 → 1.8
  // µs a step, GRU H 64 8.7 → 5.1, LSTM H 256 74 → 65; at H 1024 (4–16 MB) it loses 4–12%.
  t.rows_split_max_bytes = c.l2 > 0 ? c.l2 : 256 * 1024;
  t.why = c.vendor + " family " + std::to_string(c.family) + " model " + std::to_string(c.model) + " (" + c.arch + "), L1d " +
          std::to_string(c.l1d / 1024) + " KB, L2 " + std::to_string(c.l2 / 1024) + " KB, L3 " + std::to_string(c.l3 / 1024 / 1024) + " MB";
  if (const char* e = std::getenv("RNN_GEMM_ISA")) {
    if (std::strcmp(e, "avx2") == 0) t.gemm512 = t.gates512 = false;
    else if (std::strcmp(e, "avx512") == 0) t.gemm512 = t.gates512 = c.avx512f;
    t.why += "; RNN_GEMM_ISA=" + std::string(e);
  }
  if (const char* e = std::getenv("RNN_ROWS_SPLIT")) {
    t.rows_split_max_bytes = std::atol(e);
    t.why += "; RNN_ROWS_SPLIT=" + std::string(e);
  }
  return t;
}

}  // namespace

const CpuInfo& cpu_info() {
  static const CpuInfo c = read_cpu();
  return c;
}

Tuning& tuning() {
  static Tuning t = choose(cpu_info());
  return t;
}

}  // namespace rnnk
