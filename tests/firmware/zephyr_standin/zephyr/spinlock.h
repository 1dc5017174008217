/* Stand-in for Zephyr's <zephyr/spinlock.h> in host tests: the lock type, the key type and the
 * two calls vmh/zephyr/spinlock.hpp uses. In Zephyr both calls are inline; here they are
 * defined by zephyr_standin.cpp, which records them. */
#ifndef VMH_TEST_ZEPHYR_SPINLOCK_H
#define VMH_TEST_ZEPHYR_SPINLOCK_H

#ifdef __cplusplus
extern "C" {
#endif

struct k_spinlock {
  int locked;
};

struct vmh_test_spinlock_key {
  int key;
};
typedef struct vmh_test_spinlock_key k_spinlock_key_t;

k_spinlock_key_t k_spin_lock(struct k_spinlock *l);
void k_spin_unlock(struct k_spinlock *l, k_spinlock_key_t key);

#ifdef __cplusplus
}
#endif

#endif
