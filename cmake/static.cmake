# PXED_STATIC: one fully static pxed, the binary the RPM ships for CentOS 7.
# A static glibc carries no symbol versions, so a binary linked on a newer
# distribution still runs on glibc 2.17; it needs the kernel the glibc was
# configured for (`file` shows "for GNU/Linux 3.2.0"), older than CentOS 7's
# 3.10. Everything is taken from its .a: libstdc++, libgcc, glibc, yaml-cpp
# and sqlite3; spdlog and fmt are used header-only, as Debian ships no
# static libspdlog or libfmt.
#
# Included from the top CMakeLists instead of find_package(yaml-cpp) and
# find_package(spdlog); it defines the same target names they do, so no
# module's CMakeLists changes.

#
# Static-PIE (gcc >= 8, glibc's rcrt1.o): the kernel loads the binary at a
# random address like any PIE (ELF type DYN, no interpreter) and glibc's
# start-up code relocates it before main; a classic -static binary sits at
# a fixed address, which gives an attacker every gadget's address for free.
# Every object must be position-independent: pxed's own (-fPIE/-fPIC
# below), and the .a files taken from Debian, built as PIE by its default
# flags. The kernel side is the same as for ld.so run directly, which 3.10
# loads; packaging.portable_binary runs it on a 3.10 system call table.

set(CMAKE_FIND_LIBRARY_SUFFIXES .a)  # also steers find_package(SQLite3) to libsqlite3.a
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
string(APPEND CMAKE_EXE_LINKER_FLAGS " -static-pie")

find_library(PXED_YAML_CPP_STATIC NAMES yaml-cpp)
find_path(PXED_YAML_CPP_INCLUDE yaml-cpp/yaml.h)
if(NOT PXED_YAML_CPP_STATIC OR NOT PXED_YAML_CPP_INCLUDE)
  message(FATAL_ERROR "PXED_STATIC needs the static yaml-cpp (libyaml-cpp.a, Debian: libyaml-cpp-dev)")
endif()
add_library(yaml-cpp STATIC IMPORTED)
set_target_properties(yaml-cpp PROPERTIES
  IMPORTED_LOCATION "${PXED_YAML_CPP_STATIC}"
  INTERFACE_INCLUDE_DIRECTORIES "${PXED_YAML_CPP_INCLUDE}")

find_path(PXED_SPDLOG_INCLUDE spdlog/spdlog.h)
if(NOT PXED_SPDLOG_INCLUDE)
  message(FATAL_ERROR "PXED_STATIC needs the spdlog headers (Debian: libspdlog-dev)")
endif()
add_library(spdlog::spdlog INTERFACE IMPORTED)
set_property(TARGET spdlog::spdlog PROPERTY INTERFACE_INCLUDE_DIRECTORIES "${PXED_SPDLOG_INCLUDE}")
set_property(TARGET spdlog::spdlog PROPERTY INTERFACE_LINK_LIBRARIES Threads::Threads)
if(NOT EXISTS "${PXED_SPDLOG_INCLUDE}/spdlog/fmt/bundled/format.h")
  # Debian unbundles fmt: use the system fmt, header-only as well.
  find_path(PXED_FMT_INCLUDE fmt/format-inl.h)
  if(NOT PXED_FMT_INCLUDE)
    message(FATAL_ERROR "PXED_STATIC needs the fmt headers (Debian: libfmt-dev)")
  endif()
  set_property(TARGET spdlog::spdlog APPEND PROPERTY INTERFACE_INCLUDE_DIRECTORIES "${PXED_FMT_INCLUDE}")
  set_property(TARGET spdlog::spdlog PROPERTY INTERFACE_COMPILE_DEFINITIONS SPDLOG_FMT_EXTERNAL FMT_HEADER_ONLY)
endif()
