/* The page-table driver, the L2 layout and the system heap under SOF's real allocators
 * (page_table.h says what each call does). */
#include "page_table.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zephyr/kernel.h>
#include <zephyr/drivers/mm/system_mm.h>
#include <zephyr/drivers/mm/mm_drv_intel_adsp_mtl_tlb.h>
#include <rtos/alloc.h>

#define PAGE CONFIG_MM_DRV_PAGE_SIZE
#define MAX_REGIONS 4

struct vmh_standin_l2_layout vmh_standin_l2;

static struct {
	struct sys_mm_drv_region regions[MAX_REGIONS + 1]; /* the last stays zero: the end mark */
	size_t region_count;
	uintptr_t first;  /* address of mapped[0] */
	size_t pages;     /* entries of mapped */
	unsigned char *mapped;
	size_t budget, in_use, peak, faults;
} table;

static struct vmh_standin_system_heap system_heap;

void vmh_page_table_reset(size_t physical_pages)
{
	free(table.mapped);
	memset(&table, 0, sizeof(table));
	table.budget = physical_pages;
}

size_t vmh_page_table_mapped(void)
{
	return table.in_use;
}

size_t vmh_page_table_peak(void)
{
	return table.peak;
}

size_t vmh_page_table_faults(void)
{
	return table.faults;
}

/* The entry of the page holding `virt`, or NULL outside every region. */
static unsigned char *entry(uintptr_t virt)
{
	if (virt < table.first || (virt - table.first) / PAGE >= table.pages) {
		return NULL;
	}
	return &table.mapped[(virt - table.first) / PAGE];
}

int vmh_page_table_is_mapped(uintptr_t virt)
{
	const unsigned char *e = entry(virt);

	return e != NULL && *e != 0;
}

FUNC_NORETURN void vmh_standin_panic(const char *where)
{
	fprintf(stderr, "vmh-real: k_panic() in %s\n", where);
	exit(3);
}

uintptr_t adsp_mm_get_unused_l2_start_aligned(void)
{
	return vmh_standin_l2.unused_start;
}

int adsp_add_virtual_memory_region(uintptr_t start, uint32_t size, uint32_t attr)
{
	if (table.region_count == MAX_REGIONS || size == 0 || start % PAGE != 0 || size % PAGE != 0) {
		return -ENOMEM;
	}
	/* Grow the table to cover every region, keeping what is mapped. */
	uintptr_t lo = table.pages == 0 ? start : MIN(table.first, start);
	uintptr_t hi = table.pages == 0 ? start + size : MAX(table.first + table.pages * PAGE, start + size);
	unsigned char *grown = calloc((hi - lo) / PAGE, 1);

	if (grown == NULL) {
		return -ENOMEM;
	}
	if (table.pages != 0) {
		memcpy(grown + (table.first - lo) / PAGE, table.mapped, table.pages);
	}
	free(table.mapped);
	table.mapped = grown;
	table.first = lo;
	table.pages = (hi - lo) / PAGE;
	table.regions[table.region_count++] = (struct sys_mm_drv_region){(void *)start, size, attr};
	return 0;
}

const struct sys_mm_drv_region *sys_mm_drv_query_memory_regions(void)
{
	return table.regions;
}

void sys_mm_drv_query_memory_regions_free(const struct sys_mm_drv_region *regions)
{
	(void)regions;
}

int sys_mm_drv_map_page(void *virt, uintptr_t phys, uint32_t flags)
{
	unsigned char *e = entry((uintptr_t)virt);

	(void)phys;
	(void)flags;
	if (e == NULL || *e != 0) {
		++table.faults;
		return -EFAULT;
	}
	if (table.in_use == table.budget) {
		return -ENOMEM;
	}
	*e = 1;
	if (++table.in_use > table.peak) {
		table.peak = table.in_use;
	}
	return 0;
}

int sys_mm_drv_map_region_safe(const struct sys_mm_drv_region *virtual_region, void *virt,
			       uintptr_t phys, size_t size, uint32_t flags)
{
	const uintptr_t start = (uintptr_t)virt, region = (uintptr_t)virtual_region->addr;

	if (start < region || start - region > virtual_region->size ||
	    size > virtual_region->size - (start - region) || start % PAGE != 0 || size % PAGE != 0) {
		return -EINVAL;
	}
	for (size_t off = 0; off < size; off += PAGE) {
		int ret = sys_mm_drv_map_page((void *)(start + off), phys, flags);

		if (ret != 0) {
			return ret;
		}
	}
	return 0;
}

int sys_mm_drv_unmap_region(void *virt, size_t size)
{
	int ret = 0;

	for (uintptr_t v = (uintptr_t)virt; v < (uintptr_t)virt + size; v += PAGE) {
		unsigned char *e = entry(v);

		if (e == NULL || *e == 0) {
			ret = -EFAULT;
			continue;
		}
		*e = 0;
		--table.in_use;
	}
	return ret;
}

int sys_mm_drv_page_phys_get(void *virt, uintptr_t *phys)
{
	const unsigned char *e = entry((uintptr_t)virt);

	if (e == NULL || *e == 0) {
		return -EFAULT;
	}
	if (phys != NULL) {
		*phys = 0;
	}
	return 0;
}

void vmh_standin_set_system_heap(struct vmh_standin_system_heap heap)
{
	system_heap = heap;
}

void *rmalloc(uint32_t flags, size_t bytes)
{
	(void)flags;
	return system_heap.alloc != NULL ? system_heap.alloc(system_heap.ctx, bytes) : calloc(1, bytes);
}

void *rzalloc(uint32_t flags, size_t bytes)
{
	void *p = rmalloc(flags, bytes);

	if (p != NULL) {
		memset(p, 0, bytes);
	}
	return p;
}

void rfree(void *ptr)
{
	if (ptr == NULL) {
		return;
	}
	if (system_heap.free != NULL) {
		system_heap.free(system_heap.ctx, ptr);
	} else {
		free(ptr);
	}
}
