/* Stand-in for Zephyr's <zephyr/drivers/mm/system_mm.h> in host tests: only the declarations
 * that vmh/zephyr/mm_mapper.hpp uses, with the driver API's signatures. The functions are
 * defined by zephyr_standin.cpp, which records every call. */
#ifndef VMH_TEST_ZEPHYR_SYSTEM_MM_H
#define VMH_TEST_ZEPHYR_SYSTEM_MM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SYS_MM_MEM_CACHE_WB 0
#define SYS_MM_MEM_PERM_RW (1u << 3)

int sys_mm_drv_map_region(void *virt, uintptr_t phys, size_t size, uint32_t flags);
int sys_mm_drv_unmap_region(void *virt, size_t size);
int sys_mm_drv_page_phys_get(void *virt, uintptr_t *phys);

#ifdef __cplusplus
}
#endif

#endif
