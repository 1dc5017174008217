/* Stand-in for the ACE TLB driver's header: the calls vpage.c makes to add its virtual region
 * (bench/real/page_table.c keeps the regions). */
#ifndef VMH_STANDIN_MM_DRV_INTEL_ADSP_MTL_TLB_H
#define VMH_STANDIN_MM_DRV_INTEL_ADSP_MTL_TLB_H
#include <stddef.h>
#include <stdint.h>
#include "page_table.h"

#ifdef __cplusplus
extern "C" {
#endif
/* The first page-aligned address of L2 after the firmware image. */
uintptr_t adsp_mm_get_unused_l2_start_aligned(void);
/* Adds a virtual region of `size` bytes at `start` with the given attribute; 0 or -ENOMEM. */
int adsp_add_virtual_memory_region(uintptr_t start, uint32_t size, uint32_t attr);
#ifdef __cplusplus
}
#endif

#endif
