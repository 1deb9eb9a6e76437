/* core/profile_json.c: being written. */
