/*
 * pg_connection.h — a small RAII layer over libpq that turns failures into
 * the collector's errors: a broken connection (ConnectionLost, the
 * collector reconnects) versus a server refusing something (ServerError).
 * Every connection runs with search_path = pg_catalog, pg_temp and
 * client_encoding UTF8 (SQL_ASCII in a SQL_ASCII database; see
 * start_session).
 */
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <string>
#include <vector>

namespace qprof {

class PgResult {
  public:
    PgResult() = default;
    explicit PgResult(PGresult *result) : result_(result, &PQclear) {}

    int rows() const { return PQntuples(result_.get()); }
    int columns() const { return PQnfields(result_.get()); }
    bool is_null(int row, int column) const {
        return PQgetisnull(result_.get(), row, column) != 0;
    }
    const char *value(int row, int column) const {
        return PQgetvalue(result_.get(), row, column);
    }
    int length(int row, int column) const {
        return PQgetlength(result_.get(), row, column);
    }
    std::string text(int row, int column) const {
        return std::string(value(row, column),
                           static_cast<size_t>(length(row, column)));
    }
    /* Column number by name, -1 when absent. */
    int column(const char *name) const {
        return PQfnumber(result_.get(), name);
    }
    const char *column_name(int column) const {
        return PQfname(result_.get(), column);
    }

  private:
    std::unique_ptr<PGresult, void (*)(PGresult *)> result_{nullptr, &PQclear};
};

class PgConnection {
  public:
    /* Connects and sets the session up; ServerError names the cause (bad
     * conninfo, refused). */
    explicit PgConnection(const std::string &conninfo);

    /* Runs a statement with text parameters. `binary` asks for results in
     * binary format. */
    PgResult exec(const std::string &sql,
                  const std::vector<std::string> &params = {},
                  bool binary = false);

    /* Prepares `sql` once under `name`, then runs it. */
    void prepare(const std::string &name, const std::string &sql, int nparams);
    PgResult exec_prepared(const std::string &name,
                           const std::vector<std::string> &params, bool binary);

    /* The same in two steps, so that the server works on the next result
     * while the caller processes the previous one. */
    void send_prepared(const std::string &name,
                       const std::vector<std::string> &params, bool binary);
    PgResult receive(const std::string &name);

    PGconn *raw() const { return conn_.get(); }
    std::string host() const;
    unsigned port() const;
    std::string database() const;
    std::string user() const;

  private:
    void start_session();
    PgResult check(PGresult *result, const std::string &what);

    std::unique_ptr<PGconn, void (*)(PGconn *)> conn_{nullptr, &PQfinish};
};

} // namespace qprof
