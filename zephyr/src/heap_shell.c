/* The shell commands of CONFIG_VMH_HEAP_TRACE with CONFIG_SHELL (zephyr/CMakeLists.txt compiles
 * this file only then):
 *   vmh trace   prints the heap's trace lines recorded since the last dump, and empties the ring;
 *   vmh stats   prints the heap's statistics (0 without CONFIG_VMH_HEAP_STATISTICS).
 * Save what `vmh trace` prints to a file and replay it on the host: vmh-sim compare --trace FILE
 * --physical <CONFIG_VMH_HEAP_PHYSICAL_SIZE> (docs/firmware.md, "Recording a trace"). */
#include <errno.h>
#include <stddef.h>

#include <zephyr/shell/shell.h>

#include <vmh/zephyr/heap.h>

/* One trace line (its newline included) to the shell, which adds its own newline. */
static void vmh_shell_put_line(void *ctx, const char *line, size_t n)
{
	const struct shell *sh = ctx;

	shell_print(sh, "%.*s", (int)(n > 0 && line[n - 1] == '\n' ? n - 1 : n), line);
}

static int vmh_shell_trace(const struct shell *sh, size_t argc, char **argv)
{
	ARG_UNUSED(argc);
	ARG_UNUSED(argv);
	(void)vmh_heap_trace_dump(vmh_shell_put_line, (void *)sh);
	return 0;
}

static int vmh_shell_stats(const struct shell *sh, size_t argc, char **argv)
{
	struct vmh_stats s;

	ARG_UNUSED(argc);
	ARG_UNUSED(argv);
	if (vmh_heap_stats(&s) != 1) {
		shell_error(sh, "vmh heap: no statistics");
		return -ENOEXEC;
	}
	shell_print(sh, "live allocations %zu, bytes in blocks %zu (peak %zu), pages mapped %zu (peak %zu)",
		    s.live_allocations, s.bytes_in_blocks, s.peak_bytes_in_blocks, s.pages_mapped,
		    s.peak_pages_mapped);
	shell_print(sh, "failed: no block %zu, no memory %zu; trace lines dropped %zu", s.failed_no_block,
		    s.failed_no_memory, vmh_heap_trace_dropped());
	return 0;
}

SHELL_STATIC_SUBCMD_SET_CREATE(vmh_shell_commands,
	SHELL_CMD(trace, NULL, "Print the heap's trace lines recorded since the last dump", vmh_shell_trace),
	SHELL_CMD(stats, NULL, "Print the heap's statistics", vmh_shell_stats),
	SHELL_SUBCMD_SET_END);

SHELL_CMD_REGISTER(vmh, &vmh_shell_commands, "vmh heap (CONFIG_VMH_HEAP)", NULL);
