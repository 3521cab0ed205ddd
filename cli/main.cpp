// gradtrace: the command-line entry point (cli/dispatch.cpp does the work).
#include "cli/cli.h"

int main(int argc, char** argv) { return gt::cli::main(argc, argv); }
