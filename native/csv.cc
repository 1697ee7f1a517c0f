// A block of CSV rows split and their numbers read in one call: what CsvCursor.nextFast and
// DecimalScan.scan (src/data/csv-cursor.ts, decimal.ts) do a byte at a time in JS, here with AVX2
// for the field ends and the common numbers, so that a 16-column file costs one N-API call per
// thousand rows. It must find exactly what the TypeScript path finds — the same fields, values
// (bit for bit), line numbers and the same row handed to csv-parse: test/csv-cursor.test.ts
// reads the same inputs both ways.
#pragma GCC target("avx2")
#include <immintrin.h>

#include <cstdint>
#include <limits>

#include "napi-args.h"

using napiargs::Arr;
using napiargs::fail;
using napiargs::get_arr;
using napiargs::i32;

namespace {

// MAX_RECORD_BYTES in csv-cursor.ts: a longer record goes to csv-parse, which refuses it.
constexpr int64_t kMaxRecord = 1 << 20;
// DecimalScan's limits: a 15-digit mantissa is below 2^53 and every 10^k for k ≤ 22 is a double,
// so one multiplication or division rounds once (Clinger's fast path).
constexpr int kMaxDigits = 15;
constexpr double kPow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                               1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Why a scan stopped (AGAIN, MORE, SLOW in csv-cursor.ts): its room for rows or fields is full,
// the next row needs more input, or that row is csv-parse's.
enum Stop : int32_t { kAgain = 0, kMore = 1, kSlow = 2 };

inline bool blank(uint8_t c) { return c == ' ' || c == '\t'; }

// A run of digits into m, counting them, the significant ones and (in the fraction) the scale;
// false past kMaxDigits significant ones. JS sums in double, exactly since m stays below 2^53:
// the same number, without a floating-point multiply-add per digit.
inline bool digits(const uint8_t* b, int64_t& i, int64_t n, uint64_t& m, int& count, int& sig, int& scale, bool fraction) {
  for (; i < n; i++) {
    const unsigned d = b[i] - '0';
    if (d > 9) break;
    count++;
    if (fraction) scale--;
    if (sig > 0 || d > 0) {
      if (++sig > kMaxDigits) return false;
      m = m * 10 + d;
    }
  }
  return true;
}

// DecimalScan.scan: the plain decimal number at b[s..n) in *v and its end in *end; false (for
// DecimalScan's NaN) when the fast path cannot answer, then the text tells.
bool scan_decimal(const uint8_t* b, int64_t s, int64_t n, int64_t* end, double* v) {
  int64_t i = s;
  while (i < n && blank(b[i])) i++;
  bool neg = false;
  if (i < n && b[i] == '-') { neg = true; i++; } else if (i < n && b[i] == '+') i++;
  uint64_t m = 0;
  int count = 0, sig = 0, scale = 0;
  if (!digits(b, i, n, m, count, sig, scale, false)) return false;
  if (i < n && b[i] == '.') {
    i++;
    if (!digits(b, i, n, m, count, sig, scale, true)) return false;
  }
  if (count == 0) return false;
  if (i < n && (b[i] == 'e' || b[i] == 'E')) {
    i++;
    bool eneg = false;
    int ex = 0, edigits = 0;
    if (i < n && b[i] == '-') { eneg = true; i++; } else if (i < n && b[i] == '+') i++;
    for (; i < n; i++) {
      const unsigned d = b[i] - '0';
      if (d > 9) break;
      if (++edigits > 4) return false;
      ex = ex * 10 + d;
    }
    if (edigits == 0) return false;
    scale += eneg ? -ex : ex;
  }
  while (i < n && blank(b[i])) i++;
  *end = i;
  double x;
  if (m == 0) x = 0;
  else if (scale >= 0 && scale <= 22) x = (double)m * kPow10[scale];
  else if (scale < 0 && scale >= -22) x = (double)m / kPow10[-scale];
  else return false;
  *v = neg ? -x : x;  // last, so that "-0" is -0
  return true;
}

// The common number "[-]digits[.digits]" filling the field b[f..e) whole — at most 16 bytes and 15
// digits, so the sum is exact — with SSE: its digits right-aligned by one shuffle and summed by
// multiply-adds, where scan_decimal would take a branch per byte. The same double (m, scale and
// the sign as scan_decimal has them); false for anything else, which scan_decimal then reads.
inline bool simple_number(const uint8_t* b, int64_t f, int64_t e, int64_t n, double* v) {
  const int len = (int)(e - f);
  if (len < 1 || len > 16 || f + 16 > n) return false;
  const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + f));
  const int p = b[f] == '-';  // the first digit's place
  const __m128i d = _mm_sub_epi8(x, _mm_set1_epi8('0'));
  const uint32_t digit = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d));
  const uint32_t field = ((1u << len) - 1) & ~((1u << p) - 1);
  const uint32_t dot = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('.'))) & field;
  if ((dot & (dot - 1)) != 0 || (digit & field) != (field & ~dot)) return false;
  const int count = __builtin_popcount(field & ~dot);
  if (count == 0 || count > kMaxDigits) return false;
  const int at = dot ? __builtin_ctz(dot) : -1;
  // Lane j takes the digit 15 − j places from the end: from place j + len − 16, one place lower
  // at or before the point, none before the first digit.
  __m128i idx = _mm_add_epi8(_mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm_set1_epi8((char)(len - 16)));
  idx = _mm_add_epi8(idx, _mm_cmpgt_epi8(_mm_set1_epi8((char)(at + 1)), idx));
  idx = _mm_or_si128(idx, _mm_cmpgt_epi8(_mm_set1_epi8((char)p), idx));
  const __m128i digits16 = _mm_shuffle_epi8(d, idx);
  const __m128i pairs = _mm_maddubs_epi16(digits16, _mm_setr_epi8(10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1));
  const __m128i fours = _mm_madd_epi16(pairs, _mm_setr_epi16(100, 1, 100, 1, 100, 1, 100, 1));
  const __m128i eights = _mm_madd_epi16(_mm_packus_epi32(fours, fours), _mm_setr_epi16(10000, 1, 10000, 1, 10000, 1, 10000, 1));
  const uint64_t m = (uint64_t)(uint32_t)_mm_cvtsi128_si32(eights) * 100000000 + (uint32_t)_mm_extract_epi32(eights, 1);
  // m / 1 is m and 0 / 10^k is +0, as scan_decimal has them: no case of their own.
  const double y = (double)m / kPow10[dot ? len - 1 - at : 0];
  *v = p ? -y : y;
  return true;
}

// Where the field from i on ends: its first comma, LF, CR or quote, else n. 32 bytes at a time.
inline int64_t find_special(const uint8_t* b, int64_t i, int64_t n) {
  const __m256i comma = _mm256_set1_epi8(','), lf = _mm256_set1_epi8('\n'), cr = _mm256_set1_epi8('\r'),
                quote = _mm256_set1_epi8('"');
  for (; i + 32 <= n; i += 32) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i));
    const __m256i hit = _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(x, comma), _mm256_cmpeq_epi8(x, lf)),
                                        _mm256_or_si256(_mm256_cmpeq_epi8(x, cr), _mm256_cmpeq_epi8(x, quote)));
    const uint32_t mask = (uint32_t)_mm256_movemask_epi8(hit);
    if (mask) return i + __builtin_ctz(mask);
  }
  for (; i < n; i++) {
    const uint8_t c = b[i];
    if (c == ',' || c == '\n' || c == '\r' || c == '"') break;
  }
  return i;
}

struct Block {
  const uint8_t* b;
  int64_t n;
  bool eof;
  int32_t* rows;  // per row: its first field, its width, its line counted from the scan's start
  int64_t max_rows;
  int32_t* starts;
  int32_t* ends;
  double* values;
  int64_t max_fields;
};

// Rows from `pos` on until one cannot be taken here; pos, the rows and the lines (blank ones too)
// taken before that row come back in *pos, *nrows and *lines. The stopping row is left whole.
Stop scan(const Block& k, bool first, int64_t* pos, int64_t* nrows, int64_t* lines) {
  const uint8_t* const b = k.b;
  const int64_t n = k.n;
  int64_t fields = 0;
  for (;;) {
    const int64_t s = *pos;
    if (s >= n) return kMore;
    // UTF-16LE's byte-order mark: csv-parse decodes the file as UTF-16.
    if (first && *lines == 0 && s == 0 && n >= 2 && b[0] == 0xff && b[1] == 0xfe) return kSlow;
    if (*nrows == k.max_rows) return kAgain;
    int64_t w = 0, i = s, end, next;
    for (;;) {
      if (fields + w == k.max_fields) return kAgain;
      const int64_t f = i;
      i = find_special(b, f, n);
      if (i < n && b[i] == '"') return kSlow;
      if (i < n && b[i] == '\r') {
        if (i + 1 == n) return k.eof ? kSlow : kMore;  // the LF may come in the next chunk
        if (b[i + 1] != '\n') return kSlow;
      }
      // A number's characters are none of the special ones, so it is the field's number only
      // if it ends where the field does: text after it makes the field text.
      int64_t stop;
      double v;
      if (!simple_number(b, f, i, n, &v) && (!scan_decimal(b, f, n, &stop, &v) || stop != i)) v = kNaN;
      k.starts[fields + w] = (int32_t)f;
      k.ends[fields + w] = (int32_t)i;
      k.values[fields + w] = v;
      w++;
      if (i >= n) {
        if (n - s > kMaxRecord) return kSlow;
        if (!k.eof) return kMore;
        end = n;
        next = n;
        break;
      }
      if (b[i] == ',') { i++; continue; }
      end = i;
      next = b[i] == '\r' ? i + 2 : i + 1;
      break;
    }
    if (end - s > kMaxRecord) return kSlow;
    ++*lines;
    *pos = next;
    if (end == s) continue;  // a blank line
    int32_t* r = k.rows + 3 * *nrows;
    r[0] = (int32_t)fields;
    r[1] = (int32_t)w;
    r[2] = (int32_t)*lines;
    fields += w;
    ++*nrows;
  }
}

}  // namespace

// scanRows(buf: Uint8Array, pos, eof, first, rows: Int32Array, starts: Int32Array,
//          ends: Int32Array, values: Float64Array, out: Int32Array) → stop
// Splits rows of buf from pos on (eof: no more input follows; first: no line read yet), row r's
// fields f…f+w−1 (f = rows[3r], w = rows[3r+1]) at buf[starts[f]..ends[f]) with values[f] the
// number or NaN, on line rows[3r+2] counted from pos. out = [rows, pos after them, lines after
// them]; the result says why it stopped: 0 rows or fields full, 1 more input needed, 2 the row at
// out[1] is csv-parse's.
napi_value ScanRows(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value a[9];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  Arr buf, rows, starts, ends, values, out;
  if (argc < 9 || !get_arr(env, a[0], &buf) || buf.type != napi_uint8_array || !get_arr(env, a[4], &rows) ||
      rows.type != napi_int32_array || !get_arr(env, a[5], &starts) || starts.type != napi_int32_array ||
      !get_arr(env, a[6], &ends) || ends.type != napi_int32_array || !get_arr(env, a[7], &values) ||
      values.type != napi_float64_array || !get_arr(env, a[8], &out) || out.type != napi_int32_array) {
    return fail(env, "scanRows: arguments");
  }
  int64_t pos = i32(env, a[1]);
  const size_t fields = starts.length < ends.length ? starts.length : ends.length;
  if (pos < 0 || (size_t)pos > buf.length || buf.length > INT32_MAX || rows.length < 3 || fields == 0 ||
      values.length < fields || out.length < 3) {
    return fail(env, "scanRows: out of bounds");
  }
  const Block k{static_cast<const uint8_t*>(buf.data), (int64_t)buf.length, i32(env, a[2]) != 0,
                static_cast<int32_t*>(rows.data), (int64_t)rows.length / 3, static_cast<int32_t*>(starts.data),
                static_cast<int32_t*>(ends.data), static_cast<double*>(values.data), (int64_t)fields};
  int64_t nrows = 0, lines = 0;
  const Stop stop = scan(k, i32(env, a[3]) != 0, &pos, &nrows, &lines);
  int32_t* o = static_cast<int32_t*>(out.data);
  o[0] = (int32_t)nrows;
  o[1] = (int32_t)pos;
  o[2] = (int32_t)lines;
  napi_value res;
  napi_create_int32(env, stop, &res);
  return res;
}
