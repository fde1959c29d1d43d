-- Utility statements are stored as written, but their secrets are masked
-- first (issue 26, defect 11): a PASSWORD literal, the whole OPTIONS list
-- of a user mapping, a subscription's CONNECTION string, any string literal
-- that mentions a password (a DO block, a function body). A server's
-- options are not secret and stay. No secret reaches pg_qprof's texts.
CREATE ROLE qp_secret_role PASSWORD 'pw_role_create_x1';
ALTER ROLE qp_secret_role WITH ENCRYPTED PASSWORD 'pw_role_alter_x2'
    VALID UNTIL 'infinity';
ALTER USER qp_secret_role PASSWORD E'pw_user_alter_x3';
ALTER ROLE qp_secret_role PASSWORD NULL;
CREATE FOREIGN DATA WRAPPER qp_secret_fdw;
CREATE SERVER qp_secret_server FOREIGN DATA WRAPPER qp_secret_fdw
    OPTIONS (host 'db.example', dbname 'app');
CREATE USER MAPPING FOR qp_secret_role SERVER qp_secret_server
    OPTIONS (user 'remote', password 'pw_mapping_create_x4');
ALTER USER MAPPING FOR qp_secret_role SERVER qp_secret_server
    OPTIONS (SET password 'pw_mapping_alter_x5', ADD sslkey 'key_x6');
CREATE SUBSCRIPTION qp_secret_sub
    CONNECTION 'postgresql://remote:pw_sub_x7@localhost/app'
    PUBLICATION qp_pub WITH (connect = false, slot_name = NONE);
ALTER SUBSCRIPTION qp_secret_sub
    CONNECTION 'host=localhost password=pw_sub_alter_x8';
DROP SUBSCRIPTION qp_secret_sub;
DO $$ BEGIN
    EXECUTE 'ALTER ROLE qp_secret_role PASSWORD ''pw_do_x9''';
END $$;
-- a statement longer than the longest text kept is cut: one that may hold a
-- secret keeps its command tag only
DO $$ BEGIN
    EXECUTE format('CREATE USER MAPPING FOR PUBLIC SERVER qp_secret_server '
                   'OPTIONS (password %L)',
                   'pw_long_x10' || repeat('y', 600000));
END $$;
-- An earlier statement of the same query string changes
-- standard_conforming_strings after the parser read the next one: the lexer
-- cannot read 'pw\' as the parser did. The statement still succeeds, its
-- secret is still masked, and a SELECT still keeps its constants out.
SET standard_conforming_strings = off \; ALTER ROLE qp_secret_role PASSWORD 'pw_scc_x11\';
RESET standard_conforming_strings;
SET standard_conforming_strings = off \; SELECT amname AS qp_scc_probe FROM pg_catalog.pg_am WHERE amname = 'scc_x12\';
RESET standard_conforming_strings;
SELECT query FROM pg_qprof.queries WHERE query LIKE '%qp_scc_probe%';

SELECT count(*) AS texts_with_secrets
  FROM pg_qprof.queries WHERE query ~ 'pw_|key_x6|scc_x12';
SELECT count(*) AS samples_with_secrets
  FROM pg_qprof.samples WHERE query ~ 'pw_|key_x6|scc_x12';
SELECT query FROM pg_qprof.queries
 WHERE query ~ 'qp_secret_(role|server|sub)|^DO \*\*\*$|^CREATE USER MAPPING \*\*\*$'
   AND query !~ '^DROP'
 ORDER BY query;

DROP USER MAPPING FOR qp_secret_role SERVER qp_secret_server;
DROP USER MAPPING FOR PUBLIC SERVER qp_secret_server;
DROP SERVER qp_secret_server;
DROP FOREIGN DATA WRAPPER qp_secret_fdw;
DROP ROLE qp_secret_role;
