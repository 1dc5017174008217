/* Forced into each build of Zephyr's heap sources (bench/real/CMakeLists.txt) with
 * -DVMH_REAL_PREFIX=<prefix>: every function of the heap's API gets the prefix, so that builds
 * with different options (runtime statistics on or off) link into one program. The sources are
 * unchanged; only the names their symbols get differ. */
#ifndef VMH_STANDIN_RENAME_H
#define VMH_STANDIN_RENAME_H
#define VMH_REAL_CAT2(a, b) a##b
#define VMH_REAL_CAT(a, b) VMH_REAL_CAT2(a, b)
#define VMH_REAL_NAME(name) VMH_REAL_CAT(VMH_REAL_PREFIX, name)
#define sys_heap_init VMH_REAL_NAME(sys_heap_init)
#define sys_heap_alloc VMH_REAL_NAME(sys_heap_alloc)
#define sys_heap_aligned_alloc VMH_REAL_NAME(sys_heap_aligned_alloc)
#define sys_heap_aligned_realloc VMH_REAL_NAME(sys_heap_aligned_realloc)
#define sys_heap_free VMH_REAL_NAME(sys_heap_free)
#define sys_heap_usable_size VMH_REAL_NAME(sys_heap_usable_size)
#define sys_heap_validate VMH_REAL_NAME(sys_heap_validate)
#define sys_heap_runtime_stats_get VMH_REAL_NAME(sys_heap_runtime_stats_get)
#define sys_heap_runtime_stats_reset_max VMH_REAL_NAME(sys_heap_runtime_stats_reset_max)
#endif
