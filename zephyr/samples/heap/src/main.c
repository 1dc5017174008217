/* vmh on Zephyr from C: the heap that CONFIG_VMH_HEAP builds from prj.conf, with no C++ in the
 * application. Prints the heap's statistics, the trace of its calls (CONFIG_VMH_HEAP_TRACE, between
 * the lines "--- vmh trace begin ---" and "--- vmh trace end ---": save them to a file and replay
 * it with vmh-sim compare --trace FILE --physical 16384), and "vmh sample: ok" when every step did
 * what it should. */
#include <stdbool.h>
#include <string.h>

#include <zephyr/kernel.h>
#include <zephyr/sys/printk.h>

#include <vmh/zephyr/heap.h>

/* A pointer the heap did not hand out is refused (the status) and reported here; the default
 * handler would stop a debug build at it. */
static void log_misuse(enum vmh_status what, const void *ptr)
{
	printk("vmh: %s at %p\n", vmh_heap_status_name(what), ptr);
}

#ifdef CONFIG_VMH_HEAP_TRACE
/* One trace line (newline included, not NUL-terminated) to the console. */
static void print_trace_line(void *ctx, const char *line, size_t n)
{
	ARG_UNUSED(ctx);
	printk("%.*s", (int)n, line);
}
#endif

int main(void)
{
	bool ok = true;

	vmh_heap_set_misuse_handler(log_misuse);

	/* A small object and a DMA buffer of 1 to 8 KiB in 1 KiB steps, cache-line aligned. */
	char *name = vmh_heap_alloc(32);
	struct vmh_grant dma = vmh_heap_alloc_range(1024, 8192, 64, 1024);

	ok = ok && name != NULL && dma.status == VMH_OK && dma.size >= 1024 && dma.size <= 8192;
	if (name != NULL) {
		strcpy(name, "capture");
	}

	/* The buffer shrinks and grows in place: the pointer never moves. */
	ok = ok && vmh_heap_resize(dma.ptr, 1024) == VMH_OK;
	struct vmh_grant grown = vmh_heap_grow(dma.ptr, 4096, 1024);

	ok = ok && grown.status == VMH_OK && grown.ptr == dma.ptr && grown.size >= 1024;

	/* The k_heap-like calls: zeroed memory, realloc, a wait that memory is there at once for. */
	int *counters = vmh_heap_calloc(8, sizeof(int));

	ok = ok && counters != NULL && counters[7] == 0;
	counters = vmh_heap_realloc(counters, 64 * sizeof(int));
	ok = ok && counters != NULL && counters[7] == 0;
	void *frame = vmh_heap_alloc_wait(256, K_MSEC(10));

	ok = ok && frame != NULL;

	struct vmh_stats stats;

	ok = ok && vmh_heap_stats(&stats) == 1 && stats.live_allocations == 4;
	printk("vmh heap: %u live allocations, %u bytes in blocks, %u buckets, %u bytes of metadata\n",
	       (unsigned int)stats.live_allocations, (unsigned int)stats.bytes_in_blocks,
	       (unsigned int)vmh_heap_bucket_count(), (unsigned int)vmh_heap_metadata_bytes());

	ok = ok && name != NULL && strcmp(name, "capture") == 0;
	ok = ok && vmh_heap_free(frame) == VMH_OK && vmh_heap_free(counters) == VMH_OK;
	ok = ok && vmh_heap_free(dma.ptr) == VMH_OK && vmh_heap_free(name) == VMH_OK;
	/* Bad input is refused, and logged by log_misuse. */
	ok = ok && vmh_heap_free(name) == VMH_DOUBLE_FREE;
	ok = ok && vmh_heap_validate() == VMH_INVARIANT_OK;
#ifdef CONFIG_VMH_HEAP_TRACE
	/* What the calls above asked of the heap, one line each (the double free is not in it: it
	 * changed nothing); nothing was dropped, the ring had room. */
	printk("--- vmh trace begin ---\n");
	ok = ok && vmh_heap_trace_dump(print_trace_line, NULL) > 1;
	printk("--- vmh trace end ---\n");
	ok = ok && vmh_heap_trace_dropped() == 0;
#endif
	printk("vmh sample: %s\n", ok ? "ok" : "FAILED");
	return 0;
}
