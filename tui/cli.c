/* tui/cli.c: being written. */
