# The collector runs no code of another role (issue 26, defect 15): a plain
# role that may create in public plants operators and functions shadowing
# what the collector's queries use, whose code makes it a superuser when a
# superuser runs it. After `qprof collect --once` as a superuser the role is
# still plain and none of the shadows ran: every connection of the collector
# sets search_path = pg_catalog, pg_temp and every query qualifies what it
# uses.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use PostgreSQL::Test::Utils;
use Test::More;
use QprofCollectorTest;

my $node = new_qprof_node('search_path',
    "pg_qprof.analyze_sample_rate = 1\n");
$node->safe_psql('postgres', q{
    CREATE ROLE plain LOGIN;
    GRANT CREATE ON SCHEMA public TO plain;
});

# The shadows, created by plain: each records its call and, called by a
# superuser, makes plain a superuser.
$node->safe_psql('postgres', q{
    SET ROLE plain;
    CREATE TABLE public.shadow_calls (shadow text, caller name);
    GRANT INSERT ON public.shadow_calls TO PUBLIC;
    CREATE FUNCTION public.shadow(shadow text) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO public.shadow_calls VALUES (shadow, current_user);
        IF (SELECT rolsuper FROM pg_catalog.pg_roles
            WHERE rolname = current_user) THEN
            EXECUTE 'ALTER ROLE plain SUPERUSER';
        END IF;
    END $$;
    -- name NOT LIKE 'x%': the unknown literal makes (name, name) an exact
    -- match, which pg_catalog does not have
    CREATE FUNCTION public.not_like(name, name) RETURNS boolean
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM public.shadow('!~~');
        RETURN $1::text NOT LIKE $2::text;
    END $$;
    CREATE OPERATOR public.!~~ (LEFTARG = name, RIGHTARG = name,
        FUNCTION = public.not_like);
    CREATE FUNCTION public.like_(name, name) RETURNS boolean
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM public.shadow('~~');
        RETURN $1::text LIKE $2::text;
    END $$;
    CREATE OPERATOR public.~~ (LEFTARG = name, RIGHTARG = name,
        FUNCTION = public.like_);
    -- unnest(bigint[]) is an exact match where pg_catalog has anyarray
    CREATE FUNCTION public.unnest(bigint[]) RETURNS SETOF bigint
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM public.shadow('unnest');
        RETURN QUERY SELECT pg_catalog.unnest($1::anyarray);
    END $$;
});

# The shadows work: a query as the old collector wrote it, run by plain
# itself on the default search_path, calls one.
$node->safe_psql('postgres', q{
    SET ROLE plain;
    SELECT count(*) FROM pg_catalog.pg_namespace n
    WHERE n.nspname NOT LIKE 'pg\_toast%';
});
ok($node->safe_psql('postgres', 'SELECT count(*) FROM public.shadow_calls') > 0,
    'the planted operator shadows an unqualified NOT LIKE');
$node->safe_psql('postgres', 'TRUNCATE public.shadow_calls');

# Some statements with plans and node actuals, so that the collector looks
# up texts, plans and actuals too.
$node->safe_psql('postgres', q{
    CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g;
    SELECT count(*) FROM t WHERE id < 10;
    SELECT count(*) FROM t WHERE id > 990;
});

my $dir = PostgreSQL::Test::Utils::tempdir . '/capture';
my ($rc, $out, $err) = run_qprof('collect', '--dsn', $node->connstr('postgres'),
    '--out', $dir, '--once', '--bpf', 'off');
is($rc, 0, 'qprof collect --once as a superuser') or diag $err;
my ($check_rc, $check_out, $samples) = check_capture($dir);
is($check_rc, 0, 'the capture reads');
ok($samples > 0, "$samples samples");
is($node->safe_psql('postgres',
        "SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = 'plain'"),
    'f', 'plain is still not a superuser');
is($node->safe_psql('postgres',
        "SELECT coalesce(string_agg(DISTINCT shadow || ' by ' || caller, ', '), '')"
          . ' FROM public.shadow_calls'),
    '', 'no shadow ran');

$node->stop;
done_testing();
