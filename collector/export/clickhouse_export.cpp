#include "clickhouse_export.h"
#include "clickhouse_schema.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>

namespace qprof {

namespace pb = capture::v1;

namespace {

void add_number(std::string &row, uint64_t value) {
    char buf[24];
    auto end = std::to_chars(buf, buf + sizeof buf, value).ptr;
    row.append(buf, end);
    row += '\t';
}

void add_signed(std::string &row, int64_t value) {
    char buf[24];
    auto end = std::to_chars(buf, buf + sizeof buf, value).ptr;
    row.append(buf, end);
    row += '\t';
}

void add_double(std::string &row, double value) {
    char buf[32];
    snprintf(buf, sizeof buf, "%.17g", value);
    row += buf;
    row += '\t';
}

void add_text(std::string &row, const std::string &value) {
    tsv_append(row, value);
    row += '\t';
}

/* The row ends with its last field: its tab becomes the line's end. */
void end_row(std::string &row) {
    row.back() = '\n';
}

/* The Enum8 value of samples.cmd (TabSeparated takes the name). */
const char *cmd_name(int cmd) {
    static const char *const names[] = {"unknown", "select", "update", "insert",
                                        "delete",  "merge",  "utility"};
    return cmd >= 0 && cmd <= 6 ? names[cmd] : names[0];
}

/* A wait event class's slot as the report keeps it: 1-10 PostgreSQL's
 * classes, 11 any class above (capture::v1::WaitClass). */
uint32_t wait_class_slot(int cls) {
    return cls >= 0 && cls <= 11 ? static_cast<uint32_t>(cls) : 11;
}

struct WaitClassRow {
    uint32_t slot;
    uint64_t ns, count;
};

/* wait_classes, their ns and their counts: three arrays */
void add_wait_classes(std::string &row,
                      const std::vector<WaitClassRow> &classes) {
    for (int part = 0; part < 3; ++part) {
        row += '[';
        for (size_t i = 0; i < classes.size(); ++i) {
            if (i > 0)
                row += ',';
            const WaitClassRow &c = classes[i];
            row += std::to_string(part == 0   ? c.slot
                                  : part == 1 ? c.ns
                                              : c.count);
        }
        row += "]\t";
    }
}

const char *loss_reason(pb::Loss::Reason reason) {
    switch (reason) {
    case pb::Loss::OVERWRITTEN:
        return "overwritten";
    case pb::Loss::RESET:
        return "reset";
    case pb::Loss::EPOCH_CHANGED:
        return "epoch_changed";
    default:
        return "unknown";
    }
}

} // namespace

uint64_t clickhouse_server_id(const pb::ServerIdentity &identity) {
    if (identity.system_identifier() != 0)
        return identity.system_identifier();
    std::string name = identity.host() + ":" + std::to_string(identity.port()) +
                       "/" + identity.cluster_name();
    uint64_t hash = 14695981039346656037ull;
    for (unsigned char c : name) {
        hash ^= c;
        hash *= 1099511628211ull;
    }
    return hash | (1ull << 63);
}

void CatalogSnapshotsSent::add(const Key &key) {
    if (sent_.size() >= kMaxKept)
        sent_.clear();
    sent_.insert(key);
}

CaptureExporter::CaptureExporter(CaptureSet &set,
                                 const ClickHouseClient &client,
                                 const ExportOptions &options,
                                 CatalogSnapshotsSent *snapshots_sent)
    : set_(set), client_(client), options_(options),
      route_key_(set.intern("route")),
      controller_key_(set.intern("controller")),
      snapshots_sent_(snapshots_sent ? *snapshots_sent : own_snapshots_sent_) {}

uint64_t CaptureExporter::server_id(uint32_t server) {
    while (server_ids_.size() <= server)
        server_ids_.push_back(
            clickhouse_server_id(set_.servers()[server_ids_.size()].identity));
    return server_ids_[server];
}

const std::string &CaptureExporter::database_name(uint32_t server,
                                                  uint32_t dbid) {
    uint64_t key = static_cast<uint64_t>(server) << 32 | dbid;
    auto found = database_names_.find(key);
    if (found != database_names_.end())
        return found->second;
    const pb::CatalogSnapshot *snap = set_.servers()[server].catalog(dbid);
    std::string name;
    if (snap != nullptr)
        name = snap->database();
    /* not kept when unknown: a later catalog snapshot may name it */
    if (name.empty()) {
        static const std::string none;
        return none;
    }
    return database_names_.emplace(key, name).first->second;
}

void CaptureExporter::sample(const ResolvedSample &r) {
    if (produced_.samples++ < sent_.samples) {
        pair_actuals(r); /* its actuals may come in what is new */
        return;
    }
    const DecodedSample &d = *r.decoded;
    const SampleFields &s = d.sample;
    std::string &row = samples_;
    add_number(row, server_id(r.server));
    add_number(row, d.epoch);
    add_number(row, d.seq);
    add_signed(row, d.start_unix_us);
    add_number(row, static_cast<uint64_t>(d.end_unix_us - d.start_unix_us));
    add_signed(row, d.pid);
    add_number(row, d.exec_id);
    add_number(row, d.parent_exec_id);
    add_number(row, s.nesting_level());
    add_number(row, s.toplevel() ? 1 : 0);
    add_number(row, s.has_node_actuals() ? 1 : 0);
    add_number(row, s.dbid());
    add_text(row, database_name(r.server, s.dbid()));
    add_number(row, s.userid());
    add_text(row, set_.string(r.application_name));
    add_text(row, set_.string(r.client_addr));
    const TagSetDefinition *tags = r.tags;
    add_text(row, tags ? set_.string(tags->value_of(route_key_)) : "");
    add_text(row, tags ? set_.string(tags->value_of(controller_key_)) : "");
    bool has_request = tags != nullptr && !tags->request.empty();
    add_text(row, has_request ? tags->request : "");
    add_text(row, has_request ? set_.string(tags->request_key) : "");
    /* the tags but the request's id, which has its column */
    for (int side = 0; side < 2; ++side) {
        row += '[';
        if (tags != nullptr) {
            bool first = true;
            for (const auto &tag : tags->tags) {
                if (!first)
                    row += ',';
                first = false;
                tsv_append_quoted(
                    row, set_.string(side == 0 ? tag.first : tag.second));
            }
        }
        row += "]\t";
    }
    add_signed(
        row, r.statement_text ? set_.texts()[r.statement_text - 1].queryid : 0);
    add_signed(row, r.plan ? set_.plans()[r.plan - 1].plan.planid() : 0);
    add_text(row, cmd_name(s.cmd()));
    add_double(row, r.weight);
    add_number(row, s.plan_time_ns());
    add_number(row, s.exec_time_ns());
    add_number(row, s.rows());
    add_number(row, s.shared_blks_hit());
    add_number(row, s.shared_blks_read());
    add_number(row, s.shared_blks_dirtied());
    add_number(row, s.shared_blks_written());
    add_number(row, s.local_blks_hit());
    add_number(row, s.local_blks_read());
    add_number(row, s.local_blks_dirtied());
    add_number(row, s.local_blks_written());
    add_number(row, s.temp_blks_read());
    add_number(row, s.temp_blks_written());
    add_number(row, s.blk_read_time_ns());
    add_number(row, s.blk_write_time_ns());
    add_number(row, s.temp_blk_read_time_ns());
    add_number(row, s.temp_blk_write_time_ns());
    add_number(row, s.wal_records());
    add_number(row, s.wal_fpi());
    add_number(row, s.wal_bytes());
    add_number(row, s.jit_functions());
    add_number(row, s.jit_generation_time_ns() + s.jit_inlining_time_ns() +
                        s.jit_optimization_time_ns() +
                        s.jit_emission_time_ns());
    add_number(row, s.parallel_workers_planned());
    add_number(row, s.parallel_workers_launched());
    add_text(row, s.sqlstate() == "00000" ? "" : s.sqlstate());
    const IoFields &io = s.io();
    add_number(row, s.has_io() ? 1 : 0);
    add_number(row, io.oncpu_ns());
    add_number(row, io.offcpu_io_wait_ns());
    add_number(row, io.offcpu_other_ns());
    add_number(row, io.runqueue_ns());
    add_number(row, io.runqueue_waits());
    add_number(row, io.page_cache_misses());
    add_number(row, io.readahead_pages());
    add_number(row, io.block_requests());
    add_number(row, io.block_bytes());
    add_number(row, io.block_latency_ns());
    add_number(row, io.read_syscalls());
    add_number(row, io.read_bytes());
    add_number(row, io.read_latency_ns());
    add_number(row, io.write_syscalls());
    add_number(row, io.write_bytes());
    add_number(row, io.write_latency_ns());
    add_number(row, io.fsync_calls());
    add_number(row, io.fsync_latency_ns());
    for (int part = 0; part < 4; ++part) {
        row += '[';
        bool first = true;
        for (const WaitEventFields &w : io.wait_events()) {
            if (!first)
                row += ',';
            first = false;
            if (part == 0)
                tsv_append_quoted(row, w.name().empty()
                                           ? std::to_string(w.wait_event_info())
                                           : std::string(w.name()));
            else
                row += std::to_string(part == 1   ? w.ns()
                                      : part == 2 ? w.count()
                                                  : w.wait_event_info());
        }
        row += "]\t";
    }
    add_number(row, io.other_wait_events_ns());
    add_number(row, io.other_wait_events_count());
    /* the kernel's split by class, slot 0 off the CPU with no wait event */
    std::vector<WaitClassRow> classes;
    for (const WaitClassFields &c : io.wait_classes())
        classes.push_back({wait_class_slot(c.wait_class()), c.ns(), c.count()});
    if (io.offcpu_no_wait_event_ns() > 0 || io.offcpu_no_wait_event_count() > 0)
        classes.push_back(
            {0, io.offcpu_no_wait_event_ns(), io.offcpu_no_wait_event_count()});
    add_wait_classes(row, classes);
    /* the waits the extension sampled, by class */
    const SampledWaitsFields &sampled = s.sampled_waits();
    add_number(row, s.has_sampled_waits() ? sampled.interval_us() : 0);
    classes.clear();
    for (const WaitClassFields &c : sampled.classes())
        if (c.wait_class() > 0)
            classes.push_back(
                {wait_class_slot(c.wait_class()), c.ns(), c.count()});
    add_wait_classes(row, classes);
    end_row(row);
    pair_actuals(r);
    ++buffered_;
    if (buffered_ >= options_.batch_rows ||
        samples_.size() >= options_.batch_bytes)
        flush_samples();
}

/* A sample with actuals is paired with them, whichever comes first. */
void CaptureExporter::pair_actuals(const ResolvedSample &r) {
    const DecodedSample &d = *r.decoded;
    if (!d.sample.has_node_actuals())
        return;
    SampleKey key{r.server, d.epoch, d.seq};
    auto early = waiting_actuals_.find(key);
    if (early != waiting_actuals_.end()) {
        add_actuals(key, d.start_unix_us, early->second);
        waiting_actuals_.erase(early);
    } else {
        if (waiting_samples_.size() >= kMaxPendingActuals)
            waiting_samples_.clear();
        waiting_samples_[key] = d.start_unix_us;
    }
}

void CaptureExporter::node_actuals(uint32_t server,
                                   const pb::NodeActuals &actuals) {
    SampleKey key{server, actuals.epoch(), actuals.seq()};
    auto found = waiting_samples_.find(key);
    if (found == waiting_samples_.end()) {
        if (waiting_actuals_.size() >= kMaxPendingActuals)
            waiting_actuals_.clear();
        waiting_actuals_[key] = actuals;
        return;
    }
    add_actuals(key, found->second, actuals);
    waiting_samples_.erase(found);
}

/* One row per plan node of an execution's actuals. */
void CaptureExporter::add_actuals(const SampleKey &key, int64_t start_unix_us,
                                  const pb::NodeActuals &actuals) {
    if (produced_.node_actuals++ < sent_.node_actuals)
        return;
    std::string &row = actuals_;
    for (const pb::PlanNode &node : actuals.nodes()) {
        add_number(row, server_id(key.server));
        add_number(row, key.epoch);
        add_number(row, key.seq);
        add_signed(row, start_unix_us);
        add_number(row, node.node_id());
        add_number(row, node.parent_node_id());
        add_text(row, node.node_type());
        add_text(row, node.relation());
        add_text(row, node.index_name());
        add_double(row, node.plan_rows());
        add_double(row, node.actual_rows());
        add_double(row, node.loops());
        add_double(row, node.total_time_ms());
        add_number(row, node.shared_blks_hit());
        add_number(row, node.shared_blks_read());
        add_double(row, node.rows_removed_by_filter());
        add_double(row, node.rows_removed_by_join_filter());
        add_number(row, node.temp_blks_read());
        add_number(row, node.temp_blks_written());
        end_row(row);
    }
    ++stats_.node_actuals;
    if (actuals_.size() >= options_.batch_bytes)
        send("node_actuals_local", kNodeActualsColumns, actuals_);
}

/* A snapshot not sent yet: a row for it, a row per relation, index,
 * column statistics and setting, each keyed by (server_id, dbid,
 * taken_unix_us) and the item. */
void CaptureExporter::catalog(uint32_t server,
                              const pb::CatalogSnapshot &snap) {
    CatalogSnapshotsSent::Key snapshot{server_id(server), snap.dbid(),
                                       snap.taken_unix_us()};
    if (snapshots_sent_.contains(snapshot) ||
        !snapshots_buffered_.insert(snapshot).second)
        return;
    auto key = [&](std::string &row) {
        add_number(row, server_id(server));
        add_number(row, snap.dbid());
        add_signed(row, snap.taken_unix_us());
    };
    /* a snapshot without settings (not written by the collector) gets those of
     * its server's header, which the report of files reads */
    std::vector<pb::Setting> settings(snap.settings().begin(),
                                      snap.settings().end());
    if (settings.empty())
        settings = set_.servers()[server].settings;
    std::string &head = catalog_snapshots_;
    key(head);
    add_text(head, snap.database());
    add_number(head, static_cast<uint64_t>(snap.relations_size()));
    add_number(head, static_cast<uint64_t>(snap.indexes_size()));
    add_number(head, static_cast<uint64_t>(snap.columns_size()));
    add_number(head, settings.size());
    end_row(head);
    for (const pb::Relation &r : snap.relations()) {
        std::string &row = catalog_relations_;
        key(row);
        add_number(row, r.oid());
        add_text(row, r.schema());
        add_text(row, r.name());
        add_text(row, r.kind());
        add_number(row, r.total_bytes());
        add_number(row, r.table_bytes());
        add_double(row, r.reltuples());
        add_number(row, r.relpages());
        add_number(row, r.seq_scan());
        add_number(row, r.idx_scan());
        add_number(row, r.n_live_tup());
        add_number(row, r.n_dead_tup());
        end_row(row);
    }
    for (const pb::Index &x : snap.indexes()) {
        std::string &row = catalog_indexes_;
        key(row);
        add_number(row, x.oid());
        add_number(row, x.table_oid());
        add_text(row, x.schema());
        add_text(row, x.name());
        add_text(row, x.table());
        add_text(row, x.definition());
        add_number(row, x.bytes());
        add_number(row, x.is_unique() ? 1 : 0);
        add_number(row, x.is_primary() ? 1 : 0);
        add_number(row, x.idx_scan());
        end_row(row);
    }
    for (const pb::ColumnStats &c : snap.columns()) {
        std::string &row = catalog_columns_;
        key(row);
        add_text(row, c.schema());
        add_text(row, c.table());
        add_text(row, c.column());
        add_double(row, c.null_frac());
        add_double(row, c.n_distinct());
        add_double(row, c.correlation());
        add_signed(row, c.avg_width());
        row += '[';
        for (int i = 0; i < c.most_common_vals_size(); ++i) {
            if (i > 0)
                row += ',';
            tsv_append_quoted(row, c.most_common_vals(i));
        }
        row += "]\t[";
        for (int i = 0; i < c.most_common_freqs_size(); ++i) {
            char buf[32];
            snprintf(buf, sizeof buf, "%s%.9g", i > 0 ? "," : "",
                     static_cast<double>(c.most_common_freqs(i)));
            row += buf;
        }
        row += "]\t";
        end_row(row);
    }
    for (const pb::Setting &setting : settings) {
        std::string &row = catalog_settings_;
        key(row);
        add_text(row, setting.name());
        add_text(row, setting.value());
        add_text(row, setting.unit());
        end_row(row);
    }
    ++stats_.catalog_snapshots;
    size_t buffered = catalog_snapshots_.size() + catalog_relations_.size() +
                      catalog_indexes_.size() + catalog_columns_.size() +
                      catalog_settings_.size();
    if (buffered >= options_.batch_bytes)
        flush_catalogs();
}

/* The items before their snapshot's row: a report that finds the row
 * finds its items. */
void CaptureExporter::flush_catalogs() {
    send("catalog_relations_local", kCatalogRelationColumns,
         catalog_relations_);
    send("catalog_indexes_local", kCatalogIndexColumns, catalog_indexes_);
    send("catalog_columns_local", kCatalogColumnColumns, catalog_columns_);
    send("catalog_settings_local", kCatalogSettingColumns, catalog_settings_);
    send("catalog_snapshots_local", kCatalogSnapshotColumns,
         catalog_snapshots_);
    /* only once ClickHouse has them: a file that failed is loaded again */
    for (const CatalogSnapshotsSent::Key &key : snapshots_buffered_)
        snapshots_sent_.add(key);
    snapshots_buffered_.clear();
}

void CaptureExporter::loss(uint32_t server, const pb::Loss &loss) {
    if (produced_.losses++ < sent_.losses)
        return;
    add_number(losses_, server_id(server));
    add_number(losses_, loss.epoch());
    add_number(losses_, loss.after_seq());
    add_text(losses_, loss_reason(loss.reason()));
    add_number(losses_, loss.count());
    add_signed(losses_, loss.detected_unix_us());
    end_row(losses_);
    ++stats_.losses;
}

void CaptureExporter::epoch_change(uint32_t server,
                                   const pb::EpochChange &change) {
    if (produced_.epoch_changes++ < sent_.epoch_changes)
        return;
    add_number(epoch_changes_, server_id(server));
    add_number(epoch_changes_, change.previous_epoch());
    add_number(epoch_changes_, change.previous_last_seq());
    add_number(epoch_changes_, change.new_epoch());
    add_signed(epoch_changes_, change.detected_unix_us());
    end_row(epoch_changes_);
    ++stats_.epoch_changes;
}

void CaptureExporter::send(const char *table, const char *columns,
                           std::string &rows) {
    if (rows.empty())
        return;
    client_.insert(table, columns, rows);
    ++stats_.inserts;
    stats_.bytes_sent += rows.size();
    rows.clear();
}

void CaptureExporter::flush_samples() {
    send("samples_local", kSampleColumns, samples_);
    stats_.samples += buffered_;
    buffered_ = 0;
}

void CaptureExporter::finish() {
    flush_samples();
    send("node_actuals_local", kNodeActualsColumns, actuals_);
    send("losses_local",
         "server_id, epoch, after_seq, reason, count, detected_unix_us",
         losses_);
    send("epoch_changes_local",
         "server_id, previous_epoch, previous_last_seq, new_epoch, "
         "detected_unix_us",
         epoch_changes_);
    flush_catalogs();

    std::string rows;
    const std::vector<StatementText> &texts = set_.texts();
    for (size_t i = sent_.texts; i < texts.size(); ++i) {
        const StatementText &t = texts[i];
        add_number(rows, server_id(t.server));
        add_signed(rows, t.queryid);
        add_text(rows, t.text);
        add_number(rows, t.text.size());
        end_row(rows);
        ++stats_.texts;
        if (rows.size() >= options_.batch_bytes)
            send("statements_local", "server_id, queryid, text, text_length",
                 rows);
    }
    send("statements_local", "server_id, queryid, text, text_length", rows);

    const char *plan_columns =
        "server_id, queryid, planid, shape_id, plan_text, plan_json";
    const std::vector<PlanDefinition> &plans = set_.plans();
    for (size_t i = sent_.plans; i < plans.size(); ++i) {
        const PlanDefinition &p = plans[i];
        add_number(rows, server_id(p.server));
        add_signed(rows, p.plan.queryid());
        add_signed(rows, p.plan.planid());
        add_signed(rows, p.plan.shape_id());
        add_text(rows, p.plan.plan_text());
        add_text(rows, p.plan.plan_json());
        end_row(rows);
        ++stats_.plans;
        if (rows.size() >= options_.batch_bytes)
            send("plans_local", plan_columns, rows);
    }
    send("plans_local", plan_columns, rows);

    time_t now = time(nullptr);
    struct tm tm;
    gmtime_r(&now, &tm);
    char exported_at[32];
    strftime(exported_at, sizeof exported_at, "%Y-%m-%d %H:%M:%S", &tm);
    for (uint32_t i = static_cast<uint32_t>(sent_.servers);
         i < set_.servers().size(); ++i) {
        const CaptureServer &s = set_.servers()[i];
        const pb::ServerIdentity &id = s.identity;
        add_number(rows, server_id(i));
        add_number(rows, id.system_identifier());
        add_text(rows, s.label);
        add_text(rows, id.version());
        add_number(rows, id.version_num());
        add_text(rows, id.host());
        add_number(rows, id.port() <= 65535 ? id.port() : 0);
        add_text(rows, id.database());
        add_text(rows, id.cluster_name());
        add_text(rows, id.server_addr());
        add_text(rows, id.collector_host());
        add_double(rows, s.sample_rate);
        add_text(rows, exported_at);
        end_row(rows);
        ++stats_.servers;
    }
    send("servers_local",
         "server_id, system_identifier, label, version, version_num, host, "
         "port, database, cluster_name, server_addr, collector_host, "
         "sample_rate, exported_at",
         rows);
    produced_.texts = std::max<uint64_t>(sent_.texts, texts.size());
    produced_.plans = std::max<uint64_t>(sent_.plans, plans.size());
    produced_.servers =
        std::max<uint64_t>(sent_.servers, set_.servers().size());
    /* a set read further (a file followed) has these sent at the next
     * finish() only when new */
    sent_.texts = produced_.texts;
    sent_.plans = produced_.plans;
    sent_.servers = produced_.servers;
}

ExportStats export_capture_set(CaptureSet &set, const ClickHouseClient &client,
                               const ExportOptions &options,
                               CatalogSnapshotsSent *snapshots_sent) {
    CaptureExporter exporter(set, client, options, snapshots_sent);
    set.read(exporter);
    exporter.finish();
    return exporter.stats();
}

} // namespace qprof
