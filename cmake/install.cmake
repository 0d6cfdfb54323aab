# find_package(kafkacore): the umbrella target kafkacore::kafkacore, its install rules and the
# package config. Included by the top-level CMakeLists.txt after the libraries exist.
#
# Installed layout (PREFIX = CMAKE_INSTALL_PREFIX):
#   include/kafkacore/*.h                 the public headers (cpp/include/kafkacore) + version.h
#   include/kafkacore/internal/<module>/  every header of cpp/src and the generated protocol
#                                         messages: the public headers include them as
#                                         "broker/broker.h", so this directory is an include dir
#   lib/libkafkacore_*.a                  the static libraries
#   lib/cmake/kafkacore/                  kafkacoreConfig.cmake, its version file and targets
#
# Everything goes into the install component "kafkacore-dev". Under scikit-build-core (SKBUILD)
# that component is EXCLUDE_FROM_ALL, so wheels hold only the Python package, and a tree such as
# build/py installs it explicitly:
#   cmake --install build/py --component kafkacore-dev --prefix PREFIX
# A plain CMake tree installs it with everything else: cmake --install build/x --prefix PREFIX.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Include directories are spelled out: cpp/src/common and cpp/src/protocol name
# include/kafkacore/internal in their INSTALL_INTERFACE before this file runs.
set(KAFKACORE_INTERNAL_INCLUDEDIR include/kafkacore/internal)
set(_kc_generated "${PROJECT_BINARY_DIR}/generated/include")
configure_file("${CMAKE_CURRENT_LIST_DIR}/version.h.in" "${_kc_generated}/kafkacore/version.h"
               @ONLY)

# Every library target of cpp/src/* (so a library added there is exported without a change
# here), plus the interface target they all link privately.
set(_kc_libraries kafkacore_warnings)
get_property(_kc_dirs DIRECTORY "${PROJECT_SOURCE_DIR}/cpp" PROPERTY SUBDIRECTORIES)
foreach(_kc_dir IN LISTS _kc_dirs)
  get_property(_kc_targets DIRECTORY "${_kc_dir}" PROPERTY BUILDSYSTEM_TARGETS)
  foreach(_kc_target IN LISTS _kc_targets)
    get_target_property(_kc_type ${_kc_target} TYPE)
    if(_kc_type MATCHES "^(STATIC|SHARED|INTERFACE)_LIBRARY$")
      list(APPEND _kc_libraries ${_kc_target})
    endif()
  endforeach()
endforeach()

add_library(kafkacore INTERFACE)
add_library(kafkacore::kafkacore ALIAS kafkacore)
target_link_libraries(kafkacore INTERFACE kafkacore_broker kafkacore_client kafkacore_streams)
target_compile_features(kafkacore INTERFACE cxx_std_23)
target_include_directories(kafkacore INTERFACE
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/cpp/include>
  $<BUILD_INTERFACE:${_kc_generated}>
  $<INSTALL_INTERFACE:include>)

set(_kc_component COMPONENT kafkacore-dev)
if(SKBUILD)
  list(APPEND _kc_component EXCLUDE_FROM_ALL)
endif()

install(TARGETS kafkacore ${_kc_libraries}
  EXPORT kafkacoreTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} ${_kc_component}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} ${_kc_component})
install(DIRECTORY "${PROJECT_SOURCE_DIR}/cpp/include/kafkacore" "${_kc_generated}/kafkacore"
  DESTINATION include ${_kc_component})
install(DIRECTORY "${PROJECT_SOURCE_DIR}/cpp/src/"
  DESTINATION ${KAFKACORE_INTERNAL_INCLUDEDIR} ${_kc_component}
  FILES_MATCHING PATTERN "*.h"
  PATTERN "gen" EXCLUDE          # the protocol generator (Python) and
  PATTERN "messages" EXCLUDE)    # its inputs; the generated headers follow
get_target_property(_kc_protocol_dir kafkacore_protocol BINARY_DIR)
install(DIRECTORY "${_kc_protocol_dir}/generated/protocol"
  DESTINATION ${KAFKACORE_INTERNAL_INCLUDEDIR} ${_kc_component}
  FILES_MATCHING PATTERN "*.h")

set(_kc_cmakedir "${CMAKE_INSTALL_LIBDIR}/cmake/kafkacore")
install(EXPORT kafkacoreTargets NAMESPACE kafkacore:: DESTINATION ${_kc_cmakedir}
  ${_kc_component})
configure_package_config_file("${CMAKE_CURRENT_LIST_DIR}/kafkacoreConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/kafkacoreConfig.cmake" INSTALL_DESTINATION ${_kc_cmakedir})
# 0.x: a newer minor version may break the API, so only the same minor version is compatible.
write_basic_package_version_file("${PROJECT_BINARY_DIR}/kafkacoreConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/kafkacoreConfig.cmake"
              "${PROJECT_BINARY_DIR}/kafkacoreConfigVersion.cmake"
  DESTINATION ${_kc_cmakedir} ${_kc_component})
