# CMake package of the socketio-rs C API:
#   find_package(socketio 0.1 REQUIRED CONFIG)
#   target_link_libraries(app PRIVATE socketio::socketio)         # shared
#   target_link_libraries(app PRIVATE socketio::socketio_static)  # static
# Relocatable: the prefix is found from this file's place,
# <prefix>/lib/cmake/socketio/.
include(CMakeFindDependencyMacro)
find_dependency(Threads)

get_filename_component(_socketio_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)

if(NOT TARGET socketio::socketio)
  add_library(socketio::socketio SHARED IMPORTED)
  set_target_properties(socketio::socketio PROPERTIES
    IMPORTED_LOCATION "${_socketio_prefix}/lib/libsocketio.so.1"
    IMPORTED_SONAME "libsocketio.so.1"
    INTERFACE_INCLUDE_DIRECTORIES "${_socketio_prefix}/include"
    INTERFACE_LINK_LIBRARIES "Threads::Threads")
endif()

if(NOT TARGET socketio::socketio_static)
  add_library(socketio::socketio_static STATIC IMPORTED)
  set_target_properties(socketio::socketio_static PROPERTIES
    IMPORTED_LOCATION "${_socketio_prefix}/lib/libsocketio.a"
    INTERFACE_INCLUDE_DIRECTORIES "${_socketio_prefix}/include"
    INTERFACE_LINK_LIBRARIES "Threads::Threads;${CMAKE_DL_LIBS};m;rt;util;gcc_s")
endif()

unset(_socketio_prefix)
