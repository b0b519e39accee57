/* y = x w + b (+ r), the pointwise layers' product, on the shapes of the fno-ns64 step: CKernels'
 * m2m_linear_rows (4 x 16 register blocks, fused multiply-adds in k order, the add epilogue on
 * each block in L1) against what the dense kernels did before it (bias rows, OpenBLAS's sgemm
 * with beta 1 over blocks of 256 KiB of output, then m2m_add), one thread, best of 5 rounds,
 * after one large and one transposed sgemm call (see blas_compare.c), each over the whole
 * 81920-row tensor (operands from memory) in one-sample tiles:
 *   4096 x 32 x 32    (a Fourier layer's linear_add, per sample)
 *   256 x 32 x 128    (the projection's first product, per block of rows)
 *   256 x 128 x 32    (mlp_grad's dx = dz w1^T, per block of rows)
 * Also checks m2m_linear_rows bit for bit against the plain loop (fmaf in k order, then + r).
 * Build and run from the repository root (needs libopenblas-dev):
 *   S=Sources/CKernels; clang -O2 -I$S/include -I/usr/include/x86_64-linux-gnu/openblas-pthread \
 *     Benchmarks/kernels/linear_rows.c $S/dispatch.c $S/kernels_*.c -lopenblas -lpthread -lm \
 *     -o /tmp/linear_rows && /tmp/linear_rows */
#include "CKernels.h"
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void compare(long rows, long k, long n) {
    const long total = 81920 / rows * rows, block = (1 << 16) / n;
    float *x = malloc(4 * total * k), *w = malloc(4 * k * n), *b = malloc(4 * n);
    float *r = malloc(4 * total * n), *y = malloc(4 * total * n), *expected = malloc(4 * rows * n);
    for (long i = 0; i < total * k; i++) x[i] = (i % 97) * 0.01f - 0.4f;
    for (long i = 0; i < k * n; i++) w[i] = (i % 89) * 0.001f - 0.04f;
    for (long i = 0; i < n; i++) b[i] = i * 0.01f;
    for (long i = 0; i < total * n; i++) r[i] = (i % 13) * 0.1f;
    for (long i = 0; i < rows; i++)
        for (long j = 0; j < n; j++) {
            float a = b[j];
            for (long q = 0; q < k; q++) a = fmaf(x[i * k + q], w[q * n + j], a);
            expected[i * n + j] = a + r[i * n + j];
        }
    m2m_linear_rows(x, w, b, r, 0, NULL, y, rows, k, n);
    long mismatches = 0;
    for (long i = 0; i < rows * n; i++) mismatches += memcmp(&y[i], &expected[i], 4) != 0;
    double ours = 1e9, blas = 1e9;
    for (int round = 0; round < 5; round++) {
        double t0 = now();
        for (long t = 0; t < total; t += rows)
            m2m_linear_rows(x + t * k, w, b, r + t * n, 0, NULL, y + t * n, rows, k, n);
        double t1 = now();
        for (long t = 0; t < total; t += rows)
            for (long q = 0; q < rows; q += block) {
                const long c = rows - q < block ? rows - q : block, row = t + q;
                m2m_broadcast_rows(b, y + row * n, c, n);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)c, (int)n, (int)k, 1, x + row * k, (int)k,
                            w, (int)n, 1, y + row * n, (int)n);
                m2m_add(y + row * n, r + row * n, y + row * n, c * n);
            }
        double t2 = now();
        if (t1 - t0 < ours) ours = t1 - t0;
        if (t2 - t1 < blas) blas = t2 - t1;
    }
    const double flops = 2.0 * total * k * n;
    printf("  %4ld x %3ld x %3ld: m2m_linear_rows %5.1f GFLOP/s (%.2f ms); bias + sgemm + add %5.1f (%.2f ms): "
           "%.2fx; %ld mismatches against the plain loop\n",
           rows, k, n, flops / ours * 1e-9, ours * 1e3, flops / blas * 1e-9, blas * 1e3, blas / ours, mismatches);
    free(x); free(w); free(b); free(r); free(y); free(expected);
}

int main(void) {
    openblas_set_num_threads(1);
    float *a = calloc(512 * 512, 4), *c = calloc(512 * 512, 4);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 512, 512, 512, 1, a, 512, a, 512, 0, c, 512);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 512, 512, 512, 1, a, 512, a, 512, 0, c, 512);
    printf("kernel ISA: %s\n", m2m_isa_name(m2m_isa_active()));
    compare(4096, 32, 32);
    compare(256, 32, 128);
    compare(256, 128, 32);
    return 0;
}
