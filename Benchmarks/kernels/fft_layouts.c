/* The forward truncated transform of fno-ns64 (per sample: a channels-last [64, 64, 32]
 * float tile -> the kept 2*12 x 12 modes) in the three FFTW layouts the executor had or
 * has, timed alternately in one process (best of 8 rounds), single-threaded, over 20
 * samples (10 MiB of input, as a training batch: the data does not stay in cache):
 *   r2c      r2c along W into [H, W/2+1, C], complex FFT along H on the kept columns
 *            (the layout before the paired one; still used for odd C);
 *   paired   channel pairs as complex signals, complex FFT along W into a full
 *            [H, W, C/2] workspace, along H on the kept columns and their mirrors;
 *   compact  the same, but along W row by row into a row buffer, keeping only the
 *            2*12-1 columns needed along H (the executor's layout for even C).
 * Checks that the three give the same modes (to float rounding).
 * Build and run from the repository root (needs libfftw3-dev):
 *   clang -O2 Benchmarks/kernels/fft_layouts.c -lfftw3f -lm -o /tmp/fft_layouts && /tmp/fft_layouts */
#include <fftw3.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { H = 64, W = 64, C = 32, P = C / 2, HALF = W / 2 + 1, M1 = 12, M2 = 12, K = 2 * M2 - 1, NS = 20 };
#define MODES_FLOATS (2 * M1 * M2 * C * 2)

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static fftwf_plan plan(int n, int stride, int loops, const fftw_iodim *l, void *in, void *out, int sign) {
    fftw_iodim d = { n, stride, stride };
    return fftwf_plan_guru_dft(1, (fftwf_iodim *)&d, loops, (fftwf_iodim *)l, in, out, sign, FFTW_PATIENT);
}

/* Unpacks pair j of frequency (kh, k) from z and its mirror zm into modes [2 m1, m2, C] complex. */
static void unpack(const float *z, const float *zm, float *dst) {
    for (int j = 0; j < P; j++) {
        float ar = z[2 * j], ai = z[2 * j + 1], br = zm[2 * j], bi = zm[2 * j + 1];
        dst[4 * j] = 0.5f * (ar + br); dst[4 * j + 1] = 0.5f * (ai - bi);
        dst[4 * j + 2] = 0.5f * (ai + bi); dst[4 * j + 3] = 0.5f * (br - ar);
    }
}

static int kept_row(int r) { return r < M1 ? r : H - 2 * M1 + r; }

int main(void) {
    float *x = fftwf_alloc_real((size_t)NS * H * W * C);
    fftwf_complex *ws = fftwf_alloc_complex((size_t)NS * H * W * P);   /* large enough for all three */
    fftwf_complex *row = fftwf_alloc_complex(W * P);
    float *modes[3];
    for (int i = 0; i < 3; i++) modes[i] = malloc(sizeof(float) * MODES_FLOATS * NS);

    fftw_iodim l1[2] = { { H, W * C, HALF * C }, { C, 1, 1 } };
    fftw_iodim d1 = { W, C, C };
    fftwf_plan r2c = fftwf_plan_guru_dft_r2c(1, (fftwf_iodim *)&d1, 2, (fftwf_iodim *)l1, x, ws, FFTW_PATIENT);
    fftw_iodim l2[2] = { { M2, C, C }, { C, 1, 1 } };
    fftwf_plan h_r2c = plan(H, HALF * C, 2, l2, ws, ws, FFTW_FORWARD);
    fftw_iodim l3[2] = { { H, W * P, W * P }, { P, 1, 1 } };
    fftwf_plan w_full = plan(W, P, 2, l3, x, ws, FFTW_FORWARD);
    fftw_iodim l4[2] = { { 2, (W - M2) * P, (W - M2) * P }, { M2 * P, 1, 1 } };
    fftwf_plan h_full = plan(H, W * P, 2, l4, ws, ws, FFTW_FORWARD);
    fftw_iodim l5[1] = { { P, 1, 1 } };
    fftwf_plan w_row = plan(W, P, 1, l5, x, row, FFTW_FORWARD);
    fftw_iodim l6[1] = { { K * P, 1, 1 } };
    fftwf_plan h_compact = plan(H, K * P, 1, l6, ws, ws, FFTW_FORWARD);
    if (!r2c || !h_r2c || !w_full || !h_full || !w_row || !h_compact) { fprintf(stderr, "planning failed\n"); return 1; }
    srand(1);
    for (size_t i = 0; i < (size_t)NS * H * W * C; i++) x[i] = (rand() % 2001 - 1000) / 1000.0f;

    double best[3] = { 1e9, 1e9, 1e9 };
    for (int round = 0; round < 8; round++) {
        double t = now();
        for (int n = 0; n < NS; n++) {
            float *xs = x + (size_t)n * H * W * C;
            fftwf_complex *w = ws + (size_t)n * H * HALF * C;
            fftwf_execute_dft_r2c(r2c, xs, w);
            fftwf_execute_dft(h_r2c, w, w);
            for (int r = 0; r < 2 * M1; r++)
                for (int k = 0; k < M2; k++)
                    memcpy(modes[0] + ((size_t)n * 2 * M1 * M2 + r * M2 + k) * C * 2, w + (kept_row(r) * HALF + k) * C,
                           sizeof(float) * 2 * C);
        }
        t = now() - t; if (t < best[0]) best[0] = t;

        t = now();
        for (int n = 0; n < NS; n++) {
            float *xs = x + (size_t)n * H * W * C;
            fftwf_complex *w = ws + (size_t)n * H * W * P;
            fftwf_execute_dft(w_full, (fftwf_complex *)xs, w);
            fftwf_execute_dft(h_full, w, w);
            for (int r = 0; r < 2 * M1; r++) {
                int kh = kept_row(r), mh = (H - kh) % H;
                for (int k = 0; k < M2; k++)
                    unpack((float *)(w + (kh * W + k) * P), (float *)(w + (mh * W + (W - k) % W) * P),
                           modes[1] + ((size_t)n * 2 * M1 * M2 + r * M2 + k) * C * 2);
            }
        }
        t = now() - t; if (t < best[1]) best[1] = t;

        t = now();
        for (int n = 0; n < NS; n++) {
            float *xs = x + (size_t)n * H * W * C;
            fftwf_complex *c = ws + (size_t)n * H * K * P;
            for (int h = 0; h < H; h++) {
                fftwf_execute_dft(w_row, (fftwf_complex *)(xs + h * W * C), row);
                memcpy(c + h * K * P, row, sizeof(fftwf_complex) * M2 * P);
                memcpy(c + (h * K + M2) * P, row + (W - M2 + 1) * P, sizeof(fftwf_complex) * (M2 - 1) * P);
            }
            fftwf_execute_dft(h_compact, c, c);
            for (int r = 0; r < 2 * M1; r++) {
                int kh = kept_row(r), mh = (H - kh) % H;
                for (int k = 0; k < M2; k++) {
                    int mk = k == 0 ? 0 : 2 * M2 - 1 - k;      /* column W - k in the compact block */
                    unpack((float *)(c + (kh * K + k) * P), (float *)(c + (mh * K + mk) * P),
                           modes[2] + ((size_t)n * 2 * M1 * M2 + r * M2 + k) * C * 2);
                }
            }
        }
        t = now() - t; if (t < best[2]) best[2] = t;
    }
    double scale = 0, diff[2] = { 0, 0 };
    for (size_t i = 0; i < (size_t)MODES_FLOATS * NS; i++) {
        scale = fmax(scale, fabs(modes[0][i]));
        for (int v = 0; v < 2; v++) diff[v] = fmax(diff[v], fabs(modes[v + 1][i] - modes[0][i]));
    }
    const char *names[3] = { "r2c", "paired", "compact" };
    for (int v = 0; v < 3; v++)
        printf("%-8s %6.1f us per sample (%.2fx the r2c layout's speed)\n", names[v], best[v] / NS * 1e6, best[0] / best[v]);
    printf("largest difference from the r2c layout: paired %.3g, compact %.3g (largest mode %.3g)\n", diff[0], diff[1], scale);
    return diff[0] > 1e-5 * scale || diff[1] > 1e-5 * scale;
}
