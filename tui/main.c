/*
 * tui/main.c: gwadmin.  Everything is in cli.c (and the menu's files).
 */
#include "tui/cli.h"

int
main(int argc, char **argv)
{
	return gwadmin_main(argc, argv);
}
