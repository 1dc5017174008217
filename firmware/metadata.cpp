// RAM figures of vmh heaps on the 32-bit target, published as symbol sizes: scripts/code-size.sh
// reads them with `nm -S` (the object is never linked into an image). Each symbol is a char
// array whose length is the figure.
#include <cstddef>

#include <vmh/vmh.hpp>

namespace {
using sof = vmh::fixed_layout<vmh::presets::sof_table>;
using autolayout = vmh::fixed_layout<vmh::presets::geometric<vmh::presets::auto_params(1u << 20)>()>;
}  // namespace

#define VMH_FIGURE(name, value) [[gnu::used]] char name[(value) > 0 ? (value) : 1];
#define VMH_LAYOUT_FIGURES(prefix, L)                                                                           \
  VMH_FIGURE(prefix##_buckets, L::bucket_capacity)                                                              \
  VMH_FIGURE(prefix##_blocks, L::block_capacity)                                                                \
  VMH_FIGURE(prefix##_pages, L::page_capacity)                                                                  \
  VMH_FIGURE(prefix##_bitmap_words, L::word_capacity)                                                           \
  VMH_FIGURE(prefix##_virtual_kib, L::virtual_size / 1024)                                                      \
  VMH_FIGURE(prefix##_heap_counting, sizeof(vmh::heap<L, vmh::counting_mapper, vmh::external_range>))           \
  VMH_FIGURE(prefix##_heap_null, sizeof(vmh::heap<L, vmh::null_mapper, vmh::external_range>))                   \
  VMH_FIGURE(prefix##_mapper_counting, sizeof(vmh::counting_mapper))                                            \
  VMH_FIGURE(prefix##_backing, sizeof(vmh::external_range))

extern "C" {
VMH_FIGURE(vmh_figure_size_t, sizeof(std::size_t))
VMH_LAYOUT_FIGURES(vmh_figure_sof, sof)
VMH_LAYOUT_FIGURES(vmh_figure_auto, autolayout)
}
