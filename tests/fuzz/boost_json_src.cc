// Boost.JSON compiled into the fuzz target, so the library is instrumented too and no
// g++-built shared library is mixed into the clang build.
#include <boost/json/src.hpp>
