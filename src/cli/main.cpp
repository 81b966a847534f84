// src/cli/main.cpp — the `csg` program: src/cli/app.h declares and runs every command.
#include "src/cli/app.h"

int main(int argc, char** argv) { return csg::cli::run_cli(argc, argv); }
