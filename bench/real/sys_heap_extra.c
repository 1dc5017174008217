/* The harness's queries of one build of Zephyr's heap (zephyr_sys_heap.h), written against the
 * heap's own internal header (lib/heap/heap.h, read from the Zephyr tree), and the check that
 * the project's declarations of the heap's API match Zephyr's. */
#include <zephyr/kernel.h>
#include <zephyr/sys/sys_heap.h>
#include <zephyr/sys/util.h>
#include "heap.h"
#include "zephyr_sys_heap.h"

VMH_ZEPHYR_SYS_HEAP_DECLARE(VMH_REAL_PREFIX);

_Static_assert(sizeof(struct sys_heap) <= VMH_SYS_HEAP_HANDLE_BYTES &&
		       _Alignof(struct sys_heap) <= 8,
	       "struct sys_heap does not fit the handle the project keeps for it");

/* The chunk a user pointer belongs to (as the heap finds it on free). */
static chunkid_t chunk_of(struct z_heap *h, void *mem)
{
	return ((uint8_t *)mem - chunk_header_bytes(h) - (uint8_t *)chunk_buf(h)) / CHUNK_UNIT;
}

size_t VMH_REAL_NAME(sys_heap_in_place_limit)(struct sys_heap *heap, void *mem)
{
	struct z_heap *h = heap->heap;
	chunkid_t rc = right_chunk(h, chunk_of(h, mem));
	size_t usable = sys_heap_usable_size(heap, mem);

	return chunk_used(h, rc) ? usable : usable + chunk_size(h, rc) * CHUNK_UNIT;
}

size_t VMH_REAL_NAME(sys_heap_used_bytes)(struct sys_heap *heap)
{
	struct z_heap *h = heap->heap;
	size_t bytes = 0;

	for (chunkid_t c = right_chunk(h, 0); c < h->end_chunk; c = right_chunk(h, c)) {
		if (chunk_used(h, c)) {
			bytes += chunk_size(h, c) * CHUNK_UNIT;
		}
	}
	return bytes;
}

bool VMH_REAL_NAME(sys_heap_big_headers)(struct sys_heap *heap)
{
	return big_heap(heap->heap);
}
