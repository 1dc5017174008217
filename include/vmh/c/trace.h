/** @file
 * vmh from C: reading a trace that vmh::recorder (vmh/recorder.hpp) wrote to a vmh::trace_ring.
 *
 * One C++ file of the firmware defines the ring and the functions:
 *
 *     vmh::trace_ring<16384, vmh::zephyr::spinlock> fw_ring;
 *     VMH_C_TRACE_RING(fw, fw_ring);
 *
 * and C code, after `VMH_C_DECLARE_TRACE(fw);` in a header of its own, drains the ring line by
 * line, e.g. from a shell command or a debug UART:
 *
 *     static void put(void *ctx, const char *line, size_t n) { printk("%.*s", (int)n, line); }
 *     fw_trace_dump(put, NULL);
 *
 * Each line handed to the function is one whole trace line with its newline, at most
 * VMH_TRACE_LINE_MAX bytes, not NUL-terminated. What a dump hands out is gone from the ring: the
 * dumps, concatenated, are the trace.
 *
 * This header is C89 to C2x and C++ compatible and needs only <stddef.h>.
 */
#ifndef VMH_C_TRACE_H
#define VMH_C_TRACE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The longest line a vmh::recorder writes, its newline included. */
#define VMH_TRACE_LINE_MAX 96

/** Takes one line of trace (`n` bytes, newline included, not NUL-terminated); `ctx` is the
 *  caller's own pointer, passed through. */
typedef void (*vmh_trace_line_fn)(void *ctx, const char *line, size_t n);

#ifdef __cplusplus
}
#endif

/** Declares the functions that VMH_C_TRACE_RING(prefix, ...) defines:
 *  - `size_t prefix_trace_dump(vmh_trace_line_fn fn, void *ctx)`: hands every whole line now in
 *    the ring to `fn`, oldest first, removing each; then, once the ring has dropped lines
 *    because it was full, a comment line saying how many (the trace stops at the first dropped
 *    line, so that what was dumped stays a valid trace). Returns the lines handed out.
 *    `fn` is called without the ring's lock held.
 *  - `size_t prefix_trace_dropped(void)`: the lines dropped so far. */
#define VMH_C_DECLARE_TRACE(prefix)                                  \
  size_t prefix##_trace_dump(vmh_trace_line_fn fn, void *ctx);       \
  size_t prefix##_trace_dropped(void)

#endif /* VMH_C_TRACE_H */
