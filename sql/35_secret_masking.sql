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
SELECT format('CREATE USER MAPPING FOR PUBLIC SERVER qp_secret_server '
              'OPTIONS (password %L)', 'pw_long_x10' || repeat('y', 600000))
\gexec

SELECT count(*) AS texts_with_secrets
  FROM pg_qprof.queries WHERE query ~ 'pw_|key_x6';
SELECT count(*) AS samples_with_secrets
  FROM pg_qprof.samples WHERE query ~ 'pw_|key_x6';
SELECT query FROM pg_qprof.queries
 WHERE query ~ 'qp_secret_(role|server|sub)|^DO \*\*\*$|^CREATE USER MAPPING \*\*\*$'
   AND query !~ '^DROP'
 ORDER BY query;

DROP USER MAPPING FOR qp_secret_role SERVER qp_secret_server;
DROP USER MAPPING FOR PUBLIC SERVER qp_secret_server;
DROP SERVER qp_secret_server;
DROP FOREIGN DATA WRAPPER qp_secret_fdw;
DROP ROLE qp_secret_role;
