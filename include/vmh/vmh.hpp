// vmh: a virtual-memory bucket heap. The umbrella header.
#pragma once

#include "backing.hpp"
#include "heap.hpp"
#include "layout.hpp"
#include "lock.hpp"
#include "mapper.hpp"
#include "presets.hpp"
#include "range_policy.hpp"
#include "status.hpp"
