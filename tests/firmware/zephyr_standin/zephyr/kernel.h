/* Stand-in for Zephyr's <zephyr/kernel.h> in host builds of zephyr/src/heap.cpp (the heap of
 * CONFIG_VMH_HEAP): the kernel calls it makes, for one thread. A semaphore take never blocks:
 * with a timeout it advances the stand-in's clock by that timeout and fails, as a take that timed
 * out does. Tests move the clock, count the calls and play an ISR through vmh_standin_kernel. */
#ifndef VMH_TEST_ZEPHYR_KERNEL_H
#define VMH_TEST_ZEPHYR_KERNEL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zephyr/sys/util.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What tests read and set. */
struct vmh_standin_kernel_state {
  int64_t now_ms;   /* the clock */
  bool in_isr;      /* what k_is_in_isr() answers */
  int sem_takes;    /* k_sem_take calls that would have blocked */
  int sem_resets;   /* k_sem_reset calls */
};
extern struct vmh_standin_kernel_state vmh_standin_kernel;

/* Timeouts and time points, in milliseconds; -1 is forever. */
typedef struct {
  int64_t ms;
} k_timeout_t;
typedef struct {
  int64_t at;
} k_timepoint_t;
#ifdef __cplusplus
#define VMH_STANDIN_TIMEOUT(ms) (k_timeout_t{(ms)})
#else
#define VMH_STANDIN_TIMEOUT(ms) ((k_timeout_t){(ms)})
#endif
#define K_NO_WAIT VMH_STANDIN_TIMEOUT(0)
#define K_FOREVER VMH_STANDIN_TIMEOUT(-1)
#define K_MSEC(ms) VMH_STANDIN_TIMEOUT(ms)
#define K_TIMEOUT_EQ(a, b) ((a).ms == (b).ms)

static inline k_timepoint_t sys_timepoint_calc(k_timeout_t t) {
  k_timepoint_t p;
  p.at = t.ms < 0 ? INT64_MAX : vmh_standin_kernel.now_ms + t.ms;
  return p;
}
static inline k_timeout_t sys_timepoint_timeout(k_timepoint_t p) {
  k_timeout_t t;
  t.ms = p.at == INT64_MAX ? -1 : p.at > vmh_standin_kernel.now_ms ? p.at - vmh_standin_kernel.now_ms : 0;
  return t;
}
static inline bool sys_timepoint_expired(k_timepoint_t p) { return p.at != INT64_MAX && vmh_standin_kernel.now_ms >= p.at; }
static inline bool k_is_in_isr(void) { return vmh_standin_kernel.in_isr; }

struct k_sem {
  unsigned int count;
  unsigned int limit;
};
#define K_SEM_DEFINE(name, initial, most) struct k_sem name = {(initial), (most)}
static inline int k_sem_take(struct k_sem *s, k_timeout_t t) {
  if (s->count > 0) {
    --s->count;
    return 0;
  }
  if (t.ms == 0) return -EBUSY;
  ++vmh_standin_kernel.sem_takes;
  vmh_standin_kernel.now_ms += t.ms < 0 ? 1000000 : t.ms; /* slept through the timeout */
  return -EAGAIN;
}
static inline void k_sem_give(struct k_sem *s) {
  if (s->count < s->limit) ++s->count;
}
static inline void k_sem_reset(struct k_sem *s) {
  ++vmh_standin_kernel.sem_resets;
  s->count = 0;
}

typedef long atomic_t;
#define ATOMIC_INIT(i) (i)
static inline long atomic_get(const atomic_t *a) { return *a; }
static inline long atomic_inc(atomic_t *a) { return (*a)++; }
static inline long atomic_dec(atomic_t *a) { return (*a)--; }

#ifdef __cplusplus
}
#endif

#endif
