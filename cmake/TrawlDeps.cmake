# SPDX-License-Identifier: Apache-2.0
# Finds trawl's dependencies. libarchive, yaml-cpp and sqlite3 come through
# pkg-config (--static when linking statically): Debian's yaml-cpp CMake config
# names the shared library only. A prefix built by dist/ is searched first.
if(TRAWL_DEPS_PREFIX)
  set(ENV{PKG_CONFIG_PATH} "${TRAWL_DEPS_PREFIX}/lib/pkgconfig:$ENV{PKG_CONFIG_PATH}")
  list(PREPEND CMAKE_PREFIX_PATH "${TRAWL_DEPS_PREFIX}")
endif()
if(TRAWL_STATIC)
  set(CMAKE_FIND_LIBRARY_SUFFIXES .a)
  set(OPENSSL_USE_STATIC_LIBS TRUE)
endif()

find_package(PkgConfig REQUIRED)
pkg_check_modules(ARCHIVE REQUIRED IMPORTED_TARGET libarchive)
pkg_check_modules(YAMLCPP REQUIRED IMPORTED_TARGET yaml-cpp)
pkg_check_modules(SQLITE REQUIRED IMPORTED_TARGET sqlite3)
find_package(OpenSSL 3 REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(fmt REQUIRED)
find_package(Threads REQUIRED)

# One interface target per dependency so the static variant can swap in the
# full --static link line.
function(trawl_pkg_target name prefix)
  add_library(${name} INTERFACE)
  if(TRAWL_STATIC)
    target_include_directories(${name} INTERFACE ${${prefix}_STATIC_INCLUDE_DIRS})
    target_compile_options(${name} INTERFACE ${${prefix}_STATIC_CFLAGS_OTHER})
    target_link_libraries(${name} INTERFACE ${${prefix}_STATIC_LDFLAGS})
  else()
    target_link_libraries(${name} INTERFACE PkgConfig::${prefix})
  endif()
endfunction()
trawl_pkg_target(trawl_dep_archive ARCHIVE)
trawl_pkg_target(trawl_dep_yaml YAMLCPP)
trawl_pkg_target(trawl_dep_sqlite SQLITE)
