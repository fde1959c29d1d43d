#include "pg_connection.h"
#include "errors.h"

#include <cstdlib>

namespace qprof {

namespace {

std::string trimmed(const char *message) {
    std::string text = message == nullptr ? "" : message;
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    return text;
}

} // namespace

PgConnection::PgConnection(const std::string &conninfo) {
    char *parse_error = nullptr;
    PQconninfoOption *options = PQconninfoParse(conninfo.c_str(), &parse_error);
    if (options == nullptr) {
        std::string cause =
            parse_error != nullptr ? trimmed(parse_error) : "out of memory";
        PQfreemem(parse_error);
        throw ServerError("invalid connection string: " + cause);
    }
    PQconninfoFree(options);

    /* The conninfo may name the application; if not, say who we are. */
    const char *keys[] = {"dbname", "fallback_application_name", nullptr};
    const char *values[] = {conninfo.c_str(), "qprof collect", nullptr};
    conn_.reset(PQconnectdbParams(keys, values, /* expand_dbname */ 1));
    if (conn_ == nullptr || PQstatus(conn_.get()) != CONNECTION_OK)
        throw ServerError("cannot connect to the server: " +
                          trimmed(PQerrorMessage(conn_.get())));
    start_session();
}

/* Every connection (a reconnection is a new PgConnection) first fixes
 * what its queries depend on, before any of them runs:
 * - search_path: the collector often runs as a superuser, and an operator
 *   or function another role created in a schema on the path (public, in
 *   a database upgraded from PostgreSQL 14 or earlier) would run with its
 *   rights; only pg_catalog (and our own temporary schema, never searched
 *   for functions or operators) is looked at, and the queries qualify
 *   what they use besides;
 * - client_encoding: texts arrive in UTF-8 whatever the database's
 *   encoding, converted by the server. A SQL_ASCII database stores bytes
 *   unchecked and cannot convert them (one byte that is not UTF-8 would
 *   fail the whole query): there, texts come as stored and the capture
 *   writer replaces what is not UTF-8;
 * - statement_timeout: a query that hangs ends, instead of holding its
 *   backend (and the capture) forever.
 * SET alone runs no operator or function that the path could change. */
void PgConnection::start_session() {
    exec("SET search_path = pg_catalog, pg_temp");
    const char *server_encoding =
        PQparameterStatus(conn_.get(), "server_encoding");
    if (server_encoding != nullptr &&
        std::string(server_encoding) == "SQL_ASCII")
        exec("SET client_encoding = 'SQL_ASCII'");
    else
        exec("SET client_encoding = 'UTF8'");
    exec("SET statement_timeout = '60s'");
}

PgResult PgConnection::check(PGresult *result, const std::string &what) {
    ExecStatusType status = PQresultStatus(result);
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK)
        return PgResult(result);
    std::string message = trimmed(PQerrorMessage(conn_.get()));
    PQclear(result);
    /* A query sent to a backend that is gone (a crash of another backend
     * ends them all) fails on the write, and libpq leaves the status OK
     * until it reads: reading now tells a lost connection from an error. */
    if (PQstatus(conn_.get()) != CONNECTION_OK ||
        PQconsumeInput(conn_.get()) == 0 ||
        PQstatus(conn_.get()) != CONNECTION_OK)
        throw ConnectionLost("connection to the server lost: " + message);
    throw ServerError(what + ": " + message);
}

PgResult PgConnection::exec(const std::string &sql,
                            const std::vector<std::string> &params,
                            bool binary) {
    std::vector<const char *> values;
    for (const std::string &param : params)
        values.push_back(param.c_str());
    PGresult *result =
        PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()),
                     nullptr, values.data(), nullptr, nullptr, binary ? 1 : 0);
    return check(result, "query failed");
}

void PgConnection::prepare(const std::string &name, const std::string &sql,
                           int nparams) {
    check(PQprepare(conn_.get(), name.c_str(), sql.c_str(), nparams, nullptr),
          "cannot prepare " + name);
}

PgResult PgConnection::exec_prepared(const std::string &name,
                                     const std::vector<std::string> &params,
                                     bool binary) {
    std::vector<const char *> values;
    for (const std::string &param : params)
        values.push_back(param.c_str());
    PGresult *result = PQexecPrepared(
        conn_.get(), name.c_str(), static_cast<int>(values.size()),
        values.data(), nullptr, nullptr, binary ? 1 : 0);
    return check(result, name + " failed");
}

void PgConnection::send_prepared(const std::string &name,
                                 const std::vector<std::string> &params,
                                 bool binary) {
    std::vector<const char *> values;
    for (const std::string &param : params)
        values.push_back(param.c_str());
    if (!PQsendQueryPrepared(conn_.get(), name.c_str(),
                             static_cast<int>(values.size()), values.data(),
                             nullptr, nullptr, binary ? 1 : 0))
        check(nullptr, name + " failed");
}

PgResult PgConnection::receive(const std::string &name) {
    PGresult *result = PQgetResult(conn_.get());
    if (result == nullptr)
        check(nullptr, name + " failed");
    /* One statement, one result: read the end marker so the connection is
     * ready for the next query. */
    while (PGresult *extra = PQgetResult(conn_.get()))
        PQclear(extra);
    return check(result, name + " failed");
}

std::string PgConnection::host() const {
    const char *host = PQhost(conn_.get());
    return host == nullptr ? "" : host;
}

unsigned PgConnection::port() const {
    const char *port = PQport(conn_.get());
    return port == nullptr ? 0 : static_cast<unsigned>(atoi(port));
}

std::string PgConnection::database() const {
    const char *db = PQdb(conn_.get());
    return db == nullptr ? "" : db;
}

std::string PgConnection::user() const {
    const char *user = PQuser(conn_.get());
    return user == nullptr ? "" : user;
}

} // namespace qprof
