/* The Kconfig options Zephyr's lib/heap/heap.c reads, at their Zephyr 4.0 defaults (given to the
 * compiler with -imacros, as a Zephyr build gives its generated autoconf.h): three tries of the
 * allocation loop; runtime statistics, listeners, validation and assertions off; small and big
 * heaps both supported (SYS_HEAP_AUTO). The architecture option the toolchain header needs is
 * taken from the compiler's own macros. */
#define CONFIG_SYS_HEAP_ALLOC_LOOPS 3
#define CONFIG_SYS_HEAP_AUTO 1
#if defined(__XTENSA__)
#define CONFIG_XTENSA 1
#elif defined(__arm__)
#define CONFIG_ARM 1
#else
#error "zephyr_heap_standin/autoconf.h: add this architecture's CONFIG_ option"
#endif
