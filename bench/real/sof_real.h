/* SOF's real allocators as the harness calls them (bench/real): SOF's VMH (regions_mm.c, built in
 * sof_vmh_real.c) and its page allocator (vpage.c, built in sof_vpage_real.c), over the page
 * table of page_table.h, and what the harness learns about Zephyr's bit array and the
 * structures' sizes on this target. */
#ifndef VMH_REAL_SOF_REAL_H
#define VMH_REAL_SOF_REAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vmh_heap;

/* Adds a virtual region of `region_bytes` at `region` (page-aligned) and builds SOF's VMH over
 * it with a table of `count` bundles {block size, block count} (at most 10), single-block mode;
 * NULL when SOF's init refuses. The page table must have been reset before. */
struct vmh_heap *vmh_real_vmh_create(const size_t (*table)[2], size_t count, uintptr_t region,
				     size_t region_bytes);
void *vmh_real_vmh_alloc(struct vmh_heap *heap, size_t bytes);
/* 0 on success, SOF's error code otherwise. */
int vmh_real_vmh_free(struct vmh_heap *heap, void *ptr);
/* sizeof of the VMH's structures on this target: the heap, a mem_blocks allocator, a bit
 * array. */
size_t vmh_real_vmh_heap_bytes(void);
size_t vmh_real_mem_blocks_bytes(void);
size_t vmh_real_bit_array_bytes(void);
/* 1 when Zephyr's bit array picks the gap rule on a one-word array, 0 when it takes the lowest
 * run (baselines/bit_runs.hpp), found by allocating from a word with free bits 1-3 and 30. */
int vmh_real_bit_array_gap_rule(void);

/* Runs vpage's init over the L2 layout of vmh_standin_l2 (it adds its own region); 0 or its
 * error. Once per process: vpage keeps its state in a static. */
int vmh_real_vpage_init(void);
void *vmh_real_vpage_alloc(unsigned int pages);
/* Frees through vpage_free; returns 0 when a record was released, -1 when vpage refused
 * (its records in use did not change). Stops the process with a message when 128 records are
 * in use: vpage.c would then read and write past its record array. */
int vmh_real_vpage_free(void *ptr);
size_t vmh_real_vpage_context_bytes(void);
size_t vmh_real_vpage_records_in_use(void);
size_t vmh_real_vpage_total_pages(void);
uintptr_t vmh_real_vpage_window(void);

#ifdef __cplusplus
}
#endif

#endif
