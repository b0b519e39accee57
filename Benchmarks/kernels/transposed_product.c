/* x^T dy, the weight gradient of a pointwise linear layer (row-major x [rows, k], dy [rows, n],
 * accumulated into out [k, n]), on the shapes of the fno-ns64 step: OpenBLAS's sgemm (TransA,
 * beta 1 as when accumulating over row blocks, and beta 0) against CKernels'
 * m2m_transposed_product_accumulate (4 x 16 register blocks, each product fused-added in row
 * order), one thread, operands in cache, best of 7 rounds, after one large and one transposed
 * sgemm call (OpenBLAS 0.3.21 runs these shapes 1.5-3x slower in a process that has made none;
 * see blas_compare.c: the executor's processes always have):
 *   32 x 128 over 256 rows    (mlp_grad's dw1 += x^T dz, per block of rows)
 *   32 x 32 over 4096 rows    (a Fourier layer's linear_grad_weight, per sample)
 *   32 x 128 over 4096 rows   (the unfused projection's weight gradient, per sample)
 * Build and run from the repository root (needs libopenblas-dev):
 *   S=Sources/CKernels; clang -O2 -I$S/include -I/usr/include/x86_64-linux-gnu/openblas-pthread \
 *     Benchmarks/kernels/transposed_product.c $S/dispatch.c $S/kernels_*.c -lopenblas -lpthread -lm \
 *     -o /tmp/transposed_product && /tmp/transposed_product
 * With the products fused (fmaf), ours is the faster in cache too (1.05-1.10x; 0.73-0.81x when it
 * multiplied, then added); in the program, where the operands come from memory, it was already
 * (Benchmarks README: the step's profile with each). */
#include "CKernels.h"
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void compare(long rows, long k, long n, int reps) {
    float *x = malloc(4 * rows * k), *dy = malloc(4 * rows * n);
    float *ours = calloc(k * n, 4), *blas = calloc(k * n, 4), *blas0 = calloc(k * n, 4);
    for (long i = 0; i < rows * k; i++) x[i] = (i % 97) * 0.01f - 0.4f;
    for (long i = 0; i < rows * n; i++) dy[i] = (i % 89) * 0.001f - 0.04f;
    double best[3] = {1e9, 1e9, 1e9};
    for (int round = 0; round < 7; round++) {
        for (int which = 0; which < 3; which++) {
            double t0 = now();
            for (int r = 0; r < reps; r++) {
                if (which == 0) m2m_transposed_product_accumulate(x, dy, ours, rows, k, n);
                else cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)n, (int)rows, 1, x, (int)k,
                                 dy, (int)n, which == 1 ? 1 : 0, which == 1 ? blas : blas0, (int)n);
            }
            double dt = now() - t0;
            if (dt < best[which]) best[which] = dt;
        }
    }
    double flops = 2.0 * rows * k * n * reps;
    printf("%4ld x %-4ld over %5ld rows: m2m %5.1f GFLOP/s; OpenBLAS sgemm beta 1 %5.1f (m2m %.2fx), beta 0 %5.1f (m2m %.2fx)\n",
           k, n, rows, flops / best[0] / 1e9, flops / best[1] / 1e9, best[1] / best[0], flops / best[2] / 1e9,
           best[2] / best[0]);
    free(x); free(dy); free(ours); free(blas); free(blas0);
}

int main(void) {
    openblas_set_num_threads(1);   /* one thread, as inside the executor's partition */
    {   /* OpenBLAS's steady state (see above) */
        const int m = 1024;
        float *a = calloc((size_t)m * m, 4), *b = calloc((size_t)m * m, 4), *c = calloc((size_t)m * m, 4);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, m, m, 1, a, m, b, m, 0, c, m);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 32, 32, 4096, 1, a, 32, b, 32, 0, c, 32);
        free(a); free(b); free(c);
    }
    printf("kernel ISA: %s\n", m2m_isa_name(m2m_isa_active()));
    compare(256, 32, 128, 200);
    compare(4096, 32, 32, 50);
    compare(4096, 32, 128, 20);
    return 0;
}
