// Numbers as ECMAScript's Number::toString prints them (SPEC §2: the shortest text that reads
// back to the same double), written straight into a byte buffer: predict's output rows without
// a JS string per value. std::to_chars gives the shortest round-trip digits (ties to the value
// nearest, as ECMAScript asks); the layout below is Number::toString's (ECMA-262 §6.1.6.1.20).
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "napi-args.h"

using napiargs::Arr;
using napiargs::fail;
using napiargs::get_arr;
using napiargs::i32;

namespace {

// Worst case of one number: "-" + 17 digits + "." + "e-324"-style exponent, or "0.000000" + 17.
constexpr int kMaxNumber = 32;

char* write_number(char* p, double x) {
  if (std::isnan(x)) { std::memcpy(p, "NaN", 3); return p + 3; }
  if (x == 0) { *p = '0'; return p + 1; }  // -0 too, as String(-0)
  if (x < 0) { *p++ = '-'; x = -x; }
  if (std::isinf(x)) { std::memcpy(p, "Infinity", 8); return p + 8; }
  if (x < 9007199254740992.0 && x == std::floor(x)) {  // a whole number below 2^53 (the step t): its digits
    return std::to_chars(p, p + kMaxNumber, (uint64_t)x).ptr;
  }
  char sci[kMaxNumber];
  const auto r = std::to_chars(sci, sci + sizeof sci, x, std::chars_format::scientific);
  // sci is d[.ddd]e±XX: the digits s (k of them) and the exponent n − 1.
  char digits[20];
  int k = 0;
  const char* q = sci;
  for (; q < r.ptr && *q != 'e'; q++) if (*q != '.') digits[k++] = *q;
  int e10 = 0;
  const bool eneg = q + 1 < r.ptr && q[1] == '-';
  for (q += 2; q < r.ptr; q++) e10 = e10 * 10 + (*q - '0');
  const int n = (eneg ? -e10 : e10) + 1;
  if (k <= n && n <= 21) {
    std::memcpy(p, digits, k); p += k;
    for (int i = k; i < n; i++) *p++ = '0';
  } else if (0 < n && n <= 21) {
    std::memcpy(p, digits, n); p += n;
    *p++ = '.';
    std::memcpy(p, digits + n, k - n); p += k - n;
  } else if (-6 < n && n <= 0) {
    *p++ = '0'; *p++ = '.';
    for (int i = 0; i < -n; i++) *p++ = '0';
    std::memcpy(p, digits, k); p += k;
  } else {
    *p++ = digits[0];
    if (k > 1) { *p++ = '.'; std::memcpy(p, digits + 1, k - 1); p += k - 1; }
    *p++ = 'e';
    *p++ = n - 1 < 0 ? '-' : '+';
    const auto e = std::to_chars(p, p + 8, n - 1 < 0 ? 1 - n : n - 1);
    p = e.ptr;
  }
  return p;
}

}  // namespace

// formatRows(values: Float64Array, rows, cols, prefix: Uint8Array, t0, out: Uint8Array, at) → end
// Writes `rows` CSV lines: prefix, the step t0 + r, then the row's `cols` values, comma-separated.
// Returns the offset after the last byte written, or −1 when `out` has too little room.
napi_value FormatRows(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value a[7];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  Arr v, prefix, out;
  if (argc < 7 || !get_arr(env, a[0], &v) || v.type != napi_float64_array || !get_arr(env, a[3], &prefix) ||
      prefix.type != napi_uint8_array || !get_arr(env, a[5], &out) || out.type != napi_uint8_array) {
    return fail(env, "formatRows: arguments");
  }
  const int64_t rows = i32(env, a[1]), cols = i32(env, a[2]), at = i32(env, a[6]);
  double t0 = 0;
  napi_get_value_double(env, a[4], &t0);
  if (rows < 0 || cols < 0 || rows * cols > (int64_t)v.length || at < 0 || at > (int64_t)out.length) {
    return fail(env, "formatRows: out of bounds");
  }
  const double* vals = static_cast<const double*>(v.data);
  char* base = static_cast<char*>(out.data);
  char* p = base + at;
  char* const end = base + out.length;
  const int64_t line_max = (int64_t)prefix.length + kMaxNumber * (cols + 1) + 1;
  int64_t written = -1;
  if (end - p >= rows * line_max) {
    for (int64_t r = 0; r < rows; r++) {
      std::memcpy(p, prefix.data, prefix.length);
      p += prefix.length;
      p = write_number(p, t0 + (double)r);
      for (int64_t c = 0; c < cols; c++) {
        *p++ = ',';
        p = write_number(p, vals[r * cols + c]);
      }
      *p++ = '\n';
    }
    written = p - base;
  }
  napi_value res;
  napi_create_double(env, (double)written, &res);
  return res;
}
