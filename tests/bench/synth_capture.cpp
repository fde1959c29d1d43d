/*
 * synth_capture — writes a synthetic capture (real capture files, through
 * the collector's own writer, definition tables and sample codec) with the
 * shapes of a busy web application's database, for measuring `qprof
 * report` at scale (tests/bench/report_scale.sh):
 *   - thousands of statements with Zipf-skewed frequencies and heavy-tailed
 *     latencies; some nested in a function call (toplevel = false);
 *   - web requests on routes and controllers, each tagged with its own
 *     traceparent (one tag set per request, as the LAVA middleware does),
 *     a few routes issuing one statement in a loop (N+1); background apps
 *     and ad-hoc sessions untagged; several users and two databases;
 *   - one to three plans per statement (EXPLAIN's JSON), a share of the
 *     statements switching to a slower plan midway; per-node actuals for a
 *     share of executions (pg_qprof.analyze_sample_rate);
 *   - kernel facts (IoStats) on every sample, storage reads on a share;
 *     errors (timeouts, unique violations, serialization failures); temp
 *     blocks for sorts that spill;
 *   - overwritten samples (Loss records, seq gaps), several ring epochs
 *     (EpochChange), files rotated by size, each with header, catalog
 *     snapshot and trailer.
 * The same seed gives the same capture.
 *
 * usage: synth_capture --out DIR --samples N [--statements K] [--epochs E]
 *                      [--hours H] [--seed S] [--analyze-rate R]
 *                      [--rotate-mib M]
 */
#include "capture_format.h"
#include "capture_writer.h"
#include "definition_tables.h"
#include "exec_io.h"
#include "qprof.pb.h"
#include "sample_codec.h"
#include "sample_row.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

namespace pb = qprof::capture::v1;

namespace {

/* splitmix64: fast, good enough, and the same on every machine */
struct Rng {
    uint64_t state;
    explicit Rng(uint64_t seed) : state(seed) {}
    uint64_t next() {
        uint64_t z = (state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    double uniform() { return (next() >> 11) * (1.0 / 9007199254740992.0); }
    uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }
    bool chance(double p) { return uniform() < p; }
    double normal() {
        double u1 = std::max(uniform(), 1e-300), u2 = uniform();
        return std::sqrt(-2 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    }
    /* exp(N(0, sigma)), so that the median is 1 */
    double lognormal(double sigma) { return std::exp(sigma * normal()); }
};

/* Draws index i with weight 1/(i+1)^s. */
class Zipf {
  public:
    Zipf(size_t n, double s) : cumulative_(n) {
        double sum = 0;
        for (size_t i = 0; i < n; ++i)
            cumulative_[i] = sum += 1 / std::pow(double(i + 1), s);
    }
    size_t draw(Rng &rng) const {
        double x = rng.uniform() * cumulative_.back();
        return std::lower_bound(cumulative_.begin(), cumulative_.end(), x) -
               cumulative_.begin();
    }

  private:
    std::vector<double> cumulative_;
};

std::string hex(Rng &rng, int digits) {
    static const char *kDigits = "0123456789abcdef";
    std::string out;
    while (digits-- > 0)
        out += kDigits[rng.below(16)];
    return out;
}

struct Column {
    std::string name;
    float n_distinct;
};

struct Table {
    uint32_t oid, pkey_oid;
    std::string name;
    std::vector<Column> columns;
    double reltuples;
    uint64_t dead;
};

/* One plan node, in preorder; what the plan JSON and NodeActuals share. */
struct Node {
    std::string type;
    int table = -1; /* index in tables, -1 for none */
    bool by_index = false;
    std::string filter_column; /* a Filter that removes rows */
    double plan_rows = 1;
    double rows_factor = 1; /* actual rows / plan rows */
    double removed_per_row = 0;
    uint32_t parent = 0; /* node id of the parent, 0 for the root */
    double time_share = 1;
};

struct PlanShape {
    int64_t planid;
    std::vector<Node> nodes; /* node ids are index + 1 */
    double slowdown = 1;     /* latency factor against the first plan */
    std::string json, text;
};

struct Statement {
    int64_t queryid;
    std::string text;
    pb::CmdType cmd;
    uint32_t dbid, userid;
    double mean_us;
    double rows, hit, read;
    double io_share;   /* of the execution time spent waiting on I/O */
    double error_rate; /* share of executions that fail */
    const char *sqlstate;
    uint64_t temp_blocks = 0;
    std::vector<PlanShape> plans;
    double change_at = 2; /* share of the run after which plans[1] is used */
    int nested = -1;      /* a statement it runs inside itself, or -1 */
};

struct Route {
    std::string route, controller;
    std::vector<uint32_t> statements;
    int loop_statement = -1; /* N+1: this statement repeated */
    int loop_count = 0;
};

struct Backend {
    int32_t pid;
    int app; /* index in kApps */
    uint32_t userid;
    uint64_t exec_id = 0;
    int route = -1;
    size_t step = 0;
    std::string tags_json;
};

const char *kApps[] = {"lava-server-gunicorn", "lava-scheduler",
                       "lava-publisher", "psql", "metabase"};
/* share of backends of each app */
const double kAppShare[] = {0.70, 0.15, 0.05, 0.05, 0.05};

const char *kTableNames[] = {"lava_scheduler_app_testjob",
                             "lava_results_app_testcase",
                             "lava_results_app_testsuite",
                             "lava_scheduler_app_device",
                             "lava_scheduler_app_devicetype",
                             "lava_scheduler_app_worker",
                             "auth_user",
                             "auth_group",
                             "django_session",
                             "django_content_type",
                             "lava_scheduler_app_tag",
                             "lava_scheduler_app_testjob_tags",
                             "lava_results_app_actiondata",
                             "lava_results_app_testdata",
                             "lava_results_app_testset",
                             "lava_scheduler_app_notification",
                             "lava_scheduler_app_notificationrecipient",
                             "lava_scheduler_app_alias",
                             "lava_scheduler_app_architecture",
                             "lava_scheduler_app_processorfamily",
                             "lava_scheduler_app_bitwidth",
                             "lava_scheduler_app_core",
                             "lava_scheduler_app_jobfailuretag",
                             "lava_scheduler_app_remoteartifactsauth",
                             "lava_scheduler_app_devicetype_aliases",
                             "lava_scheduler_app_grouppermission",
                             "lava_scheduler_app_testjobuser",
                             "linaro_django_xmlrpc_authtoken",
                             "lava_results_app_query",
                             "lava_results_app_querycondition",
                             "lava_results_app_chart",
                             "lava_results_app_chartquery"};
const char *kColumnNames[] = {
    "id",        "state",   "health",           "submitter_id",
    "device_id", "job_id",  "suite_id",         "result",
    "name",      "created", "actual_device_id", "requested_device_type_id"};

struct Options {
    std::string out;
    uint64_t samples = 0;
    size_t statements = 5000;
    int epochs = 3;
    double hours = 4;
    uint64_t seed = 1;
    double analyze_rate = 0.01;
    uint64_t rotate_mib = 64;
};

class Synthesizer {
  public:
    explicit Synthesizer(const Options &o)
        : o_(o), rng_(o.seed), writer_(writer_options(o)), defs_(writer_) {}

    void run();

  private:
    static qprof::CaptureWriterOptions writer_options(const Options &o) {
        qprof::CaptureWriterOptions w;
        w.dir = o.out;
        w.rotate_bytes = o.rotate_mib << 20;
        w.rotate_seconds = 0;
        return w;
    }

    void make_tables();
    void make_statements();
    PlanShape make_plan(const Statement &st, int table, int variant);
    void make_routes();
    void make_backends();

    void start_file();
    void finish_file(bool more);
    void close_frame();
    void change_epoch();
    void lose_samples(uint64_t count);

    uint32_t next_statement(Backend &b);
    void emit(Backend &b, uint32_t statement, double progress, uint32_t nesting,
              uint64_t parent_exec_id, int64_t end_us);
    void emit_actuals(const PlanShape &plan, double exec_ms, uint64_t seq,
                      double rows);

    const Options &o_;
    Rng rng_;
    qprof::CaptureWriter writer_;
    qprof::DefinitionTables defs_;
    qprof::SampleBlockEncoder encoder_;

    std::vector<Table> tables_;
    std::vector<Statement> statements_;
    std::vector<Route> routes_;
    std::vector<Backend> backends_;
    Zipf statement_zipf_{1, 1};
    Zipf route_zipf_{1, 1};

    uint64_t epoch_ = 1000;
    uint64_t seq_ = 0;
    uint64_t written_ = 0;
    uint64_t file_index_ = 1;
    uint64_t file_samples_ = 0, file_first_seq_ = 0;
    uint64_t files_ = 0, tag_sets_ = 0, actuals_ = 0, lost_ = 0;
    int64_t begin_us_ = 0;
};

void Synthesizer::make_tables() {
    uint32_t oid = 16400;
    for (const char *name : kTableNames) {
        Table t;
        t.oid = oid++;
        t.pkey_oid = oid++;
        t.name = name;
        /* sizes spread over five orders of magnitude, the big ones few */
        t.reltuples =
            std::floor(std::pow(10, 2.5 + 5 * rng_.uniform() * rng_.uniform()));
        t.dead = static_cast<uint64_t>(t.reltuples * 0.3 * rng_.uniform());
        for (const char *c : kColumnNames)
            if (rng_.chance(0.6) || std::strcmp(c, "id") == 0)
                t.columns.push_back({c, std::strcmp(c, "id") == 0
                                            ? -1.0f
                                            : float(2 + rng_.below(5000))});
        tables_.push_back(std::move(t));
    }
}

/* EXPLAIN (FORMAT JSON, VERBOSE)'s shape for the nodes of a plan. */
std::string plan_json_of(const std::vector<Node> &nodes,
                         const std::vector<Table> &tables, uint32_t id) {
    const Node &n = nodes[id - 1];
    std::string out = "{\"Node Type\": \"" + n.type + "\"";
    if (n.table >= 0) {
        const Table &t = tables[n.table];
        out += ", \"Relation Name\": \"" + t.name +
               "\", \"Schema\": \"public\", \"Alias\": \"" + t.name + "\"";
        if (n.by_index)
            out += ", \"Index Name\": \"" + t.name +
                   "_pkey\", \"Index Cond\": \"(" + t.name + ".id = $1)\"";
        if (!n.filter_column.empty())
            out += ", \"Filter\": \"(" + t.name + "." + n.filter_column +
                   " = $2)\"";
    }
    char rows[64];
    std::snprintf(rows, sizeof rows, ", \"Plan Rows\": %.0f", n.plan_rows);
    out += rows;
    std::string children;
    for (uint32_t c = id + 1; c <= nodes.size(); ++c)
        if (nodes[c - 1].parent == id)
            children +=
                (children.empty() ? "" : ", ") + plan_json_of(nodes, tables, c);
    if (!children.empty())
        out += ", \"Plans\": [" + children + "]";
    return out + "}";
}

PlanShape Synthesizer::make_plan(const Statement &st, int table, int variant) {
    PlanShape p;
    p.planid = static_cast<int64_t>(rng_.next());
    const Table &t = tables_[table];
    const std::string filter =
        t.columns.size() > 1
            ? t.columns[1 + rng_.below(t.columns.size() - 1)].name
            : "";
    double rows = std::max(1.0, st.rows);
    /* variant 0: the statement's usual plan; 1 and 2: the alternatives a
     * planner may switch to */
    int shape = (variant == 0) ? int(rng_.below(5)) : 2;
    auto add = [&](Node n) { p.nodes.push_back(std::move(n)); };
    switch (shape) {
    case 0: /* point lookup */
        add({"Index Scan", table, true, "", 1, 1, 0, 0, 1});
        break;
    case 1: /* sort over an index scan */
        add({"Sort", -1, false, "", rows, 1, 0, 0, 0.2});
        add({"Index Scan", table, true, filter, rows, 1, 2, 1, 0.8});
        break;
    case 2: /* a filtered sequential scan: most rows thrown away */
        add({"Seq Scan", table, false, filter, rows / 4, 4,
             std::max(1.0, t.reltuples / rows), 0, 1});
        break;
    case 3: { /* hash join of two tables */
        int other = int(rng_.below(tables_.size()));
        add({"Hash Join", -1, false, "", rows, 1, 0, 0, 0.2});
        add({"Seq Scan", table, false, filter, rows * 2, 1, 3, 1, 0.5});
        add({"Hash", -1, false, "", 100, 1, 0, 1, 0.05});
        add({"Seq Scan", other, false, "", 100, 1, 0, 3, 0.25});
        break;
    }
    default: /* nested loop over an index */
        add({"Nested Loop", -1, false, "", rows, 1, 0, 0, 0.1});
        add({"Index Scan", table, true, "", rows, 1, 0, 1, 0.4});
        add({"Index Scan", int(rng_.below(tables_.size())), true, "", 1, 1, 0,
             1, 0.5});
        break;
    }
    if (variant > 0) {
        p.slowdown = 3 + 10 * rng_.uniform();
        p.nodes[0].plan_rows = std::max(1.0, rows / 50); /* estimate off */
    }
    p.json = "[{\"Plan\": " + plan_json_of(p.nodes, tables_, 1) + "}]";
    for (const Node &n : p.nodes)
        p.text += std::string(n.parent == 0 ? "" : "  ->  ") + n.type +
                  (n.table >= 0 ? " on " + tables_[n.table].name : "") + "\n";
    return p;
}

void Synthesizer::make_statements() {
    const char *kSqlStates[] = {"57014", "23505", "40001",
                                "40P01", "22P02", "42P01"};
    for (size_t i = 0; i < o_.statements; ++i) {
        Statement st;
        st.queryid = static_cast<int64_t>(rng_.next());
        int table = int(rng_.below(tables_.size()));
        const Table &t = tables_[table];
        double kind = rng_.uniform();
        st.cmd = kind < 0.8    ? pb::CMD_SELECT
                 : kind < 0.9  ? pb::CMD_UPDATE
                 : kind < 0.97 ? pb::CMD_INSERT
                               : pb::CMD_DELETE;
        std::string cols;
        for (const Column &c : t.columns)
            cols += (cols.empty() ? "" : ", ") + t.name + "." + c.name;
        switch (st.cmd) {
        case pb::CMD_SELECT:
            st.text = "SELECT " + cols + " FROM " + t.name + " WHERE " +
                      t.name + ".id = $1 AND " + t.name + "." +
                      t.columns.back().name + " = $2 /* q" + std::to_string(i) +
                      " */";
            break;
        case pb::CMD_UPDATE:
            st.text = "UPDATE " + t.name + " SET " + t.columns.back().name +
                      " = $1 WHERE id = $2 /* q" + std::to_string(i) + " */";
            break;
        case pb::CMD_INSERT:
            st.text = "INSERT INTO " + t.name + " (" + cols +
                      ") VALUES ($1) /* q" + std::to_string(i) + " */";
            break;
        default:
            st.text = "DELETE FROM " + t.name + " WHERE id = $1 /* q" +
                      std::to_string(i) + " */";
        }
        st.dbid = rng_.chance(0.9) ? 16384 : 16385;
        st.userid = 16390 + uint32_t(rng_.below(6));
        /* median 0.2 ms, a long tail to seconds */
        st.mean_us = 200 * std::exp(2.2 * rng_.normal());
        st.mean_us = std::min(std::max(st.mean_us, 15.0), 30e6);
        st.rows = std::floor(std::pow(10, 3 * rng_.uniform() * rng_.uniform()));
        st.hit = 3 + st.mean_us / 10 * rng_.uniform();
        st.read = rng_.chance(0.2) ? st.hit * rng_.uniform() * 0.5 : 0;
        st.io_share = st.read > 0 ? 0.2 + 0.7 * rng_.uniform() : 0.02;
        st.error_rate = rng_.chance(0.05) ? 0.001 + 0.05 * rng_.uniform() : 0;
        st.sqlstate = kSqlStates[rng_.below(6)];
        if (rng_.chance(0.02))
            st.temp_blocks = 200 + rng_.below(20000);
        st.plans.push_back(make_plan(st, table, 0));
        if (rng_.chance(0.15)) {
            st.plans.push_back(make_plan(st, table, 1));
            st.change_at = 0.2 + 0.6 * rng_.uniform();
            if (rng_.chance(0.3))
                st.plans.push_back(make_plan(st, table, 2));
        }
        statements_.push_back(std::move(st));
    }
    /* a few statements are functions that run another statement inside */
    for (size_t i = 40; i < statements_.size(); i += 97)
        statements_[i].nested = int((i * 7 + 13) % statements_.size());
    statement_zipf_ = Zipf(statements_.size(), 1.1);
}

void Synthesizer::make_routes() {
    const char *kPaths[] = {"/api/v0.2/jobs/",    "/scheduler/job/",
                            "/results/",          "/scheduler/device/",
                            "/scheduler/alljobs", "/RPC2",
                            "/accounts/login/",   "/scheduler/myjobs",
                            "/api/v0.2/devices/", "/scheduler/worker/"};
    for (int i = 0; i < 80; ++i) {
        Route r;
        r.route = std::string(kPaths[i % 10]) + "<pk>/v" + std::to_string(i);
        r.controller = "lava_views." + std::to_string(i % 25) + ".dispatch";
        size_t n = 2 + rng_.below(11);
        for (size_t k = 0; k < n; ++k)
            r.statements.push_back(uint32_t(statement_zipf_.draw(rng_)));
        if (i % 16 == 5) { /* N+1: a statement per object of a list */
            r.loop_statement = int(r.statements.back());
            r.loop_count = 20 + int(rng_.below(80));
        }
        routes_.push_back(std::move(r));
    }
    route_zipf_ = Zipf(routes_.size(), 1.0);
}

void Synthesizer::make_backends() {
    backends_.clear();
    int32_t base = int32_t(2000 + 1000 * (epoch_ % 50));
    for (int i = 0; i < 64; ++i) {
        Backend b;
        b.pid = base + i;
        double x = (i + 0.5) / 64, sum = 0;
        b.app = 0;
        for (int a = 0; a < 5; ++a)
            if (x > (sum += kAppShare[a]))
                b.app = a + 1;
        b.app = std::min(b.app, 4);
        b.userid = 16390 + uint32_t(i % 6);
        backends_.push_back(b);
    }
}

void Synthesizer::start_file() {
    writer_.open_file(file_index_++);
    defs_.new_file();
    ++files_;
    file_samples_ = 0;
    file_first_seq_ = 0;

    pb::Record record;
    pb::Header *h = record.mutable_header();
    h->set_format_version(qprof::kFormatVersion);
    pb::Record::descriptor()->file()->dependency(0)->CopyTo(
        h->mutable_schema()->add_file());
    pb::Record::descriptor()->file()->CopyTo(h->mutable_schema()->add_file());
    h->set_created_unix_us(begin_us_);
    h->set_label("synthetic");
    pb::ServerIdentity *s = h->mutable_server();
    s->set_system_identifier(7300000000000000001ull);
    s->set_version("PostgreSQL 15.10 (synthetic) on x86_64-pc-linux-gnu");
    s->set_version_num(150010);
    s->set_host("/var/run/postgresql");
    s->set_port(5432);
    s->set_database("lava");
    s->set_cluster_name("lava");
    const std::pair<const char *, std::string> kSettings[] = {
        {"pg_qprof.sample_rate", "1"},
        {"pg_qprof.analyze_sample_rate", std::to_string(o_.analyze_rate)},
        {"pg_qprof.track", "top"},
        {"pg_qprof.min_duration", "0"},
        {"shared_buffers", "16384"},
        {"work_mem", "4096"},
        {"effective_cache_size", "524288"},
        {"random_page_cost", "4"}};
    for (const auto &kv : kSettings) {
        pb::Setting *setting = h->add_settings();
        setting->set_name(kv.first);
        setting->set_value(kv.second);
    }
    pb::CollectorSettings *c = h->mutable_collector();
    c->set_version(qprof::kCollectorVersion);
    c->set_frame_records(8192);
    c->set_frame_seconds(1);
    c->set_rotate_bytes(o_.rotate_mib << 20);
    c->set_bpf("auto (loaded)");
    c->set_io_stats(true);
    c->set_batch_rows(5000);
    c->set_syscall_tracing("off");
    h->set_file_index(file_index_ - 1);
    h->set_epoch(epoch_);
    writer_.append(record);

    for (uint32_t dbid : {16384u, 16385u}) {
        pb::Record rec;
        pb::CatalogSnapshot *cat = rec.mutable_catalog();
        cat->set_taken_unix_us(begin_us_);
        cat->set_database(dbid == 16384 ? "lava" : "lava_archive");
        cat->set_dbid(dbid);
        for (const Table &t : tables_) {
            pb::Relation *r = cat->add_relations();
            r->set_oid(t.oid);
            r->set_schema("public");
            r->set_name(t.name);
            r->set_kind("r");
            r->set_table_bytes(uint64_t(t.reltuples * 120));
            r->set_total_bytes(uint64_t(t.reltuples * 160));
            r->set_reltuples(t.reltuples);
            r->set_relpages(uint32_t(t.reltuples * 120 / 8192) + 1);
            r->set_n_live_tup(uint64_t(t.reltuples));
            r->set_n_dead_tup(t.dead);
            pb::Index *ix = cat->add_indexes();
            ix->set_oid(t.pkey_oid);
            ix->set_table_oid(t.oid);
            ix->set_schema("public");
            ix->set_name(t.name + "_pkey");
            ix->set_table(t.name);
            ix->set_definition("CREATE UNIQUE INDEX " + t.name +
                               "_pkey ON public." + t.name +
                               " USING btree (id)");
            ix->set_is_unique(true);
            ix->set_is_primary(true);
            ix->set_bytes(uint64_t(t.reltuples * 24));
            for (const Column &col : t.columns) {
                pb::ColumnStats *cs = cat->add_columns();
                cs->set_schema("public");
                cs->set_table(t.name);
                cs->set_column(col.name);
                cs->set_n_distinct(col.n_distinct);
                cs->set_avg_width(8);
                cs->set_correlation(0.1f);
            }
        }
        writer_.append(rec);
    }
    writer_.flush_frame();
}

void Synthesizer::close_frame() {
    if (encoder_.active() && encoder_.size() > 0) {
        std::string_view head, body;
        encoder_.record(&head, &body);
        writer_.append_encoded(head, body);
        file_samples_ += encoder_.size();
    }
    encoder_.end();
    writer_.flush_frame();
}

void Synthesizer::finish_file(bool more) {
    close_frame();
    pb::Trailer trailer;
    trailer.set_closed_unix_us(begin_us_);
    trailer.set_samples(file_samples_);
    trailer.set_first_seq(file_first_seq_);
    trailer.set_last_seq(file_samples_ > 0 ? seq_ : 0);
    trailer.set_next_file_index(more ? file_index_ : 0);
    writer_.close_file(trailer);
}

/* A server restart: the old ring's last samples are lost with it. */
void Synthesizer::change_epoch() {
    close_frame();
    uint64_t lost = 100 + rng_.below(900);
    pb::Record change;
    pb::EpochChange *e = change.mutable_epoch_change();
    e->set_previous_epoch(epoch_);
    e->set_previous_last_seq(seq_);
    e->set_new_epoch(epoch_ + 1);
    writer_.append(change);
    pb::Record loss;
    pb::Loss *l = loss.mutable_loss();
    l->set_epoch(epoch_);
    l->set_after_seq(seq_);
    l->set_count(lost);
    l->set_reason(pb::Loss::EPOCH_CHANGED);
    writer_.append(loss);
    lost_ += lost;
    ++epoch_;
    seq_ = 0;
    make_backends();
    close_frame();
}

/* The ring overwrote `count` samples before the collector read them. */
void Synthesizer::lose_samples(uint64_t count) {
    pb::Record loss;
    pb::Loss *l = loss.mutable_loss();
    l->set_epoch(epoch_);
    l->set_after_seq(seq_);
    l->set_count(count);
    l->set_reason(pb::Loss::OVERWRITTEN);
    writer_.append(loss);
    seq_ += count;
    lost_ += count;
}

uint32_t Synthesizer::next_statement(Backend &b) {
    if (b.app != 0) /* background jobs and ad-hoc sessions */
        return uint32_t(statement_zipf_.draw(rng_));
    if (b.route >= 0) {
        const Route &r = routes_[b.route];
        size_t total = r.statements.size() + size_t(r.loop_count);
        if (b.step < total) {
            size_t at = b.step++;
            return at < r.statements.size() ? r.statements[at]
                                            : uint32_t(r.loop_statement);
        }
    }
    /* a new request: its own traceparent, so its own tag set */
    b.route = int(route_zipf_.draw(rng_));
    b.step = 1;
    const Route &r = routes_[b.route];
    b.tags_json = "{\"controller\":\"" + r.controller + "\",\"route\":\"" +
                  r.route + "\",\"traceparent\":\"00-" + hex(rng_, 32) + "-" +
                  hex(rng_, 16) + "-01\"}";
    ++tag_sets_;
    return r.statements[0];
}

void Synthesizer::emit_actuals(const PlanShape &plan, double exec_ms,
                               uint64_t seq, double rows) {
    pb::Record record;
    pb::NodeActuals *a = record.mutable_node_actuals();
    a->set_epoch(epoch_);
    a->set_seq(seq);
    for (size_t i = 0; i < plan.nodes.size(); ++i) {
        const Node &n = plan.nodes[i];
        pb::PlanNode *p = a->add_nodes();
        p->set_node_id(uint32_t(i + 1));
        p->set_parent_node_id(n.parent);
        p->set_node_type(n.type);
        if (n.table >= 0) {
            const Table &t = tables_[n.table];
            p->set_relation("public." + t.name);
            p->set_relid(t.oid);
            if (n.by_index) {
                p->set_index_name("public." + t.name + "_pkey");
                p->set_indexid(t.pkey_oid);
            }
        }
        double actual = std::max(1.0, rows * n.rows_factor);
        p->set_plan_rows(n.plan_rows);
        p->set_actual_rows(actual);
        p->set_loops(1);
        p->set_total_time_ms(exec_ms * n.time_share);
        p->set_startup_time_ms(exec_ms * n.time_share * 0.1);
        p->set_shared_blks_hit(uint64_t(actual * 2));
        if (n.removed_per_row > 0)
            p->set_rows_removed_by_filter(actual * n.removed_per_row);
    }
    writer_.append(record);
    ++actuals_;
}

void Synthesizer::emit(Backend &b, uint32_t index, double progress,
                       uint32_t nesting, uint64_t parent_exec_id,
                       int64_t end_us) {
    const Statement &st = statements_[index];
    uint64_t exec_id = ++b.exec_id;
    if (st.nested >= 0 && nesting == 0) /* the inner statement ends first */
        emit(b, uint32_t(st.nested), progress, 1, exec_id, end_us - 5);

    size_t plan_index = 0;
    if (st.plans.size() > 1 && progress >= st.change_at)
        plan_index = st.plans.size() == 2 ? 1 : 1 + rng_.below(2);
    const PlanShape &plan = st.plans[plan_index];

    qprof::SampleRow row;
    row.seq = ++seq_;
    row.pid = b.pid;
    row.exec_id = exec_id;
    row.parent_exec_id = parent_exec_id;
    row.nesting_level = nesting;
    row.toplevel = nesting == 0;
    row.dbid = st.dbid;
    row.userid = b.app == 3 ? 10 : b.userid;
    row.application_name = kApps[b.app];
    row.client_addr = b.app == 3 ? "" : "10.0.0." + std::to_string(b.pid % 8);
    row.tags_json = (b.app == 0 && nesting == 0) ? b.tags_json : std::string();
    row.queryid = st.queryid;
    row.planid = static_cast<uint64_t>(plan.planid);
    row.cmd = st.cmd;
    double exec_us = st.mean_us * plan.slowdown * rng_.lognormal(0.6);
    row.exec_time_ns = uint64_t(exec_us * 1000);
    row.plan_time_ns = uint64_t(exec_us * 1000 * 0.03 * rng_.uniform());
    uint64_t duration_us = uint64_t(exec_us + row.plan_time_ns / 1000.0) + 1;
    row.end_unix_us = end_us;
    row.start_unix_us = end_us - int64_t(duration_us);
    double rows = std::floor(st.rows * rng_.lognormal(0.3));
    row.rows = uint64_t(rows);
    row.shared_blks_hit = uint64_t(st.hit * rng_.lognormal(0.3));
    row.shared_blks_read =
        st.read > 0 ? uint64_t(st.read * rng_.lognormal(0.8)) : 0;
    row.blk_read_time_ns = row.shared_blks_read * 80000;
    if (st.cmd != pb::CMD_SELECT) {
        row.shared_blks_dirtied = 1 + rng_.below(3);
        row.wal_records = 1 + rng_.below(4);
        row.wal_bytes = row.wal_records * 120;
    }
    if (st.temp_blocks > 0) {
        row.temp_blks_written = st.temp_blocks;
        row.temp_blks_read = st.temp_blocks;
    }
    if (st.error_rate > 0 && rng_.chance(st.error_rate))
        row.sqlstate = st.sqlstate;
    row.has_node_actuals = rng_.chance(o_.analyze_rate);

    qprof::ExecIo io;
    uint64_t exec_ns = row.exec_time_ns;
    io.offcpu_io_ns = uint64_t(exec_ns * st.io_share);
    io.offcpu_other_ns = uint64_t(exec_ns * 0.03);
    io.oncpu_ns = exec_ns - io.offcpu_io_ns - io.offcpu_other_ns;
    io.page_cache_miss_pages = row.shared_blks_read / 2;
    io.block_requests = row.shared_blks_read / 4;
    io.block_bytes = io.block_requests * 32768;
    io.block_device_ns = io.block_requests * 150000;

    qprof::SampleRefs refs;
    refs.application_name_id = defs_.string_id(row.application_name);
    refs.client_addr_id = defs_.string_id(row.client_addr);
    refs.tag_set_id = defs_.tag_set_id(row.tags_json);
    if (!defs_.has_query(st.queryid))
        defs_.add_query(st.queryid, st.text);
    refs.query_ref = defs_.query_ref(st.queryid);
    if (!defs_.has_plan(st.queryid, row.planid)) {
        pb::Plan p;
        p.set_planid(plan.planid);
        p.set_queryid(st.queryid);
        p.set_shape_id(plan.planid ^ 0x5555);
        p.set_plan_text(plan.text);
        p.set_plan_json(plan.json);
        defs_.add_plan(std::move(p));
    }
    refs.plan_ref = defs_.plan_ref(st.queryid, row.planid);

    if (!encoder_.active())
        encoder_.begin(epoch_, row.seq, row.start_unix_us);
    encoder_.add(row, refs, &io, false);
    if (row.has_node_actuals)
        emit_actuals(plan, exec_us / 1000, row.seq, rows);
    if (file_first_seq_ == 0)
        file_first_seq_ = row.seq;
    ++written_;
    if (encoder_.size() >= 8192)
        close_frame();
}

void Synthesizer::run() {
    make_tables();
    make_statements();
    make_routes();
    make_backends();
    begin_us_ = 1796601600ll * 1000000; /* 2026-12-07 00:00 UTC */
    const double span_us = o_.hours * 3600e6;
    const uint64_t per_epoch = o_.samples / uint64_t(std::max(1, o_.epochs));
    /* a burst of overwritten samples every ~2 million */
    const uint64_t loss_every = 2000000;
    uint64_t next_loss = loss_every / 2;
    start_file();
    int epoch_no = 0;
    while (written_ < o_.samples) {
        if (epoch_no + 1 < o_.epochs &&
            written_ >= per_epoch * (epoch_no + 1)) {
            change_epoch();
            ++epoch_no;
        }
        if (written_ >= next_loss) {
            lose_samples(200 + rng_.below(2000));
            next_loss += loss_every;
        }
        double progress = double(written_) / double(o_.samples);
        int64_t end_us = begin_us_ + int64_t(progress * span_us);
        Backend &b = backends_[rng_.below(backends_.size())];
        emit(b, next_statement(b), progress, 0, 0, end_us);
        if (encoder_.size() == 0 && writer_.wants_rotation()) {
            finish_file(true);
            start_file();
        }
    }
    finish_file(false);
    std::printf(
        "synth_capture: %llu samples, %zu statements, %llu plans, "
        "%llu requests (tag sets), %llu with node actuals, %llu "
        "lost, %d epochs, %llu files\n",
        (unsigned long long)written_, statements_.size(),
        [&] {
            unsigned long long n = 0;
            for (const Statement &st : statements_)
                n += st.plans.size();
            return n;
        }(),
        (unsigned long long)tag_sets_, (unsigned long long)actuals_,
        (unsigned long long)lost_, o_.epochs, (unsigned long long)files_);
}

[[noreturn]] void usage() {
    std::fprintf(stderr,
                 "usage: synth_capture --out DIR --samples N [--statements K]"
                 " [--epochs E]\n"
                 "                     [--hours H] [--seed S] "
                 "[--analyze-rate R] [--rotate-mib M]\n");
    std::exit(1);
}

} // namespace

int main(int argc, char **argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (i + 1 >= argc)
            usage();
        const char *v = argv[++i];
        if (a == "--out")
            o.out = v;
        else if (a == "--samples")
            o.samples = uint64_t(std::strtod(v, nullptr));
        else if (a == "--statements")
            o.statements = size_t(std::strtoull(v, nullptr, 10));
        else if (a == "--epochs")
            o.epochs = std::atoi(v);
        else if (a == "--hours")
            o.hours = std::strtod(v, nullptr);
        else if (a == "--seed")
            o.seed = std::strtoull(v, nullptr, 10);
        else if (a == "--analyze-rate")
            o.analyze_rate = std::strtod(v, nullptr);
        else if (a == "--rotate-mib")
            o.rotate_mib = std::strtoull(v, nullptr, 10);
        else
            usage();
    }
    if (o.out.empty() || o.samples == 0 || o.statements == 0 || o.epochs < 1)
        usage();
    try {
        Synthesizer(o).run();
    } catch (const std::exception &e) {
        std::fprintf(stderr, "synth_capture: %s\n", e.what());
        return 2;
    }
    return 0;
}
