# libjpeg-turbo (its TurboJPEG and libjpeg APIs) and libspng, as the target kiln_image_libs.
# Through pkg-config where there is one (Debian: the bootstrap installs it); otherwise by
# header and library name under CMAKE_PREFIX_PATH, because the lent GPU machines have no
# pkg-config and get these libraries unpacked from .devdeps (bench/gpu_pack.sh).
add_library(kiln_image_libs INTERFACE)
find_package(PkgConfig)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(TURBOJPEG REQUIRED IMPORTED_TARGET libturbojpeg)
  pkg_check_modules(JPEG REQUIRED IMPORTED_TARGET libjpeg)
  pkg_check_modules(SPNG REQUIRED IMPORTED_TARGET spng)
  target_link_libraries(kiln_image_libs INTERFACE PkgConfig::TURBOJPEG PkgConfig::JPEG PkgConfig::SPNG)
else()
  message(STATUS "kiln: no pkg-config; finding libturbojpeg, libjpeg and libspng by name")
  find_path(KILN_TURBOJPEG_INCLUDE turbojpeg.h REQUIRED)
  find_path(KILN_JPEGLIB_INCLUDE jpeglib.h REQUIRED)
  find_path(KILN_SPNG_INCLUDE spng.h REQUIRED)
  find_library(KILN_TURBOJPEG_LIB turbojpeg REQUIRED)
  find_library(KILN_JPEG_LIB jpeg REQUIRED)
  find_library(KILN_SPNG_LIB spng REQUIRED)
  target_include_directories(kiln_image_libs INTERFACE ${KILN_TURBOJPEG_INCLUDE} ${KILN_JPEGLIB_INCLUDE}
                                                       ${KILN_SPNG_INCLUDE})
  target_link_libraries(kiln_image_libs INTERFACE ${KILN_TURBOJPEG_LIB} ${KILN_JPEG_LIB} ${KILN_SPNG_LIB})
endif()
