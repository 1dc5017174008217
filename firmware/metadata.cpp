// RAM figures of vmh heaps on the 32-bit target, published as symbol sizes: scripts/code-size.sh
// reads them with `nm -S` (the object is never linked into an image). Each symbol is a char
// array whose length is the figure.
#include <cstddef>

#include <vmh/vmh.hpp>

namespace {
using sof = vmh::fixed_layout<vmh::presets::sof_table>;
}  // namespace

#define VMH_FIGURE(name, value) [[gnu::used]] char name[(value) > 0 ? (value) : 1];

template <class L, class M>
constexpr std::size_t metadata_of() {
  const vmh::heap<L, M, vmh::external_range> h{};
  return h.metadata_bytes();
}

#define VMH_LAYOUT_FIGURES(prefix, L)                                                       \
  VMH_FIGURE(prefix##_buckets, L::bucket_capacity)                                          \
  VMH_FIGURE(prefix##_blocks, L::block_capacity)                                            \
  VMH_FIGURE(prefix##_records, L::record_capacity)                                          \
  VMH_FIGURE(prefix##_pages, L::page_capacity)                                              \
  VMH_FIGURE(prefix##_ref_pages, L::ref_capacity)                                           \
  VMH_FIGURE(prefix##_bitmap_words, L::word_capacity)                                       \
  VMH_FIGURE(prefix##_virtual_kib, L::virtual_size / 1024)                                  \
  VMH_FIGURE(prefix##_metadata_counting, (metadata_of<L, vmh::counting_mapper>()))          \
  VMH_FIGURE(prefix##_metadata_null, (metadata_of<L, vmh::null_mapper>()))

namespace {
template <std::size_t Budget>
using auto_layout = vmh::fixed_layout<vmh::presets::geometric<vmh::presets::auto_params(Budget)>()>;
using auto64 = auto_layout<64u << 10>;
using auto256 = auto_layout<256u << 10>;
using auto1m = auto_layout<1u << 20>;
}  // namespace

extern "C" {
VMH_FIGURE(vmh_figure_size_t, sizeof(std::size_t))
VMH_LAYOUT_FIGURES(vmh_figure_sof, sof)
VMH_LAYOUT_FIGURES(vmh_figure_auto64, auto64)
VMH_LAYOUT_FIGURES(vmh_figure_auto256, auto256)
VMH_LAYOUT_FIGURES(vmh_figure_auto, auto1m)
}
