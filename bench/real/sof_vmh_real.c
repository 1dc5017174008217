/* SOF's VMH, its regions_mm.c compiled unmodified from the SOF tree (VMH_SOF_REGIONS_MM names
 * it), behind the harness's calls (sof_real.h). Included rather than compiled alone so that the
 * size of its private heap structure can be reported. */
#include "upstream_warnings_off.h"
#include VMH_SOF_REGIONS_MM
#pragma GCC diagnostic pop

#include <zephyr/drivers/mm/mm_drv_intel_adsp_mtl_tlb.h>

#include "page_table.h"
#include "sof_real.h"

struct vmh_heap *vmh_real_vmh_create(const size_t (*table)[2], size_t count, uintptr_t region,
				     size_t region_bytes)
{
	struct vmh_heap_config cfg = {0};

	if (count > MAX_MEMORY_ALLOCATORS_COUNT ||
	    adsp_add_virtual_memory_region(region, region_bytes, VIRTUAL_REGION_SHARED_HEAP_ATTR) != 0) {
		return NULL;
	}
	for (size_t i = 0; i < count; i++) {
		cfg.block_bundles_table[i].block_size = table[i][0];
		cfg.block_bundles_table[i].number_of_blocks = table[i][1];
	}
	return vmh_init_heap(&cfg, false);
}

void *vmh_real_vmh_alloc(struct vmh_heap *heap, size_t bytes)
{
	return vmh_alloc(heap, bytes);
}

int vmh_real_vmh_free(struct vmh_heap *heap, void *ptr)
{
	return vmh_free(heap, ptr);
}

size_t vmh_real_vmh_heap_bytes(void)
{
	return sizeof(struct vmh_heap);
}

size_t vmh_real_mem_blocks_bytes(void)
{
	return sizeof(sys_mem_blocks_t);
}

size_t vmh_real_bit_array_bytes(void)
{
	return sizeof(sys_bitarray_t);
}

int vmh_real_bit_array_gap_rule(void)
{
	uint32_t word = (uint32_t)~(BIT(1) | BIT(2) | BIT(3) | BIT(30));
	sys_bitarray_t bits = {.num_bits = 32, .num_bundles = 1, .bundles = &word};
	size_t offset = 0;

	return sys_bitarray_alloc(&bits, 1, &offset) == 0 && offset == 30;
}
