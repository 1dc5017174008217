/* Stand-in for the autoconf.h a Zephyr build generates: the options the unmodified Zephyr and
 * SOF sources in bench/real read, with the values SOF's ACE builds have. Forced into every
 * translation unit of those sources (-include); the variants of a build (runtime statistics,
 * one header width) add theirs as -D options (bench/real/CMakeLists.txt). Project file, not
 * a copy of Zephyr's. */
#ifndef VMH_STANDIN_AUTOCONF_H
#define VMH_STANDIN_AUTOCONF_H

/* Zephyr's toolchain header needs to know the architecture it compiles for. */
#if defined(__arm__)
#define CONFIG_ARM 1
#elif defined(__XTENSA__)
#define CONFIG_XTENSA 1
#else
#define CONFIG_ARCH_POSIX 1
#endif

/* sys_heap: look at up to 3 chunks of the request's own bucket (Zephyr's default). */
#define CONFIG_SYS_HEAP_ALLOC_LOOPS 3

/* The page of the memory-management driver (ACE: 4 KiB). */
#define CONFIG_MM_DRV 1
#define CONFIG_MM_DRV_PAGE_SIZE 4096

/* SOF's log level: the log calls compile to nothing here (zephyr/logging/log.h). */
#define CONFIG_SOF_LOG_LEVEL 0

/* vpage.c: at most this many live allocations (SOF's default). */
#define CONFIG_SOF_VPAGE_MAX_ALLOCS 128

/* The sizes vpage.c subtracts from L2 to find its window: set at run time by the harness
 * (bench/real/page_table.h), so that one build serves every budget. */
#define CONFIG_SOF_ZEPHYR_VIRTUAL_HEAP_REGION_SIZE (vmh_standin_l2.vmh_region_bytes)
#define CONFIG_LIBRARY_REGION_SIZE (vmh_standin_l2.library_region_bytes)

#endif
