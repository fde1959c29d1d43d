/*
 * clickhouse_client.h — statements and inserts sent to ClickHouse's HTTP
 * interface (TabSeparated both ways: what ClickHouse 18.16 reads and writes
 * fastest), and the escaping of TabSeparated values.
 */
#pragma once

#include "errors.h"
#include "http_client.h"

#include <string>
#include <vector>

namespace qprof {

/* ClickHouse refused a statement: its message. */
struct ClickHouseError : ServerError {
    using ServerError::ServerError;
};

class ClickHouseClient {
  public:
    /* `url` as parse_http_url takes it; `database` holds the tables that
     * insert() names (a statement names its tables with the database). */
    ClickHouseClient(const std::string &url, const std::string &database);

    /* Runs `sql`; returns what it printed (TabSeparated unless the statement
     * says FORMAT). Throws ClickHouseError with ClickHouse's message. */
    std::string query(const std::string &sql) const;
    /* The rows of a SELECT, each as its TabSeparated fields, unescaped. */
    std::vector<std::vector<std::string>> select(const std::string &sql) const;
    /* INSERT INTO database.`table` (`columns`) FORMAT TabSeparated `rows`
     * (lines ending in \n). One insert into a MergeTree table is written whole
     * or not at all (up to max_insert_block_size rows). */
    void insert(const std::string &table, const std::string &columns,
                const std::string &rows) const;

    const std::string &database() const { return database_; }
    /* "host:port/database", for messages */
    std::string where() const;

  private:
    /* `settings`: URL parameters (name=value&...), or empty */
    std::string run(const std::string &query_param, const std::string &body,
                    const std::string &settings = "") const;
    /* ClickHouse's max_query_size unless the server's profile says
     * otherwise */
    static constexpr size_t kDefaultMaxQuerySize = 256 * 1024;

    HttpUrl url_;
    std::string database_;
};

/* Appends `value` to a TabSeparated row, escaped. */
void tsv_append(std::string &row, const std::string &value);
/* Appends `value` as a quoted string inside an array ['a','b']. */
void tsv_append_quoted(std::string &row, const std::string &value);
/* The value of a TabSeparated field. */
std::string tsv_unescape(const std::string &field);
/* `text` as a SQL string literal: 'it\'s'. */
std::string sql_quote(const std::string &text);
/* A database or table name ClickHouse takes unquoted: [A-Za-z_][A-Za-z0-9_]*;
 * throws UsageError otherwise. */
const std::string &checked_identifier(const std::string &name,
                                      const char *what);

} // namespace qprof
