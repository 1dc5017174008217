// vmh: a virtual-memory bucket heap. The umbrella header.
#pragma once

#include "detail/standard.hpp"
#ifdef VMH_DETAIL_CXX20  // else the one error above, and nothing more
#include "version.hpp"
#include "window.hpp"
#include "heap.hpp"
#include "layout.hpp"
#include "lock.hpp"
#include "mapper.hpp"
#include "presets.hpp"
#include "range_policy.hpp"
#include "status.hpp"
#endif
