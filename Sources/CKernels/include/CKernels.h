#ifndef M2M_CKERNELS_H
#define M2M_CKERNELS_H

#include <stddef.h>

/* Hot kernels of the executor, compiled three times (baseline x86-64, AVX2, AVX-512) and
 * dispatched at run time on the CPU (cpuid), once per process; M2MC_ISA=baseline|avx2|avx512
 * forces one. Every variant does the same IEEE operations per element in the same order (no
 * FMA contraction of a*b+c, no approximate reciprocal, reductions in a fixed order per
 * element), so all ISAs give identical bits, equal to the Swift reference in FastMath. The
 * two products (m2m_transposed_product_accumulate, m2m_linear_rows) add each product as an
 * explicit fused multiply-add, the IEEE fma operation: a vfmadd instruction under AVX2 and
 * AVX-512, libm's fmaf per element in the baseline variant (slow there, the same bits). */

typedef enum {
    M2M_ISA_BASELINE = 0,
    M2M_ISA_AVX2 = 1,
    M2M_ISA_AVX512 = 2,
} m2m_isa;

#define M2M_ISA_COUNT 3

/* Chooses the ISA once (idempotent, thread-safe): M2MC_ISA if set, else the widest the
 * CPU supports. Returns 0, or -1 with a one-line message in `error` (an unknown name,
 * or an ISA this CPU lacks); then the best supported ISA stays selected. */
int m2m_isa_initialize(char *error, size_t error_size);
/* 1 when this CPU can run `isa`. */
int m2m_isa_supported(int isa);
/* The ISA the kernels use now (initializes with the CPU's best when not yet done). */
int m2m_isa_active(void);
/* Forces `isa` (tests, benchmarks); returns -1 and changes nothing when unsupported. */
int m2m_isa_select(int isa);
/* "baseline", "avx2", "avx512". */
const char *m2m_isa_name(int isa);

/* y = gelu(x) (tanh form, as FastMath.gelu). y may be x (in place), not overlap it otherwise;
 * the same holds for every output below. */
void m2m_gelu(const float *x, float *y, long n);
/* y = dy * gelu'(x) (as FastMath.geluDerivative). y may alias dy. */
void m2m_gelu_grad(const float *x, const float *dy, float *y, long n);
/* h = gelu(x) and dx = dy * gelu'(x) in one pass (one exp per element): the bits of
 * m2m_gelu and m2m_gelu_grad. dx may alias dy. */
void m2m_gelu_and_grad(const float *x, const float *dy, float *h, float *dx, long n);
/* out[i * n + j] += sum over r in 0..<rows of x[r * k + i] * dy[r * n + j] (x^T dy for row-major
 * x[rows, k], dy[rows, n]), each product fused-added (fmaf) in row order; out must not overlap
 * x or dy. */
void m2m_transposed_product_accumulate(const float *x, const float *dy, float *out, long rows, long k, long n);
/* y = a + b; y may alias a or b. */
void m2m_add(const float *a, const float *b, float *y, long n);
/* y += a. */
void m2m_accumulate(float *y, const float *a, long n);
/* Adam / AdamW step over n floats, as AdamKernel: g = grad + l2 * p, m = b1 m + (1 - b1) g,
 * v = b2 v + (1 - b2) g g, p = p shrink - step_size m / (sqrt(v / c2) + eps). */
void m2m_adam(float *param, const float *grad, float *m, float *v, long n,
              float beta1, float beta2, float epsilon, float l2, float shrink,
              float step_size, float correction2);
/* out[c] = sum over r in 0..<rows of src[r * n + c], rows in index order (rows >= 1). */
void m2m_sum_rows(const float *src, float *out, long rows, long n);
/* out[c] += src[r * n + c] for r in 0..<rows, in row order (as `rows` calls of m2m_accumulate). */
void m2m_accumulate_rows(float *out, const float *src, long rows, long n);
/* Each of `rows` rows of y (n floats each) set to b. */
void m2m_broadcast_rows(const float *b, float *y, long rows, long n);
/* Both folds of an image row x [width, c] (width even) along W, for DFTs along W on
 * folded inputs: with e_w = x_w + x_{W-w} for w = 1 ... W/2-1 (e_0 = x_0, e_{W/2} = x_{W/2})
 * and o_w = x_w - x_{W-w} (w = 1 ... W/2-1), f [width, c] holds, run by run, the sums
 * e_j + e_{W/2-j} (the middle run e_{W/4} alone when W/2+1 is odd), the differences
 * e_j - e_{W/2-j}, the sums o_{1+j} + o_{W/2-1-j} (the middle run alone when W/2-1 is odd),
 * then the differences o_{1+j} - o_{W/2-1-j}. f must not overlap x. */
void m2m_width_fold(const float *x, float *f, long width, long c);
/* Its transpose (e from the sums plus and minus the differences, then x_w = e_w + o_w and
 * x_{W-w} = e_w - o_w), into x [width, c]; x must not overlap f. */
void m2m_width_unfold(const float *f, float *x, long width, long c);
/* (a, b) <- (a + b, a - b), elementwise; a and b must not overlap. */
void m2m_butterfly(float *a, float *b, long n);
/* y[r * n + c] = a[r] * b[c] (the outer product: an sgemm with K = 1, one rounding each). */
void m2m_outer(const float *a, const float *b, float *y, long rows, long n);
/* y[r, :] = epilogue(bias + x[r, :] w) for row-major x [rows, k], w [k, n], y [rows, n]
 * (bias may be NULL: 0): per element the bias, then each product x[r, i] w[i, j] fused-added
 * (fmaf) in i order (register blocks of 6 rows x 16 columns, edges in the same order); then,
 * on each block of rows while it is in L1, y += addend when addend is not NULL (m2m_add's
 * bits), y = gelu(y) when gelu is nonzero (m2m_gelu's), y *= gelu'(pre) when pre is not NULL
 * (m2m_gelu_grad's). y must not overlap x, w, bias, addend or pre. */
void m2m_linear_rows(const float *x, const float *w, const float *bias, const float *addend, int gelu,
                     const float *pre, float *y, long rows, long k, long n);
/* y += x w for row-major x [rows, k], w [k, n], y [rows, n]: per element y's value, then each
 * product x[r, i] w[i, j] fused-added (fmaf) in i order (m2m_linear_rows' blocks with y as
 * the start). For the narrow products OpenBLAS 0.3.21 would hand to its SkylakeX/Cooperlake
 * small-matrix kernel, which calls malloc on every call (Executor's rowMajorProduct). y must not
 * overlap x or w. */
void m2m_product_accumulate(const float *x, const float *w, float *y, long rows, long k, long n);

#endif
