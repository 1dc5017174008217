// The version of vmh: VMH_VERSION is major * 10000 + minor * 100 + patch (0.2.0 is 200), as the
// CMake package's version (find_package(vmh 0.2)); CHANGELOG.md says what each version changed.
#pragma once

/// The major version: a change of it may break code that uses vmh.
#define VMH_VERSION_MAJOR 0
/// The minor version. While the major version is 0, a minor version may change the API too
/// (CHANGELOG.md lists every such change).
#define VMH_VERSION_MINOR 2
/// The patch version: fixes only.
#define VMH_VERSION_PATCH 0
/// The whole version as one number: major * 10000 + minor * 100 + patch.
#define VMH_VERSION (VMH_VERSION_MAJOR * 10000 + VMH_VERSION_MINOR * 100 + VMH_VERSION_PATCH)
