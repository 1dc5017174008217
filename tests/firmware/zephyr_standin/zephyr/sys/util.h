/* Stand-in for Zephyr's <zephyr/sys/util.h> in host tests: BIT(), which the real driver header's
 * flags use (vmh/zephyr/mm_mapper.hpp includes this before it, as a Zephyr build must). */
#ifndef VMH_TEST_ZEPHYR_SYS_UTIL_H
#define VMH_TEST_ZEPHYR_SYS_UTIL_H

#define BIT(n) (1UL << (n))

#endif
