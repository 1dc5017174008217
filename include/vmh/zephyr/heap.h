/** @file
 * The heap of CONFIG_VMH_HEAP, for C code of a Zephyr application (zephyr/Kconfig, zephyr/src/heap.cpp).
 *
 * With CONFIG_VMH=y and CONFIG_VMH_HEAP=y the module builds one heap from the Kconfig options
 * (physical memory, virtual window, page and line size, the auto layout or a layout file) and
 * gives C code its functions, with no C++ to write:
 *
 *  - vmh's C API with the prefix vmh_heap (vmh/c/vmh.h says what each returns):
 *    vmh_heap_alloc, vmh_heap_aligned_alloc, vmh_heap_try_alloc, vmh_heap_alloc_range,
 *    vmh_heap_resize, vmh_heap_grow, vmh_heap_free, vmh_heap_usable_size, vmh_heap_owns,
 *    vmh_heap_stats, vmh_heap_bucket_count, vmh_heap_bucket_stats, vmh_heap_metadata_bytes,
 *    vmh_heap_set_range_policy, vmh_heap_range_policy, vmh_heap_validate,
 *    vmh_heap_status_name, vmh_heap_invariant_name and vmh_heap_set_misuse_handler;
 *  - the calls a k_heap user expects, declared below: vmh_heap_calloc, vmh_heap_realloc, and
 *    vmh_heap_alloc_wait / vmh_heap_aligned_alloc_wait, which wait up to a timeout for memory
 *    another thread frees, as k_heap_alloc does.
 *
 * Every call takes the heap's k_spinlock for its duration, so threads, cores and ISRs may call
 * any of them at once (an ISR may not wait: the _wait calls answer at once there, as with
 * K_NO_WAIT). A free, a shrinking resize and a realloc wake the threads waiting for memory.
 *
 *     #include <vmh/zephyr/heap.h>
 *
 *     void *buf = vmh_heap_alloc_wait(4096, K_MSEC(10));
 *     struct vmh_grant dma = vmh_heap_alloc_range(4096, 48 * 1024, 64, 0);
 *     vmh_heap_free(dma.ptr);
 *     vmh_heap_free(buf);
 *
 * With CONFIG_VMH_HEAP_TRACE=y every call above goes through a vmh::recorder (vmh/recorder.hpp)
 * into a RAM ring of CONFIG_VMH_HEAP_TRACE_BYTES bytes, one line of vmh-sim's trace format per
 * call the format can express, and vmh_heap_trace_dump / vmh_heap_trace_dropped (below) read it
 * out; with CONFIG_SHELL=y too, the shell command `vmh trace` prints it (docs/firmware.md,
 * "Recording a trace").
 */
#ifndef VMH_ZEPHYR_HEAP_H
#define VMH_ZEPHYR_HEAP_H

#include <stddef.h>

#include <zephyr/kernel.h>

#include "../c/vmh.h"
#ifdef CONFIG_VMH_HEAP_TRACE
#include "../c/trace.h"
#endif

/** The heap's functions of vmh's C API, with the prefix vmh_heap (vmh/c/vmh.h documents them). */
VMH_C_DECLARE(vmh_heap);

#ifdef __cplusplus
extern "C" {
#endif

/** k_calloc: `num` elements of `size` bytes, zeroed. Returns NULL when num * size overflows, is 0,
 * or the heap cannot serve it. */
void *vmh_heap_calloc(size_t num, size_t size);

/** k_realloc: resizes the allocation at `ptr` to `bytes`, in place when its block allows, else
 * into a new allocation (the first min(old, new) bytes copied, the old one freed). `ptr` NULL:
 * vmh_heap_alloc(bytes). `bytes` 0: frees `ptr` and returns NULL. Returns NULL, leaving `ptr` as it
 * was, when no memory is left or `ptr` is not a live allocation of this heap (that misuse is
 * reported to the misuse handler, as a bad vmh_heap_free is). */
void *vmh_heap_realloc(void *ptr, size_t bytes);

/** k_heap_alloc: vmh_heap_alloc(bytes), waiting up to `timeout` (K_NO_WAIT, K_FOREVER, K_MSEC(n)...)
 * for another thread to free memory. Returns NULL when the time is up, at once for a request no
 * free could satisfy (size 0 or larger than every block), and at once in an ISR. */
void *vmh_heap_alloc_wait(size_t bytes, k_timeout_t timeout);

/** k_heap_aligned_alloc: as vmh_heap_alloc_wait, aligned to `align` (a power of two; 0: the
 * layout's minimum). An alignment that is not a power of two returns NULL at once. */
void *vmh_heap_aligned_alloc_wait(size_t align, size_t bytes, k_timeout_t timeout);

#ifdef CONFIG_VMH_HEAP_TRACE
/** CONFIG_VMH_HEAP_TRACE: hands every whole line of the heap's trace now in the ring to
 * `fn(ctx, line, n)`, oldest first, removing each (the dumps, concatenated, are the trace); then,
 * once the ring has dropped lines because it was full, a comment line saying how many (the trace
 * stops at the first dropped line, so that what was dumped stays a valid trace). Each line ends
 * in its newline, is at most VMH_TRACE_LINE_MAX bytes and is not NUL-terminated. `fn` is called
 * without the heap's or the ring's lock held, so it may print and block. Returns the lines handed out; 0 when `fn` is NULL. */
size_t vmh_heap_trace_dump(vmh_trace_line_fn fn, void *ctx);

/** CONFIG_VMH_HEAP_TRACE: the trace lines dropped so far because the ring was full (dump more
 * often, or raise CONFIG_VMH_HEAP_TRACE_BYTES). */
size_t vmh_heap_trace_dropped(void);
#endif

#ifdef __cplusplus
}
#endif

#endif /* VMH_ZEPHYR_HEAP_H */
