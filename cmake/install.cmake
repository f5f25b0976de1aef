# What `cmake --install` puts under the prefix (GNUInstallDirs layout):
#   bin/qcc, bin/qcc-opt
#   include/qcc/qrt*.h            the runtime's headers
#   lib/libqrt.a                  the runtime, for --runtime=external builds
#   lib/cmake/qcc/                find_package(qcc): targets qcc::qcc,
#                                 qcc::qcc-opt, qcc::qrt and qcc_add_model()
#   lib/pkgconfig/qrt.pc          the runtime for builds without CMake
# Nothing installed names the build tree or the prefix given at configure
# time: the CMake files find the prefix from their own location and qrt.pc
# from ${pcfiledir}, so an installed tree can be moved or staged
# (`cmake --install build --prefix DIR`).
include(CMakePackageConfigHelpers)

set(QCC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/qcc)

# The MLIR and LLVM shared libraries qcc links sit outside the loader's
# default path (/usr/lib/llvm-19/lib on Debian): keep that directory in the
# installed binaries' run path, as the build tree's binaries have it.
set_target_properties(qcc qcc-opt PROPERTIES INSTALL_RPATH_USE_LINK_PATH TRUE)

install(TARGETS qcc qcc-opt qrt EXPORT qccTargets
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
file(GLOB QRT_HEADERS ${CMAKE_SOURCE_DIR}/runtime/*.h)
install(FILES ${QRT_HEADERS} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/qcc)

install(EXPORT qccTargets NAMESPACE qcc:: DESTINATION ${QCC_CMAKE_DIR})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/qccConfig.cmake.in
  ${CMAKE_BINARY_DIR}/qccConfig.cmake INSTALL_DESTINATION ${QCC_CMAKE_DIR})
# Before 1.0 a minor version may change the generated C's API.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/qccConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/qccConfig.cmake ${CMAKE_BINARY_DIR}/qccConfigVersion.cmake
              ${CMAKE_SOURCE_DIR}/cmake/qcc_add_model.cmake
        DESTINATION ${QCC_CMAKE_DIR})

# qrt.pc's prefix is its own folder walked up to the prefix: the "../.."
# for lib/pkgconfig, computed so that another LIBDIR depth works too. An
# absolute LIBDIR or INCLUDEDIR is used as given.
file(RELATIVE_PATH QRT_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" QRT_PC_TO_PREFIX "${QRT_PC_TO_PREFIX}")
foreach(dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
    set(QRT_PC_${dir} "${CMAKE_INSTALL_${dir}}")
  else()
    set(QRT_PC_${dir} "\${prefix}/${CMAKE_INSTALL_${dir}}")
  endif()
endforeach()
configure_file(${CMAKE_SOURCE_DIR}/cmake/qrt.pc.in ${CMAKE_BINARY_DIR}/qrt.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/qrt.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
