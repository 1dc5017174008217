/* Zephyr's sys_heap as the project calls it (bench/real): the functions of its API a replay,
 * a benchmark or a code-size image uses, and three queries of the harness's own
 * (sys_heap_extra.c). VMH_ZEPHYR_SYS_HEAP_DECLARE(prefix) declares them for one build of the
 * heap, whose symbols carry `prefix` (standin/rename.h); sys_heap_extra.c repeats the
 * declarations after Zephyr's own header, so the compiler checks that they match it.
 *
 * `struct sys_heap` stays incomplete here: a caller keeps one in VMH_SYS_HEAP_HANDLE_BYTES bytes
 * aligned to 8 (sys_heap_extra.c checks that it fits). */
#ifndef VMH_REAL_ZEPHYR_SYS_HEAP_H
#define VMH_REAL_ZEPHYR_SYS_HEAP_H

#include <stdbool.h>
#include <stddef.h>

#define VMH_SYS_HEAP_HANDLE_BYTES 32

#ifdef __cplusplus
#define VMH_REAL_EXTERN_C extern "C"
#else
#define VMH_REAL_EXTERN_C
#endif

struct sys_heap;

#define VMH_ZEPHYR_SYS_HEAP_DECLARE_(p)                                                            \
	VMH_REAL_EXTERN_C void p##sys_heap_init(struct sys_heap *heap, void *mem, size_t bytes);    \
	VMH_REAL_EXTERN_C void *p##sys_heap_alloc(struct sys_heap *heap, size_t bytes);             \
	VMH_REAL_EXTERN_C void *p##sys_heap_aligned_alloc(struct sys_heap *heap, size_t align,      \
							   size_t bytes);                           \
	VMH_REAL_EXTERN_C void *p##sys_heap_aligned_realloc(struct sys_heap *heap, void *ptr,       \
							     size_t align, size_t bytes);           \
	VMH_REAL_EXTERN_C void p##sys_heap_free(struct sys_heap *heap, void *mem);                  \
	VMH_REAL_EXTERN_C size_t p##sys_heap_usable_size(struct sys_heap *heap, void *mem);         \
	VMH_REAL_EXTERN_C bool p##sys_heap_validate(struct sys_heap *heap);                         \
	/* The usable bytes the block at mem could reach in place: its own and, when its right    \
	 * neighbour is free, that chunk's (what realloc's in-place growth can take). */          \
	VMH_REAL_EXTERN_C size_t p##sys_heap_in_place_limit(struct sys_heap *heap, void *mem);      \
	/* Bytes of the used chunks (headers included; chunk 0 excluded): O(chunks). */          \
	VMH_REAL_EXTERN_C size_t p##sys_heap_used_bytes(struct sys_heap *heap);                     \
	/* Whether the heap uses 8-byte chunk headers (32-bit fields). */                         \
	VMH_REAL_EXTERN_C bool p##sys_heap_big_headers(struct sys_heap *heap)
#define VMH_ZEPHYR_SYS_HEAP_DECLARE(p) VMH_ZEPHYR_SYS_HEAP_DECLARE_(p)

#endif
