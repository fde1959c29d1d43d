/*
 * advise.cpp — `qprof advise CAPTURE... --dsn STAGING`: the missing-index
 * insights of the report (collector/analysis), each tried on a staging
 * server as a hypothetical index (the hypopg extension): the statements it
 * would serve are planned before and after, and only the suggestions the
 * planner would use are listed, by the database time they would save.
 *
 * Nothing is created for real and nothing is written: everything runs in
 * one transaction that is rolled back (hypopg's indexes live in the
 * backend's memory; a CREATE EXTENSION hypopg made for the occasion is
 * rolled back with it). The statements are the capture's normalized texts,
 * whose constants are parameters ($1...): they are planned as generic plans
 * (PREPARE, then EXPLAIN EXECUTE with plan_cache_mode =
 * force_generic_plan), the plan a prepared statement gets whatever its
 * parameters, since the capture keeps no parameter values.
 */
#include "analysis.h"
#include "capture_set.h"
#include "commands.h"
#include "errors.h"
#include "pg_connection.h"
#include "profile.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace qprof {

namespace {

const char *kAdviseUsage =
    "usage: qprof advise CAPTURE... --dsn CONNINFO [--top N]\n"
    "Tries each missing-index insight of the captures' report on the server\n"
    "of CONNINFO (a staging copy of the captured database) as a hypothetical\n"
    "index (the hypopg extension): plans the statements it would serve\n"
    "before and after (generic plans) and lists the indexes the planner\n"
    "would use, by the database time they would save, with their CREATE\n"
    "INDEX CONCURRENTLY, statements, routes and estimated size. Creates\n"
    "nothing and writes nothing: one transaction, rolled back. The role\n"
    "needs SELECT on the tables; hypopg installed on the server (Debian:\n"
    "postgresql-15-hypopg), and created in the database or the right to\n"
    "create it. Suggestions left out are said on stderr.\n"
    "exit status: 0 ok (also when nothing is suggested), 1 usage,\n"
    "             2 server (connection, hypopg missing, rights),\n"
    "             4 no capture file could be read\n";

/* One statement an insight would serve, planned before and after. */
struct Trial {
    uint32_t statement = 0;
    double db_time_ns = 0; /* of the insight's plans of this statement */
    std::vector<std::string> routes;
    bool planned = false;
    std::string error; /* why it could not be planned */
    double cost_before = 0, cost_after = 0;
    bool uses_index = false;
};

struct Suggestion {
    const Insight *insight = nullptr;
    std::string create_sql; /* CREATE INDEX CONCURRENTLY ... */
    std::vector<Trial> trials;
    double size_bytes = 0;
    double saved_ns = 0;
    bool used = false;
};

/* The routes a statement ran from, most time first. */
std::vector<std::string> routes_of(const Analysis &a, uint32_t statement) {
    std::vector<std::string> routes;
    const DimensionStats *dim = a.profile.dimension(Dimension::Route);
    if (dim == nullptr || statement >= dim->by_statement.size())
        return routes;
    for (const auto &entry : dim->by_statement[statement])
        if (dim->groups[entry.first].tagged)
            routes.push_back(dim->groups[entry.first].name);
    return routes;
}

/* The statements of an insight's plans, with the time of those plans. */
std::vector<Trial> trials_of(const Analysis &a, const Insight &in) {
    std::map<uint32_t, double> by_statement;
    for (uint32_t plan : in.plans) {
        const PlanStats &ps = a.profile.plans[plan];
        by_statement[ps.statement] += ps.all.total_ns;
    }
    if (by_statement.empty() && in.statement >= 0)
        by_statement[static_cast<uint32_t>(in.statement)] = in.db_time_ns;
    std::vector<Trial> trials;
    for (const auto &[statement, ns] : by_statement) {
        Trial t;
        t.statement = statement;
        t.db_time_ns = ns;
        t.routes = routes_of(a, statement);
        trials.push_back(t);
    }
    return trials;
}

/* "CREATE INDEX CONCURRENTLY ON t (c);" -> "CREATE INDEX ON t (c)": hypopg
 * takes a plain CREATE INDEX. */
std::string hypothetical_sql(const std::string &sql) {
    std::string out = sql;
    const std::string concurrently = " CONCURRENTLY";
    size_t at = out.find(concurrently);
    if (at != std::string::npos)
        out.erase(at, concurrently.size());
    while (!out.empty() && (out.back() == ';' || out.back() == ' '))
        out.pop_back();
    return out;
}

/* A savepoint around each statement: an error in one leaves the
 * transaction usable for the next. */
class Staging {
  public:
    explicit Staging(const std::string &dsn) : conn_(dsn) {}

    /* BEGIN; hypopg there, or created for the transaction. */
    void begin() {
        PgResult available = conn_.exec(
            "SELECT (SELECT count(*) FROM pg_catalog.pg_available_extensions "
            "         WHERE name = 'hypopg'),"
            "       (SELECT count(*) FROM pg_catalog.pg_extension "
            "         WHERE extname = 'hypopg')");
        if (available.text(0, 0) == "0")
            throw ServerError(
                "the hypopg extension is not installed on the staging "
                "server (" +
                conn_.host() + ":" + std::to_string(conn_.port()) +
                "): install it (Debian: apt-get install "
                "postgresql-15-hypopg); qprof advise creates it for the "
                "length of its transaction when it is not created in the "
                "database");
        conn_.exec("BEGIN");
        conn_.exec("SET LOCAL statement_timeout = '60s'");
        /* The captured texts name tables as the application did: they are
         * planned with the role's own search_path, not the collector's
         * pg_catalog-only one (what qprof itself calls is qualified). */
        conn_.exec("SET LOCAL search_path TO DEFAULT");
        if (available.text(0, 1) == "0") {
            try {
                conn_.exec("CREATE EXTENSION hypopg");
            } catch (const ServerError &e) {
                throw ServerError(
                    "cannot create the hypopg extension in database " +
                    conn_.database() + " as role " + conn_.user() +
                    " (it would be rolled back afterwards): " + e.what() +
                    "; create it once as a role that may (CREATE EXTENSION "
                    "hypopg), or run advise as one");
            }
        }
        conn_.exec("SET LOCAL plan_cache_mode = force_generic_plan");
        /* hypopg's functions in its own schema, whatever the path */
        schema_ = conn_
                      .exec("SELECT pg_catalog.quote_ident(n.nspname) "
                            "FROM pg_catalog.pg_extension e JOIN "
                            "pg_catalog.pg_namespace n ON n.oid = "
                            "e.extnamespace WHERE e.extname = 'hypopg'")
                      .text(0, 0);
    }

    void rollback() { conn_.exec("ROLLBACK"); }

    /* The generic plan's total cost and its JSON; false and *error when the
     * statement cannot be planned here. */
    bool plan(const std::string &text, double &cost, std::string &json,
              std::string &error) {
        return in_savepoint(error, [&] {
            conn_.exec("DEALLOCATE ALL");
            conn_.exec("PREPARE qprof_advise_statement AS " + text);
            PgResult params = conn_.exec(
                "SELECT pg_catalog.cardinality(parameter_types) FROM "
                "pg_catalog.pg_prepared_statements WHERE name = "
                "'qprof_advise_statement'");
            int count = params.rows() > 0 ? std::atoi(params.value(0, 0)) : 0;
            std::string args;
            for (int i = 0; i < count; ++i)
                args += (i ? ", " : "(") + std::string("NULL");
            if (count > 0)
                args += ")";
            PgResult plan = conn_.exec(
                "EXPLAIN (FORMAT JSON) EXECUTE qprof_advise_statement" + args);
            json = plan.text(0, 0);
            PgResult total = conn_.exec(
                "SELECT ($1::json -> 0 -> 'Plan' ->> 'Total Cost')::float8",
                {json});
            cost = std::strtod(total.value(0, 0), nullptr);
        });
    }

    /* Creates the hypothetical index: its name (as plans show it) and its
     * estimated size. */
    bool create(const std::string &sql, std::string &name, double &bytes,
                std::string &error) {
        return in_savepoint(error, [&] {
            PgResult index =
                conn_.exec("SELECT h.indexname, " + schema_ +
                               ".hypopg_relation_size(h.indexrelid) FROM " +
                               schema_ + ".hypopg_create_index($1) AS h",
                           {sql});
            name = index.text(0, 0);
            bytes = std::strtod(index.value(0, 1), nullptr);
        });
    }

    void reset() { conn_.exec("SELECT " + schema_ + ".hypopg_reset()"); }

  private:
    /* Runs `body` in a savepoint, so that a statement the server refuses
     * leaves the transaction usable: false and *error when it refused. */
    template <typename Body> bool in_savepoint(std::string &error, Body body) {
        conn_.exec("SAVEPOINT qprof_advise");
        try {
            body();
            conn_.exec("RELEASE SAVEPOINT qprof_advise");
            return true;
        } catch (const ServerError &e) {
            error = e.what();
            conn_.exec("ROLLBACK TO SAVEPOINT qprof_advise");
            conn_.exec("RELEASE SAVEPOINT qprof_advise");
            return false;
        }
    }

    PgConnection conn_;
    std::string schema_ = "public";
};

std::string short_text(const std::string &text, size_t max) {
    std::string flat;
    for (char c : text)
        flat += (c == '\n' || c == '\t' || c == '\r') ? ' ' : c;
    if (flat.size() > max)
        flat = flat.substr(0, max - 3) + "...";
    return flat;
}

/* Plans every statement of the suggestion without and with its index. */
void try_suggestion(const Analysis &a, Staging &staging, Suggestion &s) {
    for (Trial &t : s.trials) {
        std::string json;
        t.planned =
            staging.plan(a.text_of(t.statement), t.cost_before, json, t.error);
    }
    std::string name, error;
    if (!staging.create(hypothetical_sql(s.insight->sql), name, s.size_bytes,
                        error)) {
        for (Trial &t : s.trials)
            if (t.planned) {
                t.planned = false;
                t.error = "the hypothetical index cannot be created: " + error;
            }
        return;
    }
    for (Trial &t : s.trials) {
        if (!t.planned)
            continue;
        std::string json;
        if (!staging.plan(a.text_of(t.statement), t.cost_after, json,
                          t.error)) {
            t.planned = false;
            continue;
        }
        t.uses_index = json.find("\"" + name + "\"") != std::string::npos;
        if (t.uses_index && t.cost_after < t.cost_before) {
            s.used = true;
            s.saved_ns += t.db_time_ns * (1 - t.cost_after / t.cost_before);
        }
    }
    staging.reset();
}

void print_suggestion(const Analysis &a, const Suggestion &s, int rank) {
    const Insight &in = *s.insight;
    std::string columns;
    for (const std::string &c : in.columns)
        columns += (columns.empty() ? "" : ", ") + c;
    printf("%d. %s (%s): saves about %s of the %s the capture spent in "
           "its statements\n",
           rank, in.table.c_str(), columns.c_str(),
           human_ms(s.saved_ns / 1e6).c_str(),
           human_ms(in.db_time_ns / 1e6).c_str());
    printf("   %s\n", s.create_sql.c_str());
    printf("   estimated size %s (hypopg_relation_size)\n",
           human_bytes(s.size_bytes).c_str());
    for (const Trial &t : s.trials) {
        printf("   statement %s\n",
               short_text(a.text_of(t.statement), 86).c_str());
        std::string routes;
        for (const std::string &r : t.routes)
            routes += (routes.empty() ? "" : ", ") + r;
        if (!t.planned)
            printf("     not planned here: %s\n",
                   short_text(t.error, 80).c_str());
        else
            printf("     cost %.2f -> %.2f%s; %s in the capture%s%s\n",
                   t.cost_before, t.cost_after,
                   t.uses_index ? ", uses the index"
                                : ", the planner keeps its plan",
                   human_ms(t.db_time_ns / 1e6).c_str(),
                   routes.empty() ? "" : "; routes: ", routes.c_str());
    }
}

/* Why a suggestion is left out, for stderr. */
std::string left_out_reason(const Suggestion &s) {
    for (const Trial &t : s.trials)
        if (t.planned)
            return "the planner would not use it";
    return s.trials.empty()
               ? "no statement to plan"
               : "not planned here: " + short_text(s.trials.front().error, 120);
}

} // namespace

int advise_command(int argc, char **argv) {
    std::vector<std::string> paths;
    std::string dsn;
    size_t top = 20;
    for (int i = 2; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            fputs(kAdviseUsage, stdout);
            return kExitOk;
        }
        if (arg == "--dsn" || arg == "--top") {
            if (i + 1 >= argc)
                throw UsageError(arg + " needs a value");
            std::string value = argv[++i];
            if (arg == "--dsn") {
                dsn = value;
            } else {
                char *end = nullptr;
                long n = std::strtol(value.c_str(), &end, 10);
                if (end == value.c_str() || *end != '\0' || n < 1)
                    throw UsageError("--top takes a positive number");
                top = static_cast<size_t>(n);
            }
        } else if (arg.size() > 1 && arg[0] == '-') {
            throw UsageError("unknown option " + arg);
        } else {
            paths.push_back(arg);
        }
    }
    if (paths.empty())
        throw UsageError("advise needs a capture file or folder");
    if (dsn.empty())
        throw UsageError("--dsn STAGING is required");

    CaptureSet set(paths);
    bool any_read = false;
    for (const CaptureFileStatus &f : set.files())
        if (f.status != CaptureFileStatus::Status::Unreadable &&
            f.status != CaptureFileStatus::Status::Duplicate)
            any_read = true;
    if (!any_read) {
        fprintf(stderr, "qprof advise: no capture file could be read\n");
        return kExitDamaged;
    }
    Profile profile = build_profile(set, ProfileFilters());
    Analysis analysis(set, profile);
    analyze(analysis);

    std::vector<Suggestion> suggestions;
    for (const Insight &in : analysis.insights) {
        if (in.kind != "missing_index" || in.sql.empty())
            continue;
        Suggestion s;
        s.insight = &in;
        s.create_sql = in.sql;
        s.trials = trials_of(analysis, in);
        suggestions.push_back(std::move(s));
    }
    if (suggestions.empty()) {
        printf("No missing-index insight in the capture: nothing to try.\n");
        return kExitOk;
    }

    Staging staging(dsn);
    staging.begin();
    for (Suggestion &s : suggestions)
        try_suggestion(analysis, staging, s);
    staging.rollback();

    std::stable_sort(suggestions.begin(), suggestions.end(),
                     [](const Suggestion &x, const Suggestion &y) {
                         return x.saved_ns > y.saved_ns;
                     });
    size_t used = 0;
    for (const Suggestion &s : suggestions)
        used += s.used ? 1 : 0;
    printf("Indexes the planner would use, %zu of %zu missing-index insights "
           "tried as hypothetical indexes (hypopg, generic plans; nothing "
           "created):\n",
           used, suggestions.size());
    int rank = 0;
    for (const Suggestion &s : suggestions) {
        if (!s.used || static_cast<size_t>(rank) >= top)
            continue;
        printf("\n");
        print_suggestion(analysis, s, ++rank);
    }
    if (used == 0)
        printf("\nNone.\n");
    for (const Suggestion &s : suggestions)
        if (!s.used)
            fprintf(stderr, "qprof advise: left out %s (%s): %s\n",
                    s.insight->table.c_str(),
                    hypothetical_sql(s.create_sql).c_str(),
                    left_out_reason(s).c_str());
    return kExitOk;
}

} // namespace qprof
