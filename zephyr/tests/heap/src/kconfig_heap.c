/* Suite vmh_kconfig_heap: the heap of CONFIG_VMH_HEAP (prj.conf) from C, as an application
 * without C++ of its own uses it: vmh's C API with the prefix vmh_heap, and the k_heap-like
 * calls (calloc, realloc, waiting allocations) of <vmh/zephyr/heap.h>. */
#include <stdint.h>
#include <string.h>

#include <zephyr/kernel.h>
#include <zephyr/ztest.h>

#include <vmh/zephyr/heap.h>

/* The largest bucket of the heap's layout: its block size and count. */
static struct vmh_bucket_stats largest(void)
{
	struct vmh_bucket_stats b;

	zassert_equal(vmh_heap_bucket_stats(vmh_heap_bucket_count() - 1, &b), 1);
	return b;
}

static void after(void *fixture)
{
	struct vmh_stats s;

	ARG_UNUSED(fixture);
	zassert_equal(vmh_heap_validate(), VMH_INVARIANT_OK, "validate: %s",
		      vmh_heap_invariant_name(vmh_heap_validate()));
	zassert_equal(vmh_heap_stats(&s), 1);
	zassert_equal(s.live_allocations, 0, "a test left allocations behind");
}

ZTEST_SUITE(vmh_kconfig_heap, NULL, NULL, NULL, after, NULL);

ZTEST(vmh_kconfig_heap, test_the_c_api)
{
	const struct vmh_bucket_stats top = largest();
	char *a = vmh_heap_alloc(100);
	void *b = vmh_heap_aligned_alloc(64, 200);
	struct vmh_grant g;
	struct vmh_stats s;

	zassert_not_null(a);
	zassert_not_null(b);
	zassert_equal((uintptr_t)b % 64, 0);
	memset(a, 0x5a, 100);
	zassert_true(vmh_heap_usable_size(a) >= 100);
	zassert_true(vmh_heap_owns(a) && vmh_heap_owns(b));
	zassert_equal(vmh_heap_try_alloc(0, 0).status, VMH_INVALID_SIZE);
	zassert_equal(vmh_heap_try_alloc(10, 3).status, VMH_INVALID_ALIGNMENT);
	zassert_equal(vmh_heap_try_alloc(top.block_size + 1, 0).status, VMH_NO_BUCKET, "larger than any block, ever");

	g = vmh_heap_alloc_range(64, top.block_size, 0, 64);
	zassert_equal(g.status, VMH_OK);
	zassert_true(g.size >= 64 && g.size <= top.block_size && g.size % 64 == 0);
	zassert_equal(vmh_heap_resize(g.ptr, 64), VMH_OK);
	zassert_equal(vmh_heap_usable_size(g.ptr), top.block_size, "plain RAM: its whole block is usable");
	zassert_equal(vmh_heap_resize(g.ptr, top.block_size + 1), VMH_EXCEEDS_BLOCK);
	g = vmh_heap_grow(g.ptr, top.block_size, 0);
	zassert_equal(g.status, VMH_OK);
	zassert_equal(g.size, top.block_size, "plain RAM: nothing limits growth within the block");
	zassert_equal(vmh_heap_grow(g.ptr, 0, 0).status, VMH_INVALID_SIZE);

	zassert_equal(vmh_heap_stats(&s), 1);
	zassert_equal(s.live_allocations, 3);
	zassert_equal(s.pages_mapped, 0, "plain RAM (no CONFIG_MM_DRV): nothing is mapped");
	zassert_true(vmh_heap_metadata_bytes() > 0);

	struct vmh_range_policy greedy = {VMH_RANGE_FIXED, 1, 1, 0};

	zassert_equal(vmh_heap_set_range_policy(greedy), 1);
	zassert_equal(vmh_heap_range_policy().kind, VMH_RANGE_FIXED);
	greedy.kind = (enum vmh_range_rule)9;
	zassert_equal(vmh_heap_set_range_policy(greedy), 0, "an unknown rule is refused");
	zassert_equal(vmh_heap_set_range_policy((struct vmh_range_policy){VMH_RANGE_RESERVE, 0, 0, 0}), 1);

	zassert_equal(vmh_heap_free(a + 1), VMH_INTERIOR_POINTER);
	zassert_equal(vmh_heap_free(&s), VMH_FOREIGN_POINTER);
	zassert_equal(vmh_heap_free(a), VMH_OK);
	zassert_equal(vmh_heap_free(a), VMH_DOUBLE_FREE);
	zassert_equal(vmh_heap_free(NULL), VMH_OK);
	zassert_equal(vmh_heap_free(b), VMH_OK);
	zassert_equal(vmh_heap_free(g.ptr), VMH_OK);
	zassert_str_equal(vmh_heap_status_name(VMH_DOUBLE_FREE), "block not allocated (double free)");
	zassert_str_equal(vmh_heap_invariant_name(VMH_INVARIANT_OK), "ok");
}

ZTEST(vmh_kconfig_heap, test_calloc_zeroes_and_checks_overflow)
{
	unsigned char *dirty = vmh_heap_alloc(256);

	zassert_not_null(dirty);
	memset(dirty, 0xff, 256);
	zassert_equal(vmh_heap_free(dirty), VMH_OK);
	unsigned char *p = vmh_heap_calloc(16, 16); /* likely the block just freed */

	zassert_not_null(p);
	for (int i = 0; i < 256; ++i) {
		zassert_equal(p[i], 0, "byte %d", i);
	}
	zassert_is_null(vmh_heap_calloc(SIZE_MAX / 2, 4), "num * size overflows");
	zassert_is_null(vmh_heap_calloc(0, 16));
	zassert_is_null(vmh_heap_calloc(16, 0));
	zassert_equal(vmh_heap_free(p), VMH_OK);
}

ZTEST(vmh_kconfig_heap, test_realloc_in_place_or_moved)
{
	char *p = vmh_heap_realloc(NULL, 40); /* an allocation */
	char *q;
	int local;

	zassert_not_null(p);
	memcpy(p, "vmh realloc", 12);
	q = vmh_heap_realloc(p, 48); /* same block: in place */
	zassert_equal(q, p);
	q = vmh_heap_realloc(p, largest().block_size); /* a larger block: moved, contents kept */
	zassert_not_null(q);
	zassert_not_equal(q, p);
	zassert_str_equal(q, "vmh realloc");
	zassert_equal(vmh_heap_free(p), VMH_DOUBLE_FREE, "the old block was freed");
	zassert_is_null(vmh_heap_realloc(&local, 10), "not an allocation of this heap");
	zassert_is_null(vmh_heap_realloc(q + 1, 10));
	zassert_is_null(vmh_heap_realloc(q, largest().block_size + 1), "too large: the old one stays");
	zassert_str_equal(q, "vmh realloc");
	zassert_is_null(vmh_heap_realloc(q, 0), "size 0 frees");
	zassert_equal(vmh_heap_free(q), VMH_DOUBLE_FREE);
}

/* Takes every block of the largest bucket; returns how many. */
static int fill_largest(void **held, int room)
{
	const struct vmh_bucket_stats top = largest();
	int n = 0;

	while (n < room && (held[n] = vmh_heap_alloc(top.block_size)) != NULL) {
		++n;
	}
	zassert_equal(n, (int)top.block_count, "the largest bucket's blocks, no more");
	return n;
}

static K_THREAD_STACK_DEFINE(freer_stack, 1024);
static struct k_thread freer_thread;

static void freer(void *ptr, void *unused1, void *unused2)
{
	ARG_UNUSED(unused1);
	ARG_UNUSED(unused2);
	k_msleep(20);
	(void)vmh_heap_free(ptr);
}

ZTEST(vmh_kconfig_heap, test_alloc_wait_times_out_or_is_woken_by_a_free)
{
	const size_t size = largest().block_size;
	void *held[16];
	const int n = fill_largest(held, 16);
	int64_t start = k_uptime_get();

	zassert_is_null(vmh_heap_alloc_wait(size, K_NO_WAIT));
	zassert_is_null(vmh_heap_alloc_wait(size, K_MSEC(30)), "nothing was freed");
	zassert_true(k_uptime_get() - start >= 30, "it waited the whole timeout");

	/* Another thread frees a block after 20 ms: the waiter gets it, long before its timeout. */
	k_thread_create(&freer_thread, freer_stack, K_THREAD_STACK_SIZEOF(freer_stack), freer, held[0], NULL, NULL,
			K_PRIO_PREEMPT(1), 0, K_NO_WAIT);
	start = k_uptime_get();
	void *got = vmh_heap_alloc_wait(size, K_SECONDS(10));
	const int64_t waited = k_uptime_get() - start;

	zassert_ok(k_thread_join(&freer_thread, K_SECONDS(1)));
	zassert_not_null(got, "woken by the free");
	zassert_true(waited >= 15 && waited < 1000, "waited %d ms", (int)waited);
	held[0] = got;
	for (int i = 0; i < n; ++i) {
		zassert_equal(vmh_heap_free(held[i]), VMH_OK);
	}
}

ZTEST(vmh_kconfig_heap, test_alloc_wait_never_waits_for_the_impossible)
{
	const size_t size = largest().block_size;
	const int64_t start = k_uptime_get();

	zassert_is_null(vmh_heap_alloc_wait(size + 1, K_FOREVER), "larger than every block");
	zassert_is_null(vmh_heap_alloc_wait(0, K_FOREVER));
	zassert_is_null(vmh_heap_aligned_alloc_wait(3, 16, K_FOREVER), "not a power of two");
	zassert_true(k_uptime_get() - start < 5, "each answered at once");
	void *p = vmh_heap_aligned_alloc_wait(64, 100, K_FOREVER);

	zassert_not_null(p, "memory is free: no wait at all");
	zassert_equal((uintptr_t)p % 64, 0);
	zassert_equal(vmh_heap_free(p), VMH_OK);
}

static size_t isr_size;
static void *isr_result = (void *)1;
static bool isr_ran;

static void isr_alloc(struct k_timer *timer)
{
	ARG_UNUSED(timer);
	isr_result = vmh_heap_alloc_wait(isr_size, K_FOREVER);
	isr_ran = true;
}
static K_TIMER_DEFINE(isr_timer, isr_alloc, NULL);

ZTEST(vmh_kconfig_heap, test_an_isr_never_waits)
{
	void *held[16];
	const int n = fill_largest(held, 16);

	isr_size = largest().block_size;
	k_timer_start(&isr_timer, K_MSEC(1), K_NO_WAIT);
	k_msleep(20);
	zassert_true(isr_ran, "the timer fired");
	zassert_is_null(isr_result, "full, and an ISR cannot wait: NULL at once");
	for (int i = 0; i < n; ++i) {
		zassert_equal(vmh_heap_free(held[i]), VMH_OK);
	}
}
