/* store/store_sqlite.c: being written. */
