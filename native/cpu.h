// What the CPU is (CPUID: vendor, family, model, ISA; cache sizes) and the kernel choices made
// from it at load time: the GEMM's vector width, when a product or a gate step is split over the
// threads, and how a window's recurrence is split. Every choice changes speed only, never bits:
// each element is computed by the same operations in the same order whichever is taken.
#pragma once
#include <string>

namespace rnnk {

struct CpuInfo {
  std::string vendor;  // "AuthenticAMD", "GenuineIntel", ...
  std::string name;    // the brand string, e.g. "AMD EPYC 9B45"
  int family = 0, model = 0;
  bool avx2 = false, fma = false, avx512f = false;  // the CPU has it and the OS saves its registers
  // Per core (L1d, L2) and in all (L3), bytes; 0 where CPUID does not say.
  long l1d = 0, l2 = 0, l3 = 0;
  // The micro-architecture, for reports: "zen4", "zen5", "intel-avx512", ...
  std::string arch;
};

struct Tuning {
  bool gemm512 = false;          // the GEMM's AVX-512 kernels (else AVX2)
  bool gates512 = false;         // the float32 forward gates on 16 lanes (else 8)
  double parallel_min = 1e6;     // multiply-adds from which a product is split over the threads
  double parallel_min_row = 1.5e5;  // the same for a one-row product (a batch-1 stream's step)
  long gates_parallel_min = 1L << 15;  // elements (B·H) from which a gate step is split
  // A window's recurrence split by batch rows (each thread runs its rows through every step,
  // no barrier per step) when W_hh packed takes at most this many bytes: it must stay in each
  // core's own L2, since every core reads all of it at every step. 0: never.
  long rows_split_max_bytes = 0;
  std::string why;               // one line: what the choices were made from
};

const CpuInfo& cpu_info();
Tuning& tuning();

}  // namespace rnnk
