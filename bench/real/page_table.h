/* The harness under SOF's real allocators (bench/real): a page-table driver standing in for the
 * ACE TLB driver, the L2 layout vpage.c reads, and the system heap that SOF's rzalloc and rfree
 * use. C, so that the compiler checks these definitions against the prototypes of Zephyr's
 * <zephyr/drivers/mm/system_mm.h> (page_table.c includes both).
 *
 * The page table maps virtual pages of the registered regions to physical pages taken from a
 * budget, one page at a time, as the driver does:
 *  - sys_mm_drv_map_region_safe(region, virt, 0, size, flags) refuses a range outside `region`
 *    (a range that ends exactly at the region's end is inside), then maps its pages in order;
 *    when the budget runs out it stops, keeps the pages it mapped and returns -ENOMEM;
 *  - sys_mm_drv_unmap_region(virt, size) unmaps every page of the range; a page that was not
 *    mapped makes it return -EFAULT (the others are unmapped all the same);
 *  - sys_mm_drv_page_phys_get(virt, &phys) tells whether a page is mapped.
 * Mapping a page that is mapped already is refused (-EFAULT) and counted as a fault. */
#ifndef VMH_REAL_PAGE_TABLE_H
#define VMH_REAL_PAGE_TABLE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* L2 as vpage.c sees it: its start and size, the firmware image's end (the first unused
 * page), and the sizes it subtracts for the VMH window and the library region. vpage.c's
 * window is base + bytes - (unused_start + vmh_region_bytes + library_region_bytes) bytes. */
struct vmh_standin_l2_layout {
	uintptr_t base;
	size_t bytes;
	uintptr_t unused_start;
	size_t vmh_region_bytes;
	size_t library_region_bytes;
};
extern struct vmh_standin_l2_layout vmh_standin_l2;

/* Forgets every region and mapping; the budget becomes `physical_pages`. */
void vmh_page_table_reset(size_t physical_pages);
/* Pages mapped now, the most mapped at once, and the calls refused as faults. */
size_t vmh_page_table_mapped(void);
size_t vmh_page_table_peak(void);
size_t vmh_page_table_faults(void);
/* Whether the page holding `virt` is mapped. */
int vmh_page_table_is_mapped(uintptr_t virt);

/* The heap rzalloc, rmalloc and rfree use: `alloc(ctx, bytes)` and `free(ctx, ptr)`. Without
 * one (the default) they use the host's calloc and free, which no budget counts. */
struct vmh_standin_system_heap {
	void *(*alloc)(void *ctx, size_t bytes);
	void (*free)(void *ctx, void *ptr);
	void *ctx;
};
void vmh_standin_set_system_heap(struct vmh_standin_system_heap heap);

#ifdef __cplusplus
}
#endif

#endif
