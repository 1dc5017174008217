/* Stand-in for <zephyr/kernel.h> when Zephyr's lib/heap/heap.c is compiled outside a Zephyr
 * build for the code-size images: the heap uses only the toolchain macros, __ASSERT and the
 * utility macros from the kernel header, so this pulls in just those (from the Zephyr tree). */
#ifndef VMH_ZEPHYR_HEAP_STANDIN_KERNEL_H
#define VMH_ZEPHYR_HEAP_STANDIN_KERNEL_H

#include <zephyr/toolchain.h>
#include <zephyr/sys/__assert.h>
#include <zephyr/sys/util.h>

#endif
