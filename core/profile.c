/* core/profile.c: being written. */
