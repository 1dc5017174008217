/* Stand-in for <zephyr/kernel.h>: only what the unmodified allocator sources in bench/real use.
 * One thread calls them, so locks are empty operations; their structures keep the size they
 * have on a 32-bit SMP DSP (a spinlock is one word, a mutex five), because the allocators'
 * bookkeeping counts against the SRAM budget. */
#ifndef VMH_STANDIN_ZEPHYR_KERNEL_H
#define VMH_STANDIN_ZEPHYR_KERNEL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zephyr/toolchain.h>
#include <zephyr/sys/__assert.h>
#include <zephyr/sys/util.h>
#include <zephyr/sys/atomic_types.h>
#include <zephyr/arch/common/ffs.h>

#ifdef __cplusplus
extern "C" {
#endif

struct k_spinlock {
	atomic_t locked;
};
typedef struct {
	int key;
} k_spinlock_key_t;
static inline k_spinlock_key_t k_spin_lock(struct k_spinlock *l)
{
	(void)l;
	return (k_spinlock_key_t){0};
}
static inline void k_spin_unlock(struct k_spinlock *l, k_spinlock_key_t key)
{
	(void)l;
	(void)key;
}

/* Wait queue (two links), owner, lock count, owner's original priority. */
struct k_mutex {
	void *wait_q[2];
	void *owner;
	uint32_t lock_count;
	int owner_orig_prio;
};
typedef struct {
	int64_t ticks;
} k_timeout_t;
#define K_FOREVER ((k_timeout_t){-1})
static inline int k_mutex_init(struct k_mutex *m)
{
	*m = (struct k_mutex){{0, 0}, 0, 0, 0};
	return 0;
}
static inline int k_mutex_lock(struct k_mutex *m, k_timeout_t t)
{
	(void)t;
	++m->lock_count;
	return 0;
}
static inline int k_mutex_unlock(struct k_mutex *m)
{
	--m->lock_count;
	return 0;
}

/* A kernel panic ends the harness with a message (bench/real/page_table.c). */
FUNC_NORETURN void vmh_standin_panic(const char *where);
#define k_panic() vmh_standin_panic(__func__)

#ifdef __cplusplus
}
#endif

#endif
