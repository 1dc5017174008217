/* Stand-in for SOF's <rtos/alloc.h> and the helpers SOF's allocator sources take from its
 * common headers. rzalloc and rfree go to the harness's system heap (page_table.h): host memory
 * that is not counted, or the real sys_heap of a replay whose bookkeeping SOF keeps there. */
#ifndef VMH_STANDIN_RTOS_ALLOC_H
#define VMH_STANDIN_RTOS_ALLOC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <zephyr/logging/log.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SOF_MEM_FLAG_KERNEL (1U << 0)
#define SOF_MEM_FLAG_COHERENT (1U << 1)
#define SOF_MEM_FLAG_LARGE_BUFFER (1U << 2)

void *rmalloc(uint32_t flags, size_t bytes);
void *rzalloc(uint32_t flags, size_t bytes);
void rfree(void *ptr);

/* Integer helpers: ceil(n / d); x a power of two; x rounded up or down to a multiple of the
 * power of two a. */
#define SOF_DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
#define is_power_of_2(x) ((x) != 0 && (((x) & ((x) - 1)) == 0))
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))

/* The DSP's cache maintenance has no effect on which requests succeed. */
static inline void sys_cache_data_invd_range(void *addr, size_t size)
{
	(void)addr;
	(void)size;
}

#ifdef __cplusplus
}
#endif

#endif
