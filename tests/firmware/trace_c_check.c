/* vmh/c/trace.h from strict C11 (-Wall -Wextra -Wpedantic -Werror): the declarations that
 * VMH_C_TRACE_RING defines, and a dump function as a C firmware writes one. Compiled, never run
 * (tests/core/test_recorder.cpp runs the functions). */
#include <vmh/c/trace.h>

#include <stdio.h>

VMH_C_DECLARE_TRACE(fw);

static void put_line(void *ctx, const char *line, size_t n) {
  (void)ctx;
  printf("%.*s", (int)n, line);
}

size_t trace_c_check(void);
size_t trace_c_check(void) {
  char line[VMH_TRACE_LINE_MAX];
  vmh_trace_line_fn fn = put_line;
  (void)line;
  if (fw_trace_dropped() != 0) return 0;
  return fw_trace_dump(fn, NULL);
}
