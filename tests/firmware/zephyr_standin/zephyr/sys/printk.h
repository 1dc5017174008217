/* Stand-in for Zephyr's <zephyr/sys/printk.h> in host builds of zephyr/samples: printk is printf. */
#ifndef VMH_TEST_ZEPHYR_PRINTK_H
#define VMH_TEST_ZEPHYR_PRINTK_H

#include <stdio.h>

#define printk printf

#endif
