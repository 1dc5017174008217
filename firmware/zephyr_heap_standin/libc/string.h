/* Stand-in for <string.h> for a toolchain without a C library (Debian's gcc-xtensa-lx106): the
 * two functions Zephyr's heap declares a use of. On the device they come from the C library or
 * the boot ROM; the code-size images give them a ROM address (firmware/xtensa/size.ld). */
#ifndef VMH_ZEPHYR_HEAP_STANDIN_STRING_H
#define VMH_ZEPHYR_HEAP_STANDIN_STRING_H

#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);

#endif
