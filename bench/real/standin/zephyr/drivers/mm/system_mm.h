/* Zephyr's <zephyr/drivers/mm/system_mm.h>, plus the bounded map call SOF uses, which Zephyr
 * releases after 4.0.0 declare there (a redeclaration when they do). The driver behind these
 * calls is the harness's page table (bench/real/page_table.c). */
#ifndef VMH_STANDIN_SYSTEM_MM_H
#define VMH_STANDIN_SYSTEM_MM_H
#include_next <zephyr/drivers/mm/system_mm.h>

#ifdef __cplusplus
extern "C" {
#endif
int sys_mm_drv_map_region_safe(const struct sys_mm_drv_region *virtual_region, void *virt,
			       uintptr_t phys, size_t size, uint32_t flags);
#ifdef __cplusplus
}
#endif

#endif
