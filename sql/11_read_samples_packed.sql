-- pg_qprof.read_samples_packed(after_seq, max_rows): the same samples as
-- read_samples, as one bytea behind a 16-byte header (magic 'QPS3', fixed
-- record size, count), little-endian on this machine. Each record is the
-- fixed part of a sample followed by only the tag bytes it uses.
SELECT head_seq AS mark FROM pg_qprof.status \gset
SELECT 1 AS one;
SELECT 2 AS two /*route='%2Fjobs'*/;
SELECT 3 AS three;

CREATE FUNCTION qp_le(b bytea, off int, len int) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT sum(get_byte(b, off + i)::bigint << (8 * i))::bigint
      FROM generate_series(0, len - 1) i
$$;

WITH p AS (SELECT pg_qprof.read_samples_packed(:mark, 3) AS b)
SELECT substring(b FROM 1 FOR 4) = '\x51505333'::bytea AS magic_ok,
       qp_le(b, 8, 4) AS count,
       -- the third sample (SELECT 2) carries route='%2Fjobs': 15 bytes of tags
       length(b) - 16 - qp_le(b, 4, 4) * 3 AS tag_bytes,
       qp_le(b, 16, 8) = :mark + 1 AS first_seq_ok,
       qp_le(b, 16 + qp_le(b, 4, 4)::int * 2, 8) = :mark + 3 AS third_seq_ok
  FROM p;

-- the same samples as read_samples
SELECT count(*) AS rows_from_read_samples
  FROM pg_qprof.read_samples(:mark, 3);

-- nothing after the head; max_rows 0
SELECT length(pg_qprof.read_samples_packed(
           (SELECT head_seq FROM pg_qprof.status) + 1000, 10)) AS header_only,
       length(pg_qprof.read_samples_packed(0, 0)) AS zero_rows;
SELECT pg_qprof.read_samples_packed(-1, 10);

-- a plain role may not call it
CREATE ROLE qp_packed_plain;
SET ROLE qp_packed_plain;
SELECT pg_qprof.read_samples_packed(0, 10);
RESET ROLE;
DROP ROLE qp_packed_plain;
DROP FUNCTION qp_le(bytea, int, int);
