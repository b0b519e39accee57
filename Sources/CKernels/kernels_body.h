/* The kernel bodies, included once per ISA by kernels_*.c with M2M_SUFFIX and
 * M2M_TARGET defined. Plain loops the vectorizer widens to the ISA; every element sees
 * the same operations in the same order whatever the width. */
#include <stdint.h>
#include <string.h>
#include <math.h>

#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

#define M2M_CAT2(a, b) a##_##b
#define M2M_CAT(a, b) M2M_CAT2(a, b)
#define M2M_NAME(n) M2M_CAT(n, M2M_SUFFIX)

/* 2^t for t already clamped to [-126, 127]: 2^k by the 1.5 * 2^23 rounding trick, then
 * 2^g on |g| <= 1/2 as a degree-6 polynomial fitted to the relative error of 2^g (below
 * 2e-9 in exact arithmetic), evaluated in Estrin's scheme (a short dependency chain) with
 * fused multiply-adds (fmaf: one rounding, the same bits in every variant). 2^k is applied
 * by adding k to the exponent field of p in [0.7, 1.42], one integer add instead of a
 * multiply: exact wherever the result is a normal float, and below 2^-125, where it is not,
 * the result only ever meets 1 + e, which rounds to 1 either way. These loops are bound by
 * the count of vector operations, not by multiplies alone (measured on Zen 4: gelu 1.30 ->
 * 1.13 ns per element and core against the unfused form with a scale multiply). */
static inline __attribute__((always_inline)) float M2M_NAME(exp2_clamped)(float t) {
    float shifted = t + 12582912.0f;
    float k = shifted - 12582912.0f;
    float g = t - k;
    float g2 = g * g, g4 = g2 * g2;
    float q01 = fmaf(0.6931471825f, g, 1.0f);
    float q23 = fmaf(0.05550328642f, g, 0.2402264625f);
    float q45 = fmaf(0.001339994371f, g, 0.009618483484f);
    float p = fmaf(g4, fmaf(g2, 0.0001534728071f, q45), fmaf(g2, q23, q01));
    uint32_t shiftedBits, pBits;
    memcpy(&shiftedBits, &shifted, 4);
    memcpy(&pBits, &p, 4);
    pBits += shiftedBits << 23;      /* the low bits of shifted hold k; 0x4B400000 << 23 wraps to 0 */
    memcpy(&p, &pBits, 4);
    return p;
}

/* The exp term of gelu and its derivative, e = exp(-2u) = 2^t with
 * t = x (a + b x^2), a = -2 sqrt(2/pi) / ln 2, b = 0.044715 a. */
static inline __attribute__((always_inline)) float M2M_NAME(gelu_exp)(float x) {
    float t = x * fmaf(-0.1029432396f, x * x, -2.302208198f);
    t = t > -126.0f ? t : -126.0f;   /* vmaxps then vminps (a NaN becomes -126; gelu still returns x's NaN) */
    t = t < 127.0f ? t : 127.0f;
    return M2M_NAME(exp2_clamped)(t);
}

/* d gelu / dx from s = 1 / (1 + gelu_exp(x)) = sigmoid(2u) and h = x s = gelu(x):
 * s + 2 x s (1 - s) u'(x) = s + h (1 - s) (2 sqrt(2/pi) + 6 sqrt(2/pi) 0.044715 x^2). */
static inline __attribute__((always_inline)) float M2M_NAME(gelu_derivative_from_sigmoid)(float x, float s, float h) {
    return fmaf(h * (1.0f - s), fmaf(0.2140644488f, x * x, 1.5957691216f), s);
}

static inline __attribute__((always_inline)) float M2M_NAME(gelu1)(float x) {
    return x * (1.0f / (1.0f + M2M_NAME(gelu_exp)(x)));
}

static inline __attribute__((always_inline)) float M2M_NAME(gelu_derivative1)(float x) {
    const float s = 1.0f / (1.0f + M2M_NAME(gelu_exp)(x));
    return M2M_NAME(gelu_derivative_from_sigmoid)(x, s, x * s);
}

/* Outputs may alias inputs exactly (in place: y == x), never partially, so the loops
 * are vectorized without the run-time overlap check, which would send the in-place
 * calls (GEMM epilogues) to the scalar loop. The gelu loops are latency-bound chains
 * (exp, then a division): interleaving M2M_INTERLEAVE independent vectors per
 * iteration lets them overlap (measured: 1.5-1.8x on Zen 4). Neither reorders anything
 * within an element. */
#define M2M_PRAGMA(x) _Pragma(#x)
#define M2M_ELEMENTWISE M2M_PRAGMA(clang loop vectorize(assume_safety))
#define M2M_INTERLEAVED M2M_PRAGMA(clang loop vectorize(assume_safety) interleave_count(M2M_INTERLEAVE))

M2M_TARGET void M2M_NAME(m2m_gelu)(const float *x, float *y, long n) {
    M2M_INTERLEAVED
    for (long i = 0; i < n; i++) y[i] = M2M_NAME(gelu1)(x[i]);
}

M2M_TARGET void M2M_NAME(m2m_gelu_grad)(const float *x, const float *dy, float *y, long n) {
    M2M_INTERLEAVED
    for (long i = 0; i < n; i++) y[i] = dy[i] * M2M_NAME(gelu_derivative1)(x[i]);
}

M2M_TARGET void M2M_NAME(m2m_gelu_and_grad)(const float *x, const float *dy, float *h, float *dx, long n) {
    M2M_INTERLEAVED
    for (long i = 0; i < n; i++) {
        float s = 1.0f / (1.0f + M2M_NAME(gelu_exp)(x[i]));
        const float gelu = x[i] * s;
        h[i] = gelu;
        dx[i] = dy[i] * M2M_NAME(gelu_derivative_from_sigmoid)(x[i], s, gelu);
    }
}

M2M_TARGET void M2M_NAME(m2m_add)(const float *a, const float *b, float *y, long n) {
    M2M_ELEMENTWISE
    for (long i = 0; i < n; i++) y[i] = a[i] + b[i];
}

M2M_TARGET void M2M_NAME(m2m_accumulate)(float *y, const float *a, long n) {
    M2M_ELEMENTWISE
    for (long i = 0; i < n; i++) y[i] += a[i];
}

M2M_TARGET void M2M_NAME(m2m_adam)(float *param, const float *grad, float *m, float *v, long n,
                                   float beta1, float beta2, float epsilon, float l2, float shrink,
                                   float step_size, float correction2) {
    const float one_minus_beta1 = 1.0f - beta1, one_minus_beta2 = 1.0f - beta2;
    M2M_ELEMENTWISE
    for (long i = 0; i < n; i++) {
        float p = param[i];
        float g = grad[i] + l2 * p;
        float mi = beta1 * m[i] + one_minus_beta1 * g;
        float vi = beta2 * v[i] + one_minus_beta2 * g * g;
        m[i] = mi;
        v[i] = vi;
        param[i] = p * shrink - step_size * mi / (__builtin_elementwise_sqrt(vi / correction2) + epsilon);
    }
}

M2M_TARGET void M2M_NAME(m2m_accumulate_rows)(float *out, const float *src, long rows, long n) {
    for (long r = 0; r < rows; r++) {
        const float *row = src + r * n;
        M2M_ELEMENTWISE
        for (long c = 0; c < n; c++) out[c] += row[c];
    }
}

M2M_TARGET void M2M_NAME(m2m_sum_rows)(const float *src, float *out, long rows, long n) {
    memcpy(out, src, (size_t)n * sizeof(float));
    M2M_NAME(m2m_accumulate_rows)(out, src + n, rows - 1, n);
}

M2M_TARGET void M2M_NAME(m2m_broadcast_rows)(const float *b, float *y, long rows, long n) {
    for (long r = 0; r < rows; r++) memcpy(y + r * n, b, (size_t)n * sizeof(float));
}

/* Both folds of an image row along W and their transpose (CKernels.h). Run w of x is
 * x + w * c; e_w = x_w + x_{W-w} (x_0 and x_{W/2} alone), o_w = x_w - x_{W-w}. */
M2M_TARGET void M2M_NAME(m2m_width_fold)(const float *restrict x, float *restrict f, long width, long c) {
    const long half = width / 2, evenRuns = half + 1, oddRuns = half - 1;
    const long evenPairs = evenRuns / 2, oddPairs = oddRuns / 2, oddSums = oddRuns - oddPairs;
    float *es = f, *ed = f + (evenRuns - evenPairs) * c, *os = f + evenRuns * c, *od = os + oddSums * c;
    {   /* e_0 and e_{W/2}: single runs */
        const float *a = x, *b = x + half * c;
        M2M_ELEMENTWISE
        for (long i = 0; i < c; i++) { es[i] = a[i] + b[i]; ed[i] = a[i] - b[i]; }
    }
    for (long j = 1; j < evenPairs; j++) {   /* e_j against e_{W/2-j} */
        const float *a = x + j * c, *b = x + (width - j) * c, *p = x + (half - j) * c, *q = x + (half + j) * c;
        float *s = es + j * c, *d = ed + j * c;
        M2M_ELEMENTWISE
        for (long i = 0; i < c; i++) { const float u = a[i] + b[i], v = p[i] + q[i]; s[i] = u + v; d[i] = u - v; }
    }
    if (evenRuns % 2 == 1) {   /* the middle of e, w = W/4 */
        const float *a = x + evenPairs * c, *b = x + (width - evenPairs) * c;
        float *s = es + evenPairs * c;
        M2M_ELEMENTWISE
        for (long i = 0; i < c; i++) s[i] = a[i] + b[i];
    }
    for (long j = 0; j < oddPairs; j++) {    /* o_{1+j} against o_{W/2-1-j} */
        const long w1 = 1 + j, w2 = half - 1 - j;
        const float *a = x + w1 * c, *b = x + (width - w1) * c, *p = x + w2 * c, *q = x + (width - w2) * c;
        float *s = os + j * c, *d = od + j * c;
        M2M_ELEMENTWISE
        for (long i = 0; i < c; i++) { const float u = a[i] - b[i], v = p[i] - q[i]; s[i] = u + v; d[i] = u - v; }
    }
    if (oddRuns % 2 == 1) {    /* the middle of o */
        const float *a = x + (1 + oddPairs) * c, *b = x + (width - 1 - oddPairs) * c;
        float *s = os + oddPairs * c;
        M2M_ELEMENTWISE
        for (long i = 0; i < c; i++) s[i] = a[i] - b[i];
    }
}

M2M_TARGET void M2M_NAME(m2m_width_unfold)(const float *restrict f, float *restrict x, long width, long c) {
    const long half = width / 2, evenRuns = half + 1, oddRuns = half - 1;
    const long evenPairs = evenRuns / 2, oddPairs = oddRuns / 2, oddSums = oddRuns - oddPairs;
    const float *es = f, *ed = f + (evenRuns - evenPairs) * c, *os = f + evenRuns * c, *od = os + oddSums * c;
    {   /* x_0 = e_0, x_{W/2} = e_{W/2} */
        float *a = x, *b = x + half * c;
        M2M_ELEMENTWISE
        for (long i = 0; i < c; i++) { a[i] = es[i] + ed[i]; b[i] = es[i] - ed[i]; }
    }
    for (long j = 1; j < evenPairs; j++) {   /* x_j, x_{W-j} from e_j, o_j; x_{W/2-j}, x_{W/2+j} from e_{W/2-j}, o_{W/2-j} */
        float *a = x + j * c, *b = x + (width - j) * c, *p = x + (half - j) * c, *q = x + (half + j) * c;
        const float *s = es + j * c, *d = ed + j * c, *t = os + (j - 1) * c, *u = od + (j - 1) * c;
        M2M_ELEMENTWISE
        for (long i = 0; i < c; i++) {
            const float e1 = s[i] + d[i], e2 = s[i] - d[i], o1 = t[i] + u[i], o2 = t[i] - u[i];
            a[i] = e1 + o1; b[i] = e1 - o1; p[i] = e2 + o2; q[i] = e2 - o2;
        }
    }
    if (evenRuns % 2 == 1) {   /* w = W/4: the middles of e and of o */
        float *a = x + evenPairs * c, *b = x + (width - evenPairs) * c;
        const float *s = es + evenPairs * c, *t = os + oddPairs * c;
        M2M_ELEMENTWISE
        for (long i = 0; i < c; i++) { a[i] = s[i] + t[i]; b[i] = s[i] - t[i]; }
    }
}

M2M_TARGET void M2M_NAME(m2m_butterfly)(float *a, float *b, long n) {
    M2M_ELEMENTWISE
    for (long i = 0; i < n; i++) { const float s = a[i] + b[i], d = a[i] - b[i]; a[i] = s; b[i] = d; }
}

M2M_TARGET void M2M_NAME(m2m_outer)(const float *a, const float *b, float *y, long rows, long n) {
    for (long r = 0; r < rows; r++) {
        const float s = a[r];
        float *row = y + r * n;
        M2M_ELEMENTWISE
        for (long c = 0; c < n; c++) row[c] = s * b[c];
    }
}

/* out[i * n + j] += sum over r of x[r * k + i] * dy[r * n + j]: each product added to the
 * running sum as one fused multiply-add (one rounding; fmaf's bits in every variant: a vfmadd
 * where the target has FMA, a libm call in the baseline variant), in row order (r = 0, 1, ...),
 * whatever the blocking below. Fusing lets the multiply and add share one instruction where
 * products are bound by the multiply ports (measured: 1.3-1.4x over mul then add). Blocks
 * of 6 x 16 outputs stay in 12 vector registers while a chunk of rows (kept in L1 across the
 * blocks) streams past (with 4 x 16, 8 registers, the fused multiply-adds' latency bounded
 * it: 80 against 109 GFLOP/s a core at mlp_grad's 256 x 32 x 128 in cache on Zen 4); the
 * last columns take the plain loop, in the same order per element. */
typedef float M2M_NAME(v8) __attribute__((vector_size(32), aligned(4)));

/* Rows i..i+R-1 (R <= 6), columns j..j+15 of out, over rows first..last-1 of x and dy: 2R
 * accumulators (12 of 16 AVX2 registers at R = 6) while the chunk's rows stream past. */
static inline __attribute__((always_inline)) void M2M_NAME(transposed_block)(const float *x, const float *dy,
        float *out, long first, long last, long k, long n, long i, long j, const int R) {
    typedef M2M_NAME(v8) v8;
    v8 a[6][2];
    for (int q = 0; q < R; q++) {
        a[q][0] = *(const v8 *)(out + (i + q) * n + j);
        a[q][1] = *(const v8 *)(out + (i + q) * n + j + 8);
    }
    for (long r = first; r < last; r++) {
        const v8 d0 = *(const v8 *)(dy + r * n + j), d1 = *(const v8 *)(dy + r * n + j + 8);
        const float *xr = x + r * k + i;
        for (int q = 0; q < R; q++) {
            const float s = xr[q];
            const v8 sv = {s, s, s, s, s, s, s, s};
            a[q][0] = __builtin_elementwise_fma(sv, d0, a[q][0]);
            a[q][1] = __builtin_elementwise_fma(sv, d1, a[q][1]);
        }
    }
    for (int q = 0; q < R; q++) {
        *(v8 *)(out + (i + q) * n + j) = a[q][0];
        *(v8 *)(out + (i + q) * n + j + 8) = a[q][1];
    }
}

M2M_TARGET void M2M_NAME(m2m_transposed_product_accumulate)(const float *x, const float *dy, float *out,
                                                            long rows, long k, long n) {
    const long chunk = 32, k6 = k - k % 6, n16 = n - n % 16;
    for (long first = 0; first < rows; first += chunk) {
        const long last = first + chunk < rows ? first + chunk : rows;
        for (long j = 0; j < n16; j += 16) {
            for (long i = 0; i < k6; i += 6) M2M_NAME(transposed_block)(x, dy, out, first, last, k, n, i, j, 6);
            switch (k - k6) {
            case 5: M2M_NAME(transposed_block)(x, dy, out, first, last, k, n, k6, j, 5); break;
            case 4: M2M_NAME(transposed_block)(x, dy, out, first, last, k, n, k6, j, 4); break;
            case 3: M2M_NAME(transposed_block)(x, dy, out, first, last, k, n, k6, j, 3); break;
            case 2: M2M_NAME(transposed_block)(x, dy, out, first, last, k, n, k6, j, 2); break;
            case 1: M2M_NAME(transposed_block)(x, dy, out, first, last, k, n, k6, j, 1); break;
            default: break;
            }
        }
        for (long i = 0; i < k; i++) {
            for (long j = n16; j < n; j++) {
                float a = out[i * n + j];
                for (long r = first; r < last; r++) a = fmaf(x[r * k + i], dy[r * n + j], a);
                out[i * n + j] = a;
            }
        }
    }
}

/* Rows 0..R-1 of y, columns j..j+8C-1: the start (y's own value when `from_y`, else the bias
 * or 0), then each product x[r, i] w[i, j] added in i order as one fused multiply-add (one
 * rounding). R <= 6 rows x C <= 2 vectors: 12 accumulators (of 16 AVX2 registers) stay in
 * registers while w's rows (in L1) stream past. */
static inline __attribute__((always_inline)) void M2M_NAME(linear_block)(const float *x, const float *w,
        const float *bias, float *y, long k, long n, long j, const int R, const int C, const int from_y) {
    typedef M2M_NAME(v8) v8;
    v8 a[6][2];
    for (int c = 0; c < C; c++) {
        const v8 b = bias ? *(const v8 *)(bias + j + 8 * c) : (v8){0, 0, 0, 0, 0, 0, 0, 0};
        for (int r = 0; r < R; r++) a[r][c] = from_y ? *(const v8 *)(y + r * n + j + 8 * c) : b;
    }
    for (long i = 0; i < k; i++) {
        const float *wi = w + i * n + j;
        v8 wv[2];
        for (int c = 0; c < C; c++) wv[c] = *(const v8 *)(wi + 8 * c);
        for (int r = 0; r < R; r++) {
            const float s = x[r * k + i];
            const v8 sv = {s, s, s, s, s, s, s, s};
            for (int c = 0; c < C; c++) a[r][c] = __builtin_elementwise_fma(sv, wv[c], a[r][c]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) *(v8 *)(y + r * n + j + 8 * c) = a[r][c];
}

/* Rows 0..R-1 of y: blocks of 16 columns, then 8, then single columns (fmaf: the same
 * fused operation per element; the R rows' sums of a column run side by side, R independent
 * chains, each still in i order). */
static inline __attribute__((always_inline)) void M2M_NAME(linear_rows_block)(const float *x, const float *w,
        const float *bias, float *y, long k, long n, const int R, const int from_y) {
    const long n16 = n - n % 16;
    long j = 0;
    for (; j < n16; j += 16) M2M_NAME(linear_block)(x, w, bias, y, k, n, j, R, 2, from_y);
    if (n - j >= 8) { M2M_NAME(linear_block)(x, w, bias, y, k, n, j, R, 1, from_y); j += 8; }
    for (; j < n; j++) {
        float a[6];
        for (int r = 0; r < R; r++) a[r] = from_y ? y[r * n + j] : bias ? bias[j] : 0.0f;
        for (long i = 0; i < k; i++) {
            const float wij = w[i * n + j];
            for (int r = 0; r < R; r++) a[r] = fmaf(x[r * k + i], wij, a[r]);
        }
        for (int r = 0; r < R; r++) y[r * n + j] = a[r];
    }
}

/* Rows first ..< first + count of y, in blocks of 6 rows and a tail of 1-5. */
static inline __attribute__((always_inline)) void M2M_NAME(linear_rows_range)(const float *x, const float *w,
        const float *bias, float *y, long count, long k, long n, const int from_y) {
    long r = 0;
    for (; r + 6 <= count; r += 6) M2M_NAME(linear_rows_block)(x + r * k, w, bias, y + r * n, k, n, 6, from_y);
    switch (count - r) {
    case 5: M2M_NAME(linear_rows_block)(x + r * k, w, bias, y + r * n, k, n, 5, from_y); break;
    case 4: M2M_NAME(linear_rows_block)(x + r * k, w, bias, y + r * n, k, n, 4, from_y); break;
    case 3: M2M_NAME(linear_rows_block)(x + r * k, w, bias, y + r * n, k, n, 3, from_y); break;
    case 2: M2M_NAME(linear_rows_block)(x + r * k, w, bias, y + r * n, k, n, 2, from_y); break;
    case 1: M2M_NAME(linear_rows_block)(x + r * k, w, bias, y + r * n, k, n, 1, from_y); break;
    default: break;
    }
}

M2M_TARGET void M2M_NAME(m2m_product_accumulate)(const float *x, const float *w, float *y, long rows, long k,
                                                 long n) {
    M2M_NAME(linear_rows_range)(x, w, 0, y, rows, k, n, 1);
}

M2M_TARGET void M2M_NAME(m2m_linear_rows)(const float *x, const float *w, const float *bias, const float *addend,
                                          int gelu, const float *pre, float *y, long rows, long k, long n) {
    const long chunk = n >= 1024 ? 6 : (4096 / n + 5) / 6 * 6;   /* rows in sixes, about 16 KiB of y */
    for (long first = 0; first < rows; first += chunk) {
        const long count = first + chunk < rows ? chunk : rows - first;
        const float *xc = x + first * k;
        float *yc = y + first * n;
        M2M_NAME(linear_rows_range)(xc, w, bias, yc, count, k, n, 0);
        if (addend) M2M_NAME(m2m_add)(yc, addend + first * n, yc, count * n);
        if (gelu) M2M_NAME(m2m_gelu)(yc, yc, count * n);
        if (pre) M2M_NAME(m2m_gelu_grad)(pre + first * n, yc, yc, count * n);
    }
}
