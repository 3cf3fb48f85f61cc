# Read by CMake after its platform files (CMAKE_USER_MAKE_RULES_OVERRIDE,
# set in wasm-common.cmake): wasm programs are <name>.wasm modules.
set(CMAKE_EXECUTABLE_SUFFIX ".wasm")
