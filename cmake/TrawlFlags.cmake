# SPDX-License-Identifier: Apache-2.0
# Warning, sanitizer and static-link flags shared by every target.
add_library(trawl_flags INTERFACE)
target_compile_options(trawl_flags INTERFACE
  -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Wno-sign-conversion)
if(TRAWL_WERROR)
  target_compile_options(trawl_flags INTERFACE -Werror)
endif()
if(TRAWL_SANITIZE)
  target_compile_options(trawl_flags INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(trawl_flags INTERFACE -fsanitize=address,undefined)
endif()
# TRAWL_LINK_STATIC comes from TrawlDeps.cmake: TRAWL_STATIC unless a
# sanitizer or fuzz build, and always for mingw.
if(TRAWL_LINK_STATIC)
  target_link_options(trawl_flags INTERFACE -static)
endif()
# Release binaries are carried to hosts on USB sticks and pushed through EDR
# consoles: let the linker drop unreferenced functions and data (ours; the
# dependencies in the sysroot are built as they are).
if(TRAWL_STATIC)
  target_compile_options(trawl_flags INTERFACE -ffunction-sections -fdata-sections)
  target_link_options(trawl_flags INTERFACE -Wl,--gc-sections)
endif()
if(WIN32)
  target_compile_definitions(trawl_flags INTERFACE UNICODE _UNICODE WIN32_LEAN_AND_MEAN NOMINMAX)
endif()
