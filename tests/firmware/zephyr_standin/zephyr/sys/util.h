/* Stand-in for Zephyr's <zephyr/sys/util.h> in host tests: BIT(), which the real driver header's
 * flags use (vmh/zephyr/mm_mapper.hpp includes this before it, as a Zephyr build must), and
 * IS_ENABLED() for options the host build defines as 0 or 1 (Zephyr's also takes undefined ones). */
#ifndef VMH_TEST_ZEPHYR_SYS_UTIL_H
#define VMH_TEST_ZEPHYR_SYS_UTIL_H

#define BIT(n) (1UL << (n))
#define IS_ENABLED(option) (option)
#define ARG_UNUSED(x) (void)(x)

#endif
