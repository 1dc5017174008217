/* SOF's page allocator, its vpage.c compiled unmodified from the SOF tree (VMH_SOF_VPAGE names
 * it), behind the harness's calls (sof_real.h). Included rather than compiled alone because its
 * init and its state are static: the harness runs the one and reads the other. */
#include "upstream_warnings_off.h"
#include VMH_SOF_VPAGE
#pragma GCC diagnostic pop

#include <stdio.h>
#include <stdlib.h>

#include "page_table.h"
#include "sof_real.h"

int vmh_real_vpage_init(void)
{
	return vpage_init();
}

void *vmh_real_vpage_alloc(unsigned int pages)
{
	return vpage_alloc(pages);
}

int vmh_real_vpage_free(void *ptr)
{
	unsigned int before = vpage_ctx.num_elems_in_use;

	if (before >= VPAGE_MAX_ALLOCS) {
		fprintf(stderr, "vmh-real: vpage.c would read and write past its %d records here (all in use "
				"at a free); the replay stops\n", VPAGE_MAX_ALLOCS);
		exit(3);
	}
	vpage_free(ptr);
	return vpage_ctx.num_elems_in_use < before ? 0 : -1;
}

size_t vmh_real_vpage_context_bytes(void)
{
	return sizeof(vpage_ctx);
}

size_t vmh_real_vpage_records_in_use(void)
{
	return vpage_ctx.num_elems_in_use;
}

size_t vmh_real_vpage_total_pages(void)
{
	return vpage_ctx.total_pages;
}

uintptr_t vmh_real_vpage_window(void)
{
	return vpage_ctx.virtual_region != NULL ? (uintptr_t)vpage_ctx.virtual_region->addr : 0;
}
