/*
 * engine/main.c: gwengine.  Everything is in gwengine.c.
 */
#include "engine/gwengine.h"

int
main(int argc, char **argv)
{
	return gwengine_main(argc, argv);
}
