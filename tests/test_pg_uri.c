/*
 * tests/test_pg_uri.c: the PostgreSQL backend's URI rules
 * (store/pg_int.h's pg_uri_check() and pg_uri_shown()), pure functions:
 * no server is needed, nothing connects.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "store/pg_int.h"

/* The environment libpq would read must not decide these tests. */
static void
clean_env(void)
{
	unsetenv("PGHOST");
	unsetenv("PGHOSTADDR");
	unsetenv("PGSSLMODE");
	unsetenv("PGSERVICE");
}

TestSuite(pg_uri, .init = clean_env);

/* pg_uri_check()'s status; the cause, if any, must not hold the password. */
static int
check(const char *uri)
{
	char	*cause = NULL;
	int	 rc;

	rc = pg_uri_check(uri, &cause);
	if (rc == STORE_OK)
		cr_assert_null(cause, "%s: a cause on success", uri);
	else {
		cr_assert_not_null(cause, "%s: refused without a cause", uri);
		cr_assert_null(strstr(cause, "s3cret"), "%s: %s", uri, cause);
	}
	free(cause);
	return rc;
}

Test(pg_uri, a_unix_socket_or_loopback_needs_no_tls)
{
	cr_assert_eq(check("postgresql:///gw"), STORE_OK);
	cr_assert_eq(check("postgresql:///gw?host=/run/postgresql"), STORE_OK);
	cr_assert_eq(check("postgresql://u:s3cret@%2Frun%2Fpostgresql/gw"),
	    STORE_OK);
	cr_assert_eq(check("postgres://u:s3cret@localhost/gw"), STORE_OK);
	cr_assert_eq(check("postgresql://u:s3cret@LOCALHOST:5433/gw"),
	    STORE_OK);
	cr_assert_eq(check("postgresql://u:s3cret@127.0.0.1/gw?sslmode="
	    "disable"), STORE_OK);
	cr_assert_eq(check("postgresql://u:s3cret@127.1.2.3/gw"), STORE_OK);
	cr_assert_eq(check("postgresql://u:s3cret@[::1]:5432/gw"), STORE_OK);
	cr_assert_eq(check("postgresql://u:s3cret@[::ffff:127.0.0.1]/gw"),
	    STORE_OK);
	/* hostaddr is where TCP goes: the name is only its name. */
	cr_assert_eq(check("postgresql://u:s3cret@db.example.com/gw?"
	    "hostaddr=127.0.0.1"), STORE_OK);
}

Test(pg_uri, a_remote_host_without_tls_is_refused)
{
	cr_assert_eq(check("postgresql://u:s3cret@db.example.com/gw"),
	    STORE_PERM);
	cr_assert_eq(check("postgresql://u:s3cret@db.example.com/gw?"
	    "sslmode=prefer"), STORE_PERM);
	cr_assert_eq(check("postgresql://u:s3cret@db.example.com/gw?"
	    "sslmode=allow"), STORE_PERM);
	cr_assert_eq(check("postgresql://u:s3cret@db.example.com/gw?"
	    "sslmode=disable"), STORE_PERM);
	cr_assert_eq(check("postgresql://u@10.0.0.5/gw?password=s3cret"),
	    STORE_PERM);
	cr_assert_eq(check("postgresql://u:s3cret@128.0.0.1/gw"), STORE_PERM);
	cr_assert_eq(check("postgresql://u:s3cret@[2001:db8::1]/gw"),
	    STORE_PERM);
	cr_assert_eq(check("postgresql://u:s3cret@localhost.example.com/gw"),
	    STORE_PERM);
	/* A name that looks local but TCP goes elsewhere. */
	cr_assert_eq(check("postgresql://u:s3cret@localhost/gw?hostaddr="
	    "192.0.2.1"), STORE_PERM);
	/* Any host of a list. */
	cr_assert_eq(check("postgresql://u:s3cret@localhost,db.example.com/"
	    "gw"), STORE_PERM);
}

Test(pg_uri, tls_required_makes_a_remote_host_fine)
{
	cr_assert_eq(check("postgresql://u:s3cret@db.example.com/gw?sslmode="
	    "require"), STORE_OK);
	cr_assert_eq(check("postgresql://u:s3cret@db.example.com/gw?sslmode="
	    "verify-ca"), STORE_OK);
	cr_assert_eq(check("postgresql://u:s3cret@db.example.com,db2.example."
	    "com/gw?sslmode=verify-full"), STORE_OK);
}

Test(pg_uri, the_environment_counts_where_the_uri_is_silent)
{
	setenv("PGHOST", "db.example.com", 1);
	cr_assert_eq(check("postgresql:///gw"), STORE_PERM);
	cr_assert_eq(check("postgresql:///gw?host=/run/postgresql"), STORE_OK);
	setenv("PGSSLMODE", "require", 1);
	cr_assert_eq(check("postgresql:///gw"), STORE_OK);
	cr_assert_eq(check("postgresql:///gw?sslmode=disable"), STORE_PERM);
	unsetenv("PGHOST");
	unsetenv("PGSSLMODE");
	setenv("PGHOSTADDR", "192.0.2.1", 1);
	cr_assert_eq(check("postgresql://localhost/gw"), STORE_PERM);
	unsetenv("PGHOSTADDR");
	/* A service file may point anywhere: only TLS is safe then. */
	cr_assert_eq(check("postgresql:///gw?service=gw"), STORE_PERM);
	setenv("PGSERVICE", "gw", 1);
	cr_assert_eq(check("postgresql:///gw"), STORE_PERM);
	cr_assert_eq(check("postgresql:///gw?sslmode=verify-full"), STORE_OK);
}

Test(pg_uri, a_uri_libpq_cannot_read_is_a_configuration_error)
{
	cr_assert_eq(check("postgresql://u:s3%zzcret@localhost/gw"),
	    STORE_BADFILE);
	cr_assert_eq(check("postgresql://u:s3cret@localhost/gw?nosuch=1"),
	    STORE_BADFILE);
	cr_assert_eq(check("postgresql://u:s3cret@db.example.com/gw?sslmode="
	    "maybe"), STORE_BADFILE);
}

static void
shown_is(const char *uri, const char *want)
{
	char	*got = pg_uri_shown(uri);

	cr_assert_str_eq(got, want);
	free(got);
}

Test(pg_uri, messages_name_the_uri_without_its_password)
{
	shown_is("postgresql:///gw?host=/tmp/x&user=postgres",
	    "postgresql:///gw?host=/tmp/x&user=postgres");
	shown_is("postgresql://u:s3cret@db.example.com:5432/gw?sslmode="
	    "require", "postgresql://u@db.example.com:5432/gw?sslmode=require");
	shown_is("postgres://u:s3cret@localhost", "postgres://u@localhost");
	shown_is("postgresql://:s3cret@localhost/gw", "postgresql://@localhost/"
	    "gw");
	shown_is("postgresql://u@localhost/gw?password=s3cret&sslmode=require",
	    "postgresql://u@localhost/gw?sslmode=require");
	shown_is("postgresql://u@localhost/gw?sslmode=require&password=s3cret",
	    "postgresql://u@localhost/gw?sslmode=require");
	shown_is("postgresql://localhost/gw?pass%77ord=s3cret",
	    "postgresql://localhost/gw");
}
