# Finds Debian's cpp-httplib (a compiled library) and sets HTTPLIB_LINK_LIBRARIES and
# HTTPLIB_CFLAGS_OTHER. Its class layout depends on the feature macros its pkg-config file
# carries (OpenSSL, zlib, brotli), so those come from the .pc file, never guessed.
# Without pkg-config (the lent GPU machine, where the libraries travel in .devdeps/), the
# .pc file found on CMAKE_PREFIX_PATH is read directly.
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(HTTPLIB QUIET cpp-httplib)
endif()
if(NOT HTTPLIB_FOUND)
  find_file(KILN_HTTPLIB_PC cpp-httplib.pc
            PATH_SUFFIXES lib/${CMAKE_LIBRARY_ARCHITECTURE}/pkgconfig lib/x86_64-linux-gnu/pkgconfig lib/pkgconfig share/pkgconfig)
  find_library(KILN_HTTPLIB_LIBRARY cpp-httplib PATH_SUFFIXES lib/${CMAKE_LIBRARY_ARCHITECTURE} lib/x86_64-linux-gnu)
  if(NOT KILN_HTTPLIB_PC OR NOT KILN_HTTPLIB_LIBRARY)
    message(FATAL_ERROR "cpp-httplib not found (cpp-httplib.pc: ${KILN_HTTPLIB_PC}, library: ${KILN_HTTPLIB_LIBRARY}). "
                        "Run tools/bootstrap.sh (it installs libcpp-httplib-dev), or add its prefix to CMAKE_PREFIX_PATH.")
  endif()
  file(STRINGS "${KILN_HTTPLIB_PC}" _httplib_cflags REGEX "^Cflags:")
  string(REGEX MATCHALL "-D[A-Za-z0-9_]+(=[^ ]*)?" HTTPLIB_CFLAGS_OTHER "${_httplib_cflags}")
  set(HTTPLIB_LINK_LIBRARIES ${KILN_HTTPLIB_LIBRARY})
  message(STATUS "kiln: cpp-httplib from ${KILN_HTTPLIB_PC} without pkg-config: ${HTTPLIB_CFLAGS_OTHER}")
endif()
