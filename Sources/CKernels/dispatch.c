/* Run-time ISA choice: once per process from cpuid (or M2MC_ISA), read with a relaxed
 * atomic load on each call (one per tile; the kernels run on tens of thousands of floats). */
#include "CKernels.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define M2M_DECLARE(suffix) \
    void m2m_gelu_##suffix(const float *, float *, long); \
    void m2m_gelu_grad_##suffix(const float *, const float *, float *, long); \
    void m2m_gelu_and_grad_##suffix(const float *, const float *, float *, float *, long); \
    void m2m_transposed_product_accumulate_##suffix(const float *, const float *, float *, long, long, long); \
    void m2m_add_##suffix(const float *, const float *, float *, long); \
    void m2m_accumulate_##suffix(float *, const float *, long); \
    void m2m_adam_##suffix(float *, const float *, float *, float *, long, float, float, float, float, \
                           float, float, float); \
    void m2m_sum_rows_##suffix(const float *, float *, long, long); \
    void m2m_accumulate_rows_##suffix(float *, const float *, long, long); \
    void m2m_broadcast_rows_##suffix(const float *, float *, long, long); \
    void m2m_outer_##suffix(const float *, const float *, float *, long, long); \
    void m2m_width_fold_##suffix(const float *, float *, long, long); \
    void m2m_butterfly_##suffix(float *, float *, long); \
    void m2m_width_unfold_##suffix(const float *, float *, long, long); \
    void m2m_linear_rows_##suffix(const float *, const float *, const float *, const float *, int, const float *, \
                                  float *, long, long, long); \
    void m2m_product_accumulate_##suffix(const float *, const float *, float *, long, long, long);

M2M_DECLARE(baseline)
#if defined(__x86_64__)
M2M_DECLARE(avx2)
M2M_DECLARE(avx512)
#define M2M_HAS_X86_VARIANTS 1
#else
#define M2M_HAS_X86_VARIANTS 0
#endif

static const char *const m2m_isa_names[M2M_ISA_COUNT] = {"baseline", "avx2", "avx512"};

const char *m2m_isa_name(int isa) {
    return isa >= 0 && isa < M2M_ISA_COUNT ? m2m_isa_names[isa] : "unknown";
}

int m2m_isa_supported(int isa) {
    switch (isa) {
    case M2M_ISA_BASELINE: return 1;
#if M2M_HAS_X86_VARIANTS
    case M2M_ISA_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case M2M_ISA_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    default: return 0;
    }
}

static int m2m_best_isa(void) {
    for (int isa = M2M_ISA_COUNT - 1; isa > 0; isa--)
        if (m2m_isa_supported(isa)) return isa;
    return M2M_ISA_BASELINE;
}

static _Atomic int m2m_active = -1;
static pthread_once_t m2m_once = PTHREAD_ONCE_INIT;
static char m2m_init_error[256];

static void m2m_initialize_once(void) {
    int best = m2m_best_isa();
    const char *forced = getenv("M2MC_ISA");
    if (forced != NULL && forced[0] != '\0') {
        int isa = -1;
        for (int i = 0; i < M2M_ISA_COUNT; i++)
            if (strcmp(forced, m2m_isa_names[i]) == 0) isa = i;
        if (isa < 0) {
            snprintf(m2m_init_error, sizeof m2m_init_error,
                     "M2MC_ISA=%s is not one of baseline, avx2, avx512", forced);
        } else if (!m2m_isa_supported(isa)) {
            snprintf(m2m_init_error, sizeof m2m_init_error,
                     "M2MC_ISA=%s: this CPU does not support %s (best here: %s)", forced, forced,
                     m2m_isa_names[best]);
        } else {
            best = isa;
        }
    }
    atomic_store_explicit(&m2m_active, best, memory_order_release);
}

int m2m_isa_initialize(char *error, size_t error_size) {
    pthread_once(&m2m_once, m2m_initialize_once);
    if (m2m_init_error[0] == '\0') return 0;
    if (error != NULL && error_size > 0) snprintf(error, error_size, "%s", m2m_init_error);
    return -1;
}

int m2m_isa_active(void) {
    int isa = atomic_load_explicit(&m2m_active, memory_order_acquire);
    if (isa >= 0) return isa;
    m2m_isa_initialize(NULL, 0);
    return atomic_load_explicit(&m2m_active, memory_order_acquire);
}

int m2m_isa_select(int isa) {
    m2m_isa_initialize(NULL, 0);
    if (!m2m_isa_supported(isa)) return -1;
    atomic_store_explicit(&m2m_active, isa, memory_order_release);
    return 0;
}

static inline int m2m_current(void) {
    int isa = atomic_load_explicit(&m2m_active, memory_order_relaxed);
    return isa >= 0 ? isa : m2m_isa_active();
}

#if M2M_HAS_X86_VARIANTS
#define M2M_DISPATCH(name, ...) \
    do { \
        switch (m2m_current()) { \
        case M2M_ISA_AVX512: name##_avx512(__VA_ARGS__); return; \
        case M2M_ISA_AVX2: name##_avx2(__VA_ARGS__); return; \
        default: name##_baseline(__VA_ARGS__); return; \
        } \
    } while (0)
#else
#define M2M_DISPATCH(name, ...) name##_baseline(__VA_ARGS__)
#endif

void m2m_gelu(const float *x, float *y, long n) { M2M_DISPATCH(m2m_gelu, x, y, n); }

void m2m_gelu_grad(const float *x, const float *dy, float *y, long n) {
    M2M_DISPATCH(m2m_gelu_grad, x, dy, y, n);
}

void m2m_gelu_and_grad(const float *x, const float *dy, float *h, float *dx, long n) {
    M2M_DISPATCH(m2m_gelu_and_grad, x, dy, h, dx, n);
}

void m2m_transposed_product_accumulate(const float *x, const float *dy, float *out, long rows, long k, long n) {
    M2M_DISPATCH(m2m_transposed_product_accumulate, x, dy, out, rows, k, n);
}

void m2m_add(const float *a, const float *b, float *y, long n) { M2M_DISPATCH(m2m_add, a, b, y, n); }

void m2m_accumulate(float *y, const float *a, long n) { M2M_DISPATCH(m2m_accumulate, y, a, n); }

void m2m_adam(float *param, const float *grad, float *m, float *v, long n, float beta1, float beta2,
              float epsilon, float l2, float shrink, float step_size, float correction2) {
    M2M_DISPATCH(m2m_adam, param, grad, m, v, n, beta1, beta2, epsilon, l2, shrink, step_size, correction2);
}

void m2m_sum_rows(const float *src, float *out, long rows, long n) {
    M2M_DISPATCH(m2m_sum_rows, src, out, rows, n);
}

void m2m_accumulate_rows(float *out, const float *src, long rows, long n) {
    M2M_DISPATCH(m2m_accumulate_rows, out, src, rows, n);
}

void m2m_broadcast_rows(const float *b, float *y, long rows, long n) {
    M2M_DISPATCH(m2m_broadcast_rows, b, y, rows, n);
}

void m2m_outer(const float *a, const float *b, float *y, long rows, long n) {
    M2M_DISPATCH(m2m_outer, a, b, y, rows, n);
}

void m2m_width_fold(const float *x, float *f, long width, long c) {
    M2M_DISPATCH(m2m_width_fold, x, f, width, c);
}

void m2m_butterfly(float *a, float *b, long n) {
    M2M_DISPATCH(m2m_butterfly, a, b, n);
}

void m2m_width_unfold(const float *f, float *x, long width, long c) {
    M2M_DISPATCH(m2m_width_unfold, f, x, width, c);
}

void m2m_linear_rows(const float *x, const float *w, const float *bias, const float *addend, int gelu,
                     const float *pre, float *y, long rows, long k, long n) {
    M2M_DISPATCH(m2m_linear_rows, x, w, bias, addend, gelu, pre, y, rows, k, n);
}

void m2m_product_accumulate(const float *x, const float *w, float *y, long rows, long k, long n) {
    M2M_DISPATCH(m2m_product_accumulate, x, w, y, rows, k, n);
}
