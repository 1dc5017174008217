// Suite vmh_threads: one heap under a k_spinlock (vmh::zephyr::spinlock), hammered by preemptible
// threads of equal priority (time slicing, explicit yields) and by a timer ISR, each thread writing
// its own pattern through its allocations and checking it before it frees them. On an SMP build
// (CONFIG_SMP) the same threads run on several CPUs at once.
#include <zephyr/sys/atomic.h>

#include <cstring>

#include "heaps.hpp"

using namespace vmh_test;
using vmh::status;

namespace {

constexpr int workers = 3;
constexpr int operations = 1500;
constexpr std::size_t stack_size = 1024;
K_THREAD_STACK_ARRAY_DEFINE(worker_stacks, workers, stack_size);
k_thread worker_threads[workers];

atomic_t ticket = ATOMIC_INIT(0);  // one per heap call: tells whether another caller came in between
struct worker_result {
  int allocations = 0;
  int refusals = 0;     // no_block or no_memory: the heap is small on purpose
  int interleaved = 0;  // calls that found another caller's call since their own previous one
  int preempted = 0;    // of those, calls whose thread had not yielded since (a time slice ended)
  int corrupted = 0;    // allocations whose pattern changed while they were live
  int wrong = 0;        // results that are neither ok nor a refusal
};
worker_result results[workers];

void fill(void* p, std::size_t n, std::uint8_t tag) { std::memset(p, tag, n); }
bool intact(const void* p, std::size_t n, std::uint8_t tag) {
  const auto* b = static_cast<const std::uint8_t*>(p);
  for (std::size_t i = 0; i < n; ++i)
    if (b[i] != tag) return false;
  return true;
}

void worker(void* a, void*, void*) {
  const int id = static_cast<int>(reinterpret_cast<std::uintptr_t>(a));
  worker_result& r = results[id];
  struct live {
    void* ptr;
    std::size_t size;
  } slots[10] = {};  // 3 workers x 10 + the ISR's 1 fit the 32 blocks of 64 B: most calls succeed
  std::uint32_t rng = 2463534242u + static_cast<std::uint32_t>(id) * 7919u;
  auto next = [&rng] {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
  };
  atomic_val_t last = atomic_inc(&ticket);
  const auto tag = static_cast<std::uint8_t>(0x40 + id);
  bool yielded = false;
  for (int op = 0; op < operations; ++op) {
    live& s = slots[next() % 10];
    const atomic_val_t t = atomic_inc(&ticket);
    if (t != last + 1) {
      ++r.interleaved;
      if (!yielded) ++r.preempted;
    }
    last = t;
    yielded = op % 8 == 0;
    if (s.ptr == nullptr) {
      const std::size_t n = 8 + next() % 57;
      const vmh::grant g = api_heap.try_allocate(n);
      if (g) {
        s = {g.ptr, n};
        fill(s.ptr, n, tag);
        ++r.allocations;
      } else if (g.status == status::no_block || g.status == status::no_memory) {
        ++r.refusals;
      } else {
        ++r.wrong;
      }
    } else if (next() % 4 == 0) {
      if (!intact(s.ptr, s.size, tag)) ++r.corrupted;
      const std::size_t n = 8 + next() % 57;  // within its block or not: exceeds_block is an answer too
      const status rs = api_heap.resize(s.ptr, n);
      if (rs == status::ok) s.size = n;
      else if (rs != status::exceeds_block) ++r.wrong;
      fill(s.ptr, s.size, tag);
    } else {
      if (!intact(s.ptr, s.size, tag)) ++r.corrupted;
      if (api_heap.deallocate(s.ptr) != status::ok) ++r.wrong;
      s.ptr = nullptr;
    }
    if (op % 8 == 0) k_yield();
    // Time passes (on native_sim only through such waits): ticks end time slices, so the thread
    // is preempted here, between two heap calls it did not yield between, and the timer fires.
    if (op % 16 == 5) k_busy_wait(200);
  }
  for (live& s : slots)
    if (s.ptr != nullptr) {
      if (!intact(s.ptr, s.size, tag)) ++r.corrupted;
      if (api_heap.deallocate(s.ptr) != status::ok) ++r.wrong;
    }
}

// The ISR: allocates a small block on one tick, checks and frees it on the next.
struct isr_state {
  void* held = nullptr;
  int allocations = 0;
  int corrupted = 0;
  int wrong = 0;
} isr;

void on_timer(k_timer*) {
  constexpr std::uint8_t tag = 0x7e;
  if (isr.held == nullptr) {
    const vmh::grant g = api_heap.try_allocate(40);
    if (g) {
      isr.held = g.ptr;
      fill(g.ptr, 40, tag);
      ++isr.allocations;
    }
  } else {
    if (!intact(isr.held, 40, tag)) ++isr.corrupted;
    if (api_heap.deallocate(isr.held) != status::ok) ++isr.wrong;
    isr.held = nullptr;
  }
}
K_TIMER_DEFINE(isr_timer, on_timer, nullptr);

}  // namespace

ZTEST_SUITE(vmh_threads, NULL, NULL, NULL, after_each, NULL);

ZTEST(vmh_threads, test_threads_and_an_isr_share_one_heap) {
  k_timer_start(&isr_timer, K_MSEC(1), K_MSEC(1));
  for (int i = 0; i < workers; ++i)
    k_thread_create(&worker_threads[i], worker_stacks[i], stack_size, worker,
                    reinterpret_cast<void*>(static_cast<std::uintptr_t>(i)), nullptr, nullptr, K_PRIO_PREEMPT(5), 0,
                    K_NO_WAIT);
  for (k_thread& t : worker_threads) zassert_equal(k_thread_join(&t, K_SECONDS(60)), 0, "a worker did not finish");
  k_timer_stop(&isr_timer);
  if (isr.held != nullptr) {  // the timer is stopped: nothing else touches it now
    zassert_equal(api_heap.deallocate(isr.held), status::ok);
    isr.held = nullptr;
  }
  int callers_interleaved = 0, preemptions = 0;
  for (int i = 0; i < workers; ++i) {
    const worker_result& r = results[i];
    printk("worker %d: %d allocations, %d refused, %d calls after another caller's (%d preempted)\n", i,
           r.allocations, r.refusals, r.interleaved, r.preempted);
    zassert_equal(r.corrupted, 0, "worker %d: an allocation changed under it", i);
    zassert_equal(r.wrong, 0, "worker %d: a call failed for a reason other than a full heap", i);
    zassert_true(r.allocations > operations / 4, "worker %d: too few allocations (%d)", i, r.allocations);
    callers_interleaved += r.interleaved > 0 ? 1 : 0;
    preemptions += r.preempted;
  }
  printk("isr: %d allocations; SMP: %s, %d CPUs\n", isr.allocations, IS_ENABLED(CONFIG_SMP) ? "yes" : "no",
         arch_num_cpus());
  zassert_equal(callers_interleaved, workers, "every worker ran interleaved with the others");
  zassert_true(preemptions > 0, "time slices ended inside the workers' loops");
  zassert_true(isr.allocations > 0, "the timer ISR allocated");
  zassert_equal(isr.corrupted, 0);
  zassert_equal(isr.wrong, 0);
}
