/* Stand-in for <zephyr/init.h>: nothing runs at boot here; the harness calls the init
 * functions itself (bench/real/sof_vpage_real.c). */
#ifndef VMH_STANDIN_ZEPHYR_INIT_H
#define VMH_STANDIN_ZEPHYR_INIT_H
#include <zephyr/sys/util.h>
#define SYS_INIT(fn, level, prio)
#endif
