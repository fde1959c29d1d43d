/*
 * report_json_statements.cpp — the statements listed in detail, the index
 * of every statement in columns, and the rankings. docs/report-json.md.
 */
#include "report_json_document.h"
#include "sqlstate.h"

namespace qprof {

namespace pb = capture::v1;

namespace {

/* Characters of a statement's text in the index. */
constexpr size_t kIndexTextChars = 60;

/* The first `chars` characters of `text` on one line (runs of white
 * space as one blank), cut on a UTF-8 character boundary. */
std::string text_prefix(const std::string &text, size_t chars) {
    std::string out;
    size_t shown = 0;
    bool blank = false;
    for (size_t i = 0; i < text.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            blank = !out.empty();
            continue;
        }
        bool starts_char = (c & 0xC0) != 0x80;
        if (starts_char) {
            if (shown + (blank ? 1 : 0) >= chars)
                break;
            if (blank) {
                out += ' ';
                ++shown;
                blank = false;
            }
            ++shown;
        }
        out += static_cast<char>(c);
    }
    return out;
}

/* A statement's command as the document spells it. */
const char *cmd_name(int cmd) {
    switch (cmd) {
    case pb::CMD_SELECT:
        return "SELECT";
    case pb::CMD_UPDATE:
        return "UPDATE";
    case pb::CMD_INSERT:
        return "INSERT";
    case pb::CMD_DELETE:
        return "DELETE";
    case pb::CMD_MERGE:
        return "MERGE";
    case pb::CMD_UTILITY:
        return "UTILITY";
    default:
        return "UNKNOWN";
    }
}

} // namespace

void JsonReport::statements() {
    w_.key("statements").begin_array();
    double running = 0;
    std::vector<double> cumulative(p_.statements.size(), -1);
    for (size_t i = 0; i < sel_.by_total.size() && i < o_.top; ++i) {
        running += p_.statements[sel_.by_total[i]].toplevel_ns;
        cumulative[sel_.by_total[i]] = a_.share(running);
    }
    const DimensionStats *routes = p_.dimension(Dimension::Route);
    for (uint32_t stmt : sel_.statements) {
        const StatementStats &st = p_.statements[stmt];
        w_.begin_object();
        w_.field("key", sel_.skey(stmt));
        w_.field("server", a_.set.servers()[st.server].key);
        w_.field("queryid", std::to_string(st.queryid));
        w_.field("dbid", st.dbid);
        const pb::CatalogSnapshot *snap =
            a_.set.servers()[st.server].catalog(st.dbid);
        w_.key("database");
        snap ? w_.value(snap->database()) : w_.null();
        w_.field("text", a_.text_of(stmt));
        w_.field("cmd", cmd_name(st.cmd));
        w_.field("rank", sel_.rank[stmt]);
        w_.field("share", a_.share(st.toplevel_ns));
        w_.key("cumulative_share");
        cumulative[stmt] >= 0 ? w_.value(cumulative[stmt]) : w_.null();
        aggregate(st.all);
        w_.key("histogram").begin_array();
        for (uint64_t c : st.all.latency.coarse_counts())
            w_.value(c);
        w_.end_array();
        w_.key("plans").begin_array();
        for (uint32_t plan : st.plans)
            w_.value(sel_.pkey(plan));
        w_.end_array();
        w_.key("routes").begin_array();
        if (routes != nullptr)
            for (size_t i = 0;
                 i < routes->by_statement[stmt].size() && i < kTopPerGroup;
                 ++i) {
                const auto &entry = routes->by_statement[stmt][i];
                w_.begin_object();
                w_.field("name", routes->groups[entry.first].name);
                w_.field("calls", entry.second.calls);
                w_.field("total_ms", entry.second.total_ns / 1e6);
                w_.end_object();
            }
        w_.end_array();
        w_.key("errors_by_sqlstate").begin_array();
        for (const auto &e : st.errors) {
            w_.begin_object();
            w_.field("sqlstate", e.first);
            w_.field("name", sqlstate_name(e.first));
            w_.field("count", e.second);
            w_.end_object();
        }
        w_.end_array();
        w_.end_object();
    }
    w_.end_array();
}

/* Every statement, by total time, in columns: what a table of all of
 * them needs (about 120 bytes a statement), the detail staying in
 * "statements" for the listed ones only. docs/report-json.md. */
void JsonReport::statement_index() {
    const std::vector<uint32_t> &order = sel_.by_total;
    auto column = [&](const char *name, auto value_of) {
        w_.key(name).begin_array();
        for (uint32_t stmt : order)
            value_of(stmt, p_.statements[stmt]);
        w_.end_array();
    };
    w_.key("statement_index").begin_object();
    w_.field("count", static_cast<uint64_t>(order.size()));
    w_.field("text_chars", static_cast<uint64_t>(kIndexTextChars));
    column("key", [&](uint32_t stmt, const StatementStats &) {
        sel_.statement_key[stmt] >= 0 ? w_.value(sel_.skey(stmt)) : w_.null();
    });
    column("queryid", [&](uint32_t, const StatementStats &st) {
        w_.value(std::to_string(st.queryid));
    });
    column("calls",
           [&](uint32_t, const StatementStats &st) { w_.value(st.all.calls); });
    column("total_ms", [&](uint32_t, const StatementStats &st) {
        w_.value(st.all.total_ns / 1e6);
    });
    column("mean_ms", [&](uint32_t, const StatementStats &st) {
        w_.value(st.all.mean_ns() / 1e6);
    });
    column("p95_ms", [&](uint32_t, const StatementStats &st) {
        w_.value(st.all.latency.quantile_ns(0.95) / 1e6);
    });
    column("rows",
           [&](uint32_t, const StatementStats &st) { w_.value(st.all.rows); });
    column("errors", [&](uint32_t, const StatementStats &st) {
        w_.value(st.all.errors);
    });
    column("shared_blks_read", [&](uint32_t, const StatementStats &st) {
        w_.value(st.all.shared_blks_read);
    });
    column("text", [&](uint32_t stmt, const StatementStats &) {
        w_.value(text_prefix(a_.text_of(stmt), kIndexTextChars));
    });
    w_.end_object();
}

void JsonReport::rankings() {
    w_.key("rankings").begin_object();
    for (const Ranking &r : sel_.rankings) {
        w_.key(r.name).begin_array();
        for (uint32_t s : r.statements)
            w_.value(sel_.skey(s));
        w_.end_array();
    }
    w_.end_object();
}

} // namespace qprof
