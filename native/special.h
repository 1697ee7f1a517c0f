// lgamma and digamma for the negative binomial's rare cells (a count of 16 or more; native/
// heads.cc), ported from src/core/special.ts operation for operation (the same constants, the same
// order of operations; the includer turns FMA contraction off), for x > 0 as there. The only
// difference is the library's log/log1p (glibc here, V8's fdlibm port there), which may round the
// last bit the other way; test/heads-kernel.test.ts measures what that leaves.
#pragma once
#include <cmath>

namespace rnnk {
namespace special {

constexpr double LN_SQRT_2PI = 0.9189385332046728;

// lgamma(2 + z) = (1 − γ)·z + Σ_{k≥2} (−1)^k (ζ(k) − 1)/k · z^k: special.ts's LGAMMA2_SERIES.
constexpr double LGAMMA2_SERIES[30] = {
    0.42278433509846713, 0.3224670334241132, -0.0673523010531981, 0.020580808427784546,
    -0.007385551028673986, 0.0028905103307415234, -0.001192753911703261, 0.0005096695247430425,
    -0.00022315475845357939, 9.945751278180853e-05, -4.492623673813314e-05, 2.050721277567069e-05,
    -9.439488275268397e-06, 4.374866789907488e-06, -2.039215753801366e-06, 9.55141213040742e-07,
    -4.492469198764566e-07, 2.1207184805554665e-07, -1.0043224823968099e-07, 4.7698101693639804e-08,
    -2.2711094608943164e-08, 1.0838659214896955e-08, -5.183475041970047e-09, 2.4836745438024785e-09,
    -1.1921401405860912e-09, 5.731367241678862e-10, -2.7595228851242334e-10, 1.330476437424449e-10,
    -6.4229645638381e-11, 3.1044247747322276e-11,
};

inline double lgamma2(double z) {
  double s = 0;
  for (int k = 29; k >= 0; k--) s = s * z + LGAMMA2_SERIES[k];
  return s * z;
}

// Stirling's series B₂ₖ/(2k(2k−1)), k = 1 … 10 (the divisions are exact-rounded, as in TypeScript).
constexpr double STIRLING[10] = {
    1.0 / 12, -1.0 / 360, 1.0 / 1260, -1.0 / 1680, 1.0 / 1188, -691.0 / 360360, 1.0 / 156, -3617.0 / 122400,
    43867.0 / 244188, -174611.0 / 125400,
};

inline double stirling_remainder(double x) {
  const double r = 1 / (x * x);
  double s = 0;
  for (int k = 9; k >= 0; k--) s = s * r + STIRLING[k];
  return s / x;
}

// special.ts lgamma.
inline double lgamma(double x) {
  if (!(x > 0)) return NAN;
  if (x == INFINITY) return INFINITY;
  if (x < 0.5) return lgamma2(x) - std::log1p(x) - std::log(x);
  if (x < 1.5) {
    const double z = x - 1;
    return lgamma2(z) - std::log1p(z);
  }
  if (x <= 2.5) return lgamma2(x - 2);
  if (x < 8) {
    double y = x, p = 1;
    while (y > 2.5) {
      y -= 1;
      p *= y;
    }
    return lgamma2(y - 2) + std::log(p);
  }
  return (x - 0.5) * std::log(x) - x + LN_SQRT_2PI + stirling_remainder(x);
}

constexpr double PSI_ROOT_HI = 1.4616321449683622;
constexpr double PSI_ROOT_LO = 9.549995429965697e-17;
constexpr double PSI_ROOT_SERIES[40] = {
    0.9676722454476212, -0.4427631689835921, 0.258499760955651, -0.16394270544240652,
    0.10782405069126237, -0.07219956125645471, 0.04880428816414311, -0.03316112647484736,
    0.022597648232218104, -0.01542476590494896, 0.010538791616612175, -0.007204534386356869,
    0.004926781395729853, -0.003369801655439328, 0.002305126326734928, -0.0015769367714301972,
    0.0010788252019162967, -0.0007380709389960052, 0.000504953265834602, -0.0003454680251063077,
    0.00023635601564027053, -0.00016170622091974803, 0.0001106337276874741, -7.569179582195066e-05,
    5.178575795222081e-05, -3.5430070947659604e-05, 2.424006611860132e-05, -1.6584242271854135e-05,
    1.134638458466385e-05, -7.762817668462094e-06, 5.3110609208898636e-06, -3.6336507898010456e-06,
    2.486022733129538e-06, -1.7008538854332607e-06, 1.1636675363548843e-06, -7.96142543124197e-07,
    5.446941930669446e-07, -3.7266161283438227e-07, 2.549626552021554e-07, -1.7443695117727745e-07,
};
constexpr double PSI_ASYMPTOTIC[8] = {
    1.0 / 12, -1.0 / 120, 1.0 / 252, -1.0 / 240, 1.0 / 132, -691.0 / 32760, 1.0 / 12, -3617.0 / 8160,
};

// special.ts digamma.
inline double digamma(double x) {
  if (!(x > 0)) return NAN;
  if (x == INFINITY) return INFINITY;
  const double z = (x - PSI_ROOT_HI) - PSI_ROOT_LO;
  if (std::fabs(z) < 0.4) {
    double s = 0;
    for (int n = 39; n >= 0; n--) s = s * z + PSI_ROOT_SERIES[n];
    return s * z;
  }
  double acc = 0;
  while (x < 10) {
    acc -= 1 / x;
    x += 1;
  }
  const double r = 1 / (x * x);
  double s = 0;
  for (int k = 7; k >= 0; k--) s = s * r + PSI_ASYMPTOTIC[k];
  return acc + std::log(x) - 0.5 / x - s * r;
}

}  // namespace special
}  // namespace rnnk
