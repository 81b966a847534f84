// tests/precompiled.h — the headers nearly every test file reads, parsed once per build into a
// precompiled header that each test file takes before its own lines (the Makefile's TEST_PCH):
// at -O0 parsing them was half of a test file's compile time. Compile time only: every test file
// still includes what it uses. No include guard: a header compiled on its own warns about one.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/testing.h"
