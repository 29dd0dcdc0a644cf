# SPDX-License-Identifier: Apache-2.0
# Cross toolchain for 64-bit Windows with Debian's mingw-w64 (posix threads
# variant, needed for std::thread/std::mutex). The dependency sysroot made by
# dist/deps/ensure-deps.sh win64 comes from -DTRAWL_DEPS_PREFIX or the
# TRAWL_WIN64_SYSROOT environment variable. pkg-config only ever sees the
# sysroot's .pc files, never the host's.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(_trawl_tc x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${_trawl_tc}-gcc-posix)
set(CMAKE_CXX_COMPILER ${_trawl_tc}-g++-posix)
set(CMAKE_RC_COMPILER ${_trawl_tc}-windres)
set(CMAKE_AR ${_trawl_tc}-ar CACHE FILEPATH "")
set(CMAKE_RANLIB ${_trawl_tc}-ranlib CACHE FILEPATH "")
set(CMAKE_STRIP ${_trawl_tc}-strip CACHE FILEPATH "")

if(NOT TRAWL_DEPS_PREFIX AND DEFINED ENV{TRAWL_WIN64_SYSROOT})
  set(TRAWL_DEPS_PREFIX "$ENV{TRAWL_WIN64_SYSROOT}")
endif()
# try_compile projects re-read this file; hand the prefix down to them.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES TRAWL_DEPS_PREFIX)

set(CMAKE_FIND_ROOT_PATH /usr/${_trawl_tc})
if(TRAWL_DEPS_PREFIX)
  list(PREPEND CMAKE_FIND_ROOT_PATH "${TRAWL_DEPS_PREFIX}")
  set(ENV{PKG_CONFIG_LIBDIR} "${TRAWL_DEPS_PREFIX}/lib/pkgconfig")
else()
  # No sysroot yet (building the sysroot itself): no .pc files at all.
  set(ENV{PKG_CONFIG_LIBDIR} "/nonexistent")
endif()
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Lets try_run() and ctest run Windows binaries. Without an emulator CMake
# 3.25.1 segfaults in check_c_source_runs() (build-notes, libarchive step 1).
find_program(TRAWL_WINE wine)
if(TRAWL_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${TRAWL_WINE})
endif()
