-- Deterministic measures (pg_qprof.last_executions): what each statement
-- touches, pinned in this file's expected output. It fails when an index
-- stops being used (the plan shape changes) or a statement starts reading
-- more blocks; it passes run after run (tests/t/41_deterministic_repeat.pl
-- runs it three times on one cluster, then without the index and with more
-- rows, and checks the diffs). Each statement runs twice and its second run
-- is pinned: the caches are warm then, so planning reads no catalog pages
-- by chance; the tables are vacuumed first, so no hint bit or visibility
-- map bit is set while they are measured.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_qprof;
RESET client_min_messages;
SET max_parallel_workers_per_gather = 0;
SET pg_qprof.sample_rate = 1;

CREATE TABLE det_customers (id int PRIMARY KEY, region int NOT NULL);
CREATE TABLE det_orders (id int PRIMARY KEY, customer int NOT NULL,
                         amount int NOT NULL, note text NOT NULL);
INSERT INTO det_customers SELECT g, g % 10 FROM generate_series(1, 500) g;
INSERT INTO det_orders
SELECT g, g % 500 + 1, g % 997, repeat('n', 40)
  FROM generate_series(1, 20000) g;
CREATE INDEX det_orders_customer ON det_orders (customer);
VACUUM ANALYZE det_customers;
VACUUM ANALYZE det_orders;

-- An index scan: the orders of one customer.
SELECT sum(amount) FROM det_orders WHERE customer = 42;
SELECT sum(amount) FROM det_orders WHERE customer = 42;
SELECT query, plan_shape, rows, shared_blks, temp_blks
  FROM pg_qprof.last_executions(1);

-- A join through the same index, from a handful of customers.
SELECT count(*), sum(o.amount)
  FROM det_customers c JOIN det_orders o ON o.customer = c.id
 WHERE c.id BETWEEN 10 AND 14;
SELECT count(*), sum(o.amount)
  FROM det_customers c JOIN det_orders o ON o.customer = c.id
 WHERE c.id BETWEEN 10 AND 14;
SELECT plan_shape, rows, shared_blks, temp_blks
  FROM pg_qprof.last_executions(1);

-- A sort that spills: temp blocks at a small work_mem.
SET work_mem = '64kB';
SELECT count(*) FROM (SELECT note, id FROM det_orders ORDER BY note, id DESC) s;
SELECT count(*) FROM (SELECT note, id FROM det_orders ORDER BY note, id DESC) s;
SELECT plan_shape, rows, shared_blks, temp_blks > 0 AS spilled
  FROM pg_qprof.last_executions(1);
RESET work_mem;

-- Writes: WAL records (their bytes hold full-page images after a
-- checkpoint, which come and go: not pinned).
UPDATE det_orders SET amount = amount + 1 WHERE customer = 7;
SELECT query, command, plan_shape, rows, wal_records
  FROM pg_qprof.last_executions(1);

-- The last three at once, newest first; the calls above are left out.
SELECT ordinal, command, rows FROM pg_qprof.last_executions(3);

DROP TABLE det_orders, det_customers;
