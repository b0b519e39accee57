// libnuma (Debian libnuma-dev): node discovery, memory placement (mbind, move_pages) and CPU affinity.
#define _GNU_SOURCE 1
#include <numa.h>
#include <numaif.h>
#include <sched.h>
#include <pthread.h>
#include <unistd.h>
#include <sys/mman.h>

// CPU_SET and friends are macros Swift cannot call.
static inline int m2m_pin_thread_to_cpus(const int *cpus, int count) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < count; i++) {
        if (cpus[i] >= 0 && cpus[i] < CPU_SETSIZE) CPU_SET(cpus[i], &set);
    }
    return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}
