# SPDX-License-Identifier: Apache-2.0
# Finds trawl's dependencies. libarchive, yaml-cpp and sqlite3 come through
# pkg-config (--static when linking statically): Debian's yaml-cpp CMake config
# names the shared library only. A prefix built by dist/deps/ensure-deps.sh
# (TRAWL_DEPS_PREFIX) is searched first; in the win64 cross build it is the
# whole sysroot and the toolchain file pins pkg-config to it.

# Sanitizer runtimes and libFuzzer need dynamic linking, so TRAWL_STATIC is
# ignored there. A mingw .exe is always static: nothing would ship the
# libstdc++/libgcc/winpthread DLLs next to it.
set(TRAWL_LINK_STATIC OFF)
if(TRAWL_STATIC AND (TRAWL_SANITIZE OR TRAWL_FUZZ))
  message(WARNING "TRAWL_STATIC is ignored with TRAWL_SANITIZE/TRAWL_FUZZ (sanitizers link dynamically)")
elseif(TRAWL_STATIC OR MINGW)
  set(TRAWL_LINK_STATIC ON)
endif()

if(TRAWL_DEPS_PREFIX)
  if(NOT EXISTS "${TRAWL_DEPS_PREFIX}/.stamp")
    message(FATAL_ERROR "TRAWL_DEPS_PREFIX=${TRAWL_DEPS_PREFIX} is not a prefix built by "
                        "dist/deps/ensure-deps.sh (no .stamp file)")
  endif()
  if(NOT CMAKE_CROSSCOMPILING)
    set(ENV{PKG_CONFIG_PATH} "${TRAWL_DEPS_PREFIX}/lib/pkgconfig:$ENV{PKG_CONFIG_PATH}")
  endif()
  list(PREPEND CMAKE_PREFIX_PATH "${TRAWL_DEPS_PREFIX}")
  if(CMAKE_CROSSCOMPILING)
    set(OPENSSL_ROOT_DIR "${TRAWL_DEPS_PREFIX}")
  endif()
endif()
if(TRAWL_LINK_STATIC)
  set(CMAKE_FIND_LIBRARY_SUFFIXES .a)
  set(OPENSSL_USE_STATIC_LIBS TRUE)
endif()

find_package(PkgConfig REQUIRED)
pkg_check_modules(ARCHIVE REQUIRED IMPORTED_TARGET libarchive)
pkg_check_modules(YAMLCPP REQUIRED IMPORTED_TARGET yaml-cpp)
pkg_check_modules(SQLITE REQUIRED IMPORTED_TARGET sqlite3)
# libcurl (with libssh2 for SFTP) for the collector's uploads: Debian's
# libcurl4-openssl-dev in development builds, the minimal static one built by
# dist/deps in release builds.
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
find_package(OpenSSL 3 REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(fmt REQUIRED)
find_package(Threads REQUIRED)

if(TRAWL_LINK_STATIC AND "xml2" IN_LIST ARCHIVE_STATIC_LIBRARIES)
  message(FATAL_ERROR "This libarchive (${ARCHIVE_LIBDIR}) links libxml2 and ICU (+31 MB). For a static "
                      "build use the minimal one: export TRAWL_LINUX_DEPS=$(dist/deps/ensure-deps.sh linux) "
                      "and configure with -DTRAWL_DEPS_PREFIX=$TRAWL_LINUX_DEPS (the release preset does).")
endif()
if(MINGW)
  # libcrypto (and libarchive's CNG code) call into these; attaching them to
  # OpenSSL::Crypto puts them after libcrypto.a on the link line.
  set_property(TARGET OpenSSL::Crypto APPEND PROPERTY
    INTERFACE_LINK_LIBRARIES ws2_32 crypt32 bcrypt advapi32 user32)
endif()

# pkg-config --static gives "-L<dir> -lname" lists, and GNU ld applies every -L
# to every -l: Debian's -L/usr/lib/x86_64-linux-gnu (from yaml-cpp) can then
# make -larchive pick Debian's libarchive.a instead of ours (build-notes). So
# each -l found in its own module's library dirs becomes an absolute .a path;
# the rest (zlib, libc, Windows import libs) stay -l and use the default
# search path, and the -L flags are dropped.
function(trawl_static_link_items prefix out_var)
  set(items "")
  foreach(flag IN LISTS ${prefix}_STATIC_LDFLAGS)
    if(flag MATCHES "^-L")
      continue()
    elseif(flag MATCHES "^-l(.+)$")
      set(name "${CMAKE_MATCH_1}")
      unset(trawl_lib)
      if(${prefix}_STATIC_LIBRARY_DIRS)
        find_library(trawl_lib NAMES "lib${name}.a" PATHS ${${prefix}_STATIC_LIBRARY_DIRS}
                     NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH NO_CACHE)
      endif()
      if(trawl_lib)
        list(APPEND items "${trawl_lib}")
      else()
        list(APPEND items "${flag}")
      endif()
    else()
      list(APPEND items "${flag}")
    endif()
  endforeach()
  set(${out_var} "${items}" PARENT_SCOPE)
endfunction()

# One interface target per dependency so the static variant can swap in the
# full --static link line.
function(trawl_pkg_target name prefix)
  add_library(${name} INTERFACE)
  if(TRAWL_LINK_STATIC)
    trawl_static_link_items(${prefix} link_items)
    target_include_directories(${name} INTERFACE ${${prefix}_STATIC_INCLUDE_DIRS})
    target_compile_options(${name} INTERFACE ${${prefix}_STATIC_CFLAGS_OTHER})
    target_link_libraries(${name} INTERFACE ${link_items})
  else()
    target_link_libraries(${name} INTERFACE PkgConfig::${prefix})
  endif()
endfunction()
# Boost: header-only parts only (PropertyTree's XML reader, for scheduled
# task XML), from Debian's libboost-dev on the build machine for every
# target, the mingw cross build included. The compiler sees a directory that
# holds nothing but boost/, never all of /usr/include (which would shadow the
# dependency prefix's headers).
find_path(TRAWL_BOOST_INCLUDE boost/property_tree/xml_parser.hpp PATHS /usr/include
          NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH)
if(NOT TRAWL_BOOST_INCLUDE)
  message(FATAL_ERROR "Boost headers not found (boost/property_tree): apt-get install libboost-dev "
                      "(dist/install-deps.sh installs it)")
endif()
set(TRAWL_BOOST_ONLY "${CMAKE_BINARY_DIR}/boost-include")
file(MAKE_DIRECTORY "${TRAWL_BOOST_ONLY}")
file(CREATE_LINK "${TRAWL_BOOST_INCLUDE}/boost" "${TRAWL_BOOST_ONLY}/boost" SYMBOLIC)
add_library(trawl_dep_boost INTERFACE)
target_include_directories(trawl_dep_boost SYSTEM INTERFACE "${TRAWL_BOOST_ONLY}")

trawl_pkg_target(trawl_dep_archive ARCHIVE)
trawl_pkg_target(trawl_dep_yaml YAMLCPP)
trawl_pkg_target(trawl_dep_sqlite SQLITE)
trawl_pkg_target(trawl_dep_curl CURL)
if(TRAWL_LINK_STATIC)
  # The static libcurl.pc names -lssl -lcrypto in Libs and Libs.private, and
  # CMake's de-duplication can leave -lcrypto before -lssl: end the list with
  # OpenSSL in the right order.
  target_link_libraries(trawl_dep_curl INTERFACE OpenSSL::SSL OpenSSL::Crypto)
endif()
