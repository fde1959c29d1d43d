#include "profile.h"
#include "errors.h"
#include "sample_key.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <new>
#include <type_traits>

namespace qprof {

namespace pb = capture::v1;

const DimensionStats *Profile::dimension(Dimension d) const {
    for (const DimensionStats &dim : dimensions)
        if (dim.dimension == d)
            return &dim;
    return nullptr;
}

namespace {

struct StatementKey {
    uint32_t server, dbid, text;
    int cmd;
    bool operator==(const StatementKey &o) const {
        return server == o.server && dbid == o.dbid && text == o.text &&
               cmd == o.cmd;
    }
};

struct PendingActuals {
    uint32_t plan; /* index in Profile::plans */
};

/* The request a backend is serving, while its statements arrive. */
struct OpenRequest {
    std::string request;
    uint32_t route = 0;
    uint64_t statements = 0;
    struct Count {
        uint32_t statement;
        uint32_t executions;
        double ns;
    };
    std::vector<Count> counts;
};

/* What the aggregation needs of a sample that the sample alone decides,
 * made on the thread that reads the samples (SamplePreparer) with a
 * weight of 1, so that the aggregating thread, the busier one, only adds
 * it up. A file sampled at another rate has its view made again with its
 * weight on the aggregating thread: its sums get the same additions as
 * before. */
struct alignas(64) PreparedSample {
    /* with the view's first fields, one cache line */
    uint32_t coarse_bucket; /* LatencyHistogram::coarse_bucket_of */
    bool lock_facts;        /* kernel facts or sampled waits */
    bool takes_row_locks;   /* LockWindows::takes_row_locks */
    uint64_t lock_wait_ns;  /* LockWindows::lock_wait_ns */
    uint64_t temp_blks_written;
    ExecutionView view;

    void set(const SampleFields &s) {
        coarse_bucket = LatencyHistogram::coarse_bucket_of(s.plan_time_ns() +
                                                           s.exec_time_ns());
        lock_facts = s.has_io() || s.has_sampled_waits();
        takes_row_locks = LockWindows::takes_row_locks(s);
        lock_wait_ns = LockWindows::lock_wait_ns(s);
        temp_blks_written = s.temp_blks_written();
        view.set(s, 1);
    }
};
static_assert(std::is_trivially_destructible_v<PreparedSample>,
              "a prepared sample's place is reused, never destroyed");

class ProfileBuilder : public CaptureVisitor, public SamplePreparer {
  public:
    ProfileBuilder(CaptureSet &set, Profile &p) : set_(set), p_(p) {
        add_dimension(Dimension::Route, "route", "route");
        add_dimension(Dimension::Controller, "controller", "controller");
        add_dimension(Dimension::App, "app", "");
        add_dimension(Dimension::User, "user", "");
        add_dimension(Dimension::Db, "db", "");
        const std::string &g = p_.filters.group_by;
        if (g == "route" || g.empty())
            p_.group_by = 0;
        else if (g == "controller")
            p_.group_by = 1;
        else if (g == "app")
            p_.group_by = 2;
        else if (g == "user")
            p_.group_by = 3;
        else if (g == "db")
            p_.group_by = 4;
        else if (g.compare(0, 4, "tag:") == 0 && g.size() > 4) {
            add_dimension(Dimension::Tag, g, g.substr(4));
            p_.group_by = 5;
        } else {
            throw UsageError("--group-by takes route, controller, app, user, "
                             "db or tag:NAME, not " +
                             g);
        }
        route_key_ = set_.intern("route");
        filter_route_ = set_.intern(p_.filters.route);
        filter_app_ = set_.intern(p_.filters.app);
        if (!p_.filters.user.empty()) {
            std::string user = p_.filters.user;
            if (user.compare(0, 7, "userid ") == 0)
                user = user.substr(7);
            char *end = nullptr;
            unsigned long oid = std::strtoul(user.c_str(), &end, 10);
            if (end == user.c_str() || *end != '\0')
                throw UsageError(
                    "--user takes a role OID (the capture holds no role "
                    "names), not " +
                    p_.filters.user);
            filter_user_ = static_cast<uint32_t>(oid);
        }
        p_.heatmap.resize(LatencyHistogram::coarse_bounds_ms().size() + 1);
    }

    const SamplePreparer *preparer() const override { return this; }
    size_t prepared_bytes() const override { return sizeof(PreparedSample); }
    void prepare(const DecodedSample &d, void *out) const override {
        (new (out) PreparedSample)->set(d.sample);
    }

    void sample(const ResolvedSample &r) override {
        const DecodedSample &d = *r.decoded;
        const SampleFields &s = d.sample;
        ++p_.samples_read;
        if (!passes_filters(r, d, s)) {
            ++p_.samples_filtered_out;
            return;
        }
        ++p_.samples_used;
        if (p_.samples_used == 1 || d.start_unix_us < p_.first_unix_us)
            p_.first_unix_us = d.start_unix_us;
        if (d.end_unix_us > p_.last_unix_us)
            p_.last_unix_us = d.end_unix_us;

        const PreparedSample *prepared =
            static_cast<const PreparedSample *>(d.prepared);
        if (prepared == nullptr) { /* a sample block protobuf read */
            unprepared_.set(s);
            prepared = &unprepared_;
        }
        const ExecutionView *view = &prepared->view;
        if (r.weight != 1) {
            reweighted_.set(s, r.weight);
            view = &reweighted_;
        }
        const ExecutionView &e = *view;
        int64_t interval = p_.grid.interval_of(d.start_unix_us);

        uint32_t stmt = statement_of(r, s);
        uint32_t plan = r.plan != 0 ? plan_of(r.plan, stmt) : kNoPlan;
        StatementStats &st = p_.statements[stmt];
        /* an execution with a plan of its statement's is summed in the
         * plan's aggregate only, and a statement's counts, sums and
         * latencies are its plans' added in finish() to those of its
         * other executions: one aggregate less to touch. (A plan is its
         * first statement's: the same text in another database may run
         * it too.) */
        if (plan != kNoPlan && p_.plans[plan].statement == stmt)
            st.all.add_series_and_waits(e, interval, p_.grid);
        else
            st.all.add(e, interval, p_.grid);
        st.max_temp_blks_written =
            std::max(st.max_temp_blks_written, prepared->temp_blks_written);
        if (e.error)
            count_error(st, s.sqlstate(), e.weight);

        if (prepared->lock_facts)
            p_.lock_windows.add({r.server, s.dbid(), stmt, d.pid,
                                 d.start_unix_us, d.end_unix_us, e.weight,
                                 prepared->takes_row_locks,
                                 prepared->lock_wait_ns});

        if (plan != kNoPlan) {
            PlanStats &ps = p_.plans[plan];
            bool first = ps.all.executions == 0 && !has_other_statements(plan);
            /* no series: no renderer shows a plan's */
            if (ps.statement == stmt)
                ps.all.add(e, interval, p_.grid, false, false);
            else
                other_statements_of(plan).add(e, interval, p_.grid, false,
                                              false);
            if (first || d.start_unix_us < ps.first_unix_us)
                ps.first_unix_us = d.start_unix_us;
            ps.last_unix_us = std::max(ps.last_unix_us, d.start_unix_us);
            if (s.has_node_actuals()) {
                /* the collector writes the actuals before or after the
                 * sample: whichever comes second joins them */
                SampleKey key{r.server, d.epoch, d.seq};
                auto early = early_actuals_.find(key);
                if (early != early_actuals_.end()) {
                    add_actuals(plan, early->second);
                    early_actuals_.erase(early);
                } else {
                    if (pending_.size() > kMaxPendingActuals)
                        pending_.clear();
                    pending_[key] = {plan};
                }
            }
        }
        if (!s.toplevel())
            return;

        st.toplevel_ns += e.weight * static_cast<double>(e.db_time_ns);
        p_.total.add(e, interval, p_.grid);
        p_.executions_series.add(p_.grid, interval, 1);
        if (e.error)
            p_.errors_series.add(p_.grid, interval, e.weight);
        p_.heatmap[prepared->coarse_bucket].add(p_.grid, interval, 1);

        uint32_t route = r.tags ? r.tags->value_of(route_key_) : 0;
        for (size_t i = 0; i < p_.dimensions.size(); ++i)
            add_to_group(i, r, s, e, interval, stmt);
        if (e.error)
            count_error_class(s.sqlstate(), e, stmt, route);
        if (r.tags != nullptr && !r.tags->request.empty())
            add_to_request(r, d, e, stmt, route);
    }

    void node_actuals(uint32_t server, const pb::NodeActuals &a) override {
        SampleKey key{server, a.epoch(), a.seq()};
        auto found = pending_.find(key);
        if (found == pending_.end()) {
            if (early_actuals_.size() > kMaxPendingActuals)
                early_actuals_.clear();
            early_actuals_[key] = a;
            return;
        }
        uint32_t plan = found->second.plan;
        pending_.erase(found);
        add_actuals(plan, a);
    }

    void add_actuals(uint32_t plan, const pb::NodeActuals &a) {
        PlanStats &ps = p_.plans[plan];
        ++ps.actuals_executions;
        ++p_.actuals_executions;
        for (const pb::PlanNode &node : a.nodes()) {
            if (node.node_id() > kMaxNodeId)
                continue;
            if (ps.nodes.size() <= node.node_id())
                ps.nodes.resize(node.node_id() + 1);
            ps.nodes[node.node_id()].add(node);
        }
    }

    void loss(uint32_t, const pb::Loss &loss) override {
        switch (loss.reason()) {
        case pb::Loss::OVERWRITTEN:
            p_.lost_overwritten += loss.count();
            break;
        case pb::Loss::RESET:
            p_.lost_reset += loss.count();
            break;
        case pb::Loss::EPOCH_CHANGED:
            p_.lost_epoch_changed += loss.count();
            break;
        default:
            p_.lost_unknown += loss.count();
            break;
        }
    }

    void epoch_change(uint32_t, const pb::EpochChange &) override {
        ++p_.epoch_changes;
    }

    void notice(uint32_t server, const pb::Notice &notice) override {
        std::string text = set_.servers()[server].key + ": " + notice.text();
        if (p_.notices.size() < kMaxNotices &&
            std::find(p_.notices.begin(), p_.notices.end(), text) ==
                p_.notices.end())
            p_.notices.push_back(text);
    }

    void finish() {
        /* a statement's plans hold its executions only until here */
        for (StatementStats &st : p_.statements)
            for (uint32_t plan : st.plans)
                st.all.add_counts(p_.plans[plan].all);
        for (size_t plan = 0; plan < other_statements_.size(); ++plan)
            if (other_statements_[plan])
                p_.plans[plan].all.add_counts(*other_statements_[plan]);
        p_.lock_windows.finish();
        for (auto &open : open_requests_)
            close_request(open.second);
        open_requests_.clear();
        for (DimensionStats &dim : p_.dimensions) {
            dim.by_statement.assign(p_.statements.size(), {});
            dim.by_group.assign(dim.groups.size(), {});
        }
        /* in the order the pairs appeared (the sorts below are not
         * stable: the same order gives the same report) */
        for (const PairEntry &pair : pairs_) {
            DimensionStats &dim = p_.dimensions[pair.dimension];
            dim.by_statement[pair.statement].emplace_back(pair.group,
                                                          pair.stats);
            dim.by_group[pair.group].emplace_back(pair.statement, pair.stats);
        }
        for (DimensionStats &dim : p_.dimensions) {
            auto larger = [](const std::pair<uint32_t, PairStats> &a,
                             const std::pair<uint32_t, PairStats> &b) {
                return a.second.total_ns > b.second.total_ns;
            };
            for (auto &list : dim.by_statement)
                std::sort(list.begin(), list.end(), larger);
            for (auto &list : dim.by_group)
                std::sort(list.begin(), list.end(), larger);
            for (GroupStats &g : dim.groups)
                g.name = group_name(dim, g);
        }
    }

  private:
    static constexpr uint32_t kNoPlan = UINT32_MAX;
    static constexpr size_t kMaxPendingActuals = 200000;
    static constexpr uint32_t kMaxNodeId = 10000;
    static constexpr size_t kMaxNotices = 50;

    void add_dimension(Dimension d, const std::string &name,
                       const std::string &tag) {
        DimensionStats dim;
        dim.dimension = d;
        dim.name = name;
        if (!tag.empty())
            dim.tag_key = set_.intern(tag);
        p_.dimensions.push_back(std::move(dim));
        cache_.push_back({});
        pair_index_.emplace_back();
    }

    bool passes_filters(const ResolvedSample &r, const DecodedSample &d,
                        const SampleFields &s) {
        const ProfileFilters &f = p_.filters;
        if (f.has_since && d.start_unix_us < f.since_unix_us)
            return false;
        if (f.has_until && d.start_unix_us >= f.until_unix_us)
            return false;
        if (filter_route_ != 0 &&
            (r.tags == nullptr ||
             r.tags->value_of(route_key_) != filter_route_))
            return false;
        if (filter_app_ != 0 && r.application_name != filter_app_)
            return false;
        if (!p_.filters.user.empty() && s.userid() != filter_user_)
            return false;
        if (!f.db.empty() && !database_matches(r.server, s.dbid()))
            return false;
        return true;
    }

    /* --db NAME or OID; names come from the catalog snapshots. */
    bool database_matches(uint32_t server, uint32_t dbid) {
        if (std::to_string(dbid) == p_.filters.db)
            return true;
        const pb::CatalogSnapshot *snap = set_.servers()[server].catalog(dbid);
        return snap != nullptr && snap->database() == p_.filters.db;
    }

    uint32_t statement_of(const ResolvedSample &r, const SampleFields &s) {
        StatementKey key{r.server, s.dbid(), r.statement_text,
                         r.statement_text == 0 ? static_cast<int>(s.cmd()) : 0};
        if (have_last_statement_ && key == last_statement_key_)
            return last_statement_;
        /* statements by text id (dense), each text rarely in more than one
         * database or server */
        if (statements_of_text_.size() <= key.text)
            statements_of_text_.resize(key.text + 1);
        TextStatements &of_text = statements_of_text_[key.text];
        uint32_t index = UINT32_MAX;
        if (of_text.first != UINT32_MAX && of_text.first_key == key)
            index = of_text.first;
        for (uint32_t candidate : of_text.more) {
            if (index != UINT32_MAX)
                break;
            const StatementStats &c = p_.statements[candidate];
            if (c.server == key.server && c.dbid == key.dbid &&
                (key.text != 0 || c.cmd == key.cmd)) {
                index = candidate;
                break;
            }
        }
        if (index == UINT32_MAX) {
            index = static_cast<uint32_t>(p_.statements.size());
            StatementStats st;
            st.server = r.server;
            st.dbid = s.dbid();
            st.text = r.statement_text;
            st.queryid = r.statement_text
                             ? set_.texts()[r.statement_text - 1].queryid
                             : 0;
            st.cmd = static_cast<int>(s.cmd());
            p_.statements.push_back(std::move(st));
            pair_cache_.emplace_back();
            if (of_text.first == UINT32_MAX) {
                of_text.first = index;
                of_text.first_key = key;
            } else {
                of_text.more.push_back(index);
            }
        }
        have_last_statement_ = true;
        last_statement_key_ = key;
        last_statement_ = index;
        return index;
    }

    uint32_t plan_of(uint32_t definition, uint32_t stmt) {
        if (plan_index_.size() <= definition)
            plan_index_.resize(definition + 1, UINT32_MAX);
        uint32_t &index = plan_index_[definition];
        if (index == UINT32_MAX) {
            index = static_cast<uint32_t>(p_.plans.size());
            PlanStats ps;
            ps.definition = definition;
            ps.statement = stmt;
            p_.plans.push_back(std::move(ps));
            p_.statements[stmt].plans.push_back(index);
        }
        return index;
    }

    /* The executions of a plan by statements other than its own. */
    bool has_other_statements(uint32_t plan) const {
        return plan < other_statements_.size() && other_statements_[plan];
    }
    Aggregate &other_statements_of(uint32_t plan) {
        if (other_statements_.size() <= plan)
            other_statements_.resize(plan + 1);
        if (!other_statements_[plan])
            other_statements_[plan] = std::make_unique<Aggregate>();
        return *other_statements_[plan];
    }

    void count_error(StatementStats &st, const std::string &sqlstate,
                     double weight) {
        for (auto &e : st.errors)
            if (e.first == sqlstate) {
                e.second += weight;
                return;
            }
        st.errors.emplace_back(sqlstate, weight);
    }

    void count_error_class(const std::string &sqlstate, const ExecutionView &e,
                           uint32_t stmt, uint32_t route) {
        double weight = e.weight;
        ErrorStats *es = nullptr;
        for (ErrorStats &e : p_.errors)
            if (e.sqlstate == sqlstate)
                es = &e;
        if (es == nullptr) {
            p_.errors.emplace_back();
            es = &p_.errors.back();
            es->sqlstate = sqlstate;
        }
        es->count += weight;
        ++es->executions;
        es->statements[stmt] += weight;
        PairStats &r = es->routes[route];
        r.calls += weight;
        r.total_ns += weight * static_cast<double>(e.db_time_ns);
    }

    /* The dimension's value of an execution (0 when it has none). */
    uint64_t value_of(const DimensionStats &dim, const ResolvedSample &r,
                      const SampleFields &s) const {
        switch (dim.dimension) {
        case Dimension::Route:
        case Dimension::Controller:
        case Dimension::Tag:
            return r.tags ? r.tags->value_of(dim.tag_key) : 0;
        case Dimension::App:
            return r.application_name;
        case Dimension::User:
            return static_cast<uint64_t>(r.server) << 32 | s.userid();
        case Dimension::Db:
            return static_cast<uint64_t>(r.server) << 32 | s.dbid();
        }
        return 0;
    }

    struct GroupCache {
        bool valid = false;
        uint64_t value = 0;
        uint32_t group = 0;
    };

    /* A statement's share of a group of one dimension. */
    struct PairEntry {
        uint32_t group, statement;
        PairStats stats;
        uint32_t dimension;
    };
    static constexpr size_t kMaxDimensions = 6;
    /* The groups a statement's last execution was in, and its pairs with
     * them: most executions of a statement come from the route, app, user
     * and database of its previous one, and then no index is looked up. */
    struct PairCache {
        PairCache() {
            std::fill(group, group + kMaxDimensions, FlatIndex::kAbsent);
        }
        uint32_t group[kMaxDimensions];
        uint32_t pair[kMaxDimensions];
    };

    void add_to_group(size_t i, const ResolvedSample &r, const SampleFields &s,
                      const ExecutionView &e, int64_t interval, uint32_t stmt) {
        DimensionStats &dim = p_.dimensions[i];
        GroupCache &c = cache_[i];
        uint64_t value = value_of(dim, r, s);
        if (!c.valid || c.value != value) {
            uint32_t group = dim.group_of_value.find(value);
            if (group == FlatIndex::kAbsent) {
                GroupStats g;
                g.value = value;
                g.tagged = value != 0 || dim.dimension == Dimension::User ||
                           dim.dimension == Dimension::Db;
                dim.groups.push_back(std::move(g));
                group = static_cast<uint32_t>(dim.groups.size() - 1);
                dim.group_of_value.insert(value, group);
            }
            c.valid = true;
            c.value = value;
            c.group = group;
        }
        dim.groups[c.group].all.add(e, interval, p_.grid, i == p_.group_by,
                                    i == p_.group_by ||
                                        dim.dimension == Dimension::Route);
        PairCache &cached = pair_cache_[stmt];
        if (cached.group[i] != c.group) {
            uint64_t pair_key = static_cast<uint64_t>(c.group) << 32 | stmt;
            uint32_t found = pair_index_[i].find(pair_key);
            if (found == FlatIndex::kAbsent) {
                found = static_cast<uint32_t>(pairs_.size());
                pairs_.push_back(
                    {c.group, stmt, PairStats(), static_cast<uint32_t>(i)});
                pair_index_[i].insert(pair_key, found);
            }
            cached.group[i] = c.group;
            cached.pair[i] = found;
        }
        PairStats &pair = pairs_[cached.pair[i]].stats;
        pair.calls += e.weight;
        pair.total_ns += e.weight * static_cast<double>(e.db_time_ns);
    }

    void add_to_request(const ResolvedSample &r, const DecodedSample &d,
                        const ExecutionView &e, uint32_t stmt, uint32_t route) {
        if (p_.request_tag.empty())
            p_.request_tag = set_.string(r.tags->request_key);
        uint64_t key = static_cast<uint64_t>(r.server) << 32 |
                       static_cast<uint32_t>(d.pid);
        OpenRequest &open = open_requests_[key];
        if (open.request != r.tags->request) {
            if (!open.request.empty())
                close_request(open);
            open.request = r.tags->request;
            open.route = route;
            open.statements = 0;
            open.counts.clear();
        }
        ++open.statements;
        for (OpenRequest::Count &c : open.counts)
            if (c.statement == stmt) {
                ++c.executions;
                c.ns += e.weight * static_cast<double>(e.db_time_ns);
                return;
            }
        if (open.counts.size() < kMaxStatementsPerRequest)
            open.counts.push_back(
                {stmt, 1, e.weight * static_cast<double>(e.db_time_ns)});
    }

    void close_request(const OpenRequest &open) {
        if (open.request.empty())
            return;
        ++p_.requests;
        p_.request_statements += open.statements;
        p_.max_request_statements =
            std::max(p_.max_request_statements, open.statements);
        for (const OpenRequest::Count &c : open.counts) {
            if (c.executions < kNPlusOneMinExecutions)
                continue;
            uint64_t key =
                static_cast<uint64_t>(open.route) << 32 | c.statement;
            auto found = n_plus_one_index_.find(key);
            if (found == n_plus_one_index_.end()) {
                found =
                    n_plus_one_index_
                        .emplace(key,
                                 static_cast<uint32_t>(p_.n_plus_one.size()))
                        .first;
                NPlusOne n;
                n.statement = c.statement;
                n.route = open.route;
                p_.n_plus_one.push_back(std::move(n));
            }
            NPlusOne &n = p_.n_plus_one[found->second];
            ++n.requests;
            n.executions += c.executions;
            n.total_ns += c.ns;
            if (c.executions > n.max_per_request) {
                n.max_per_request = c.executions;
                n.example_request = open.request;
                n.example_executions = c.executions;
            }
        }
    }

    std::string group_name(const DimensionStats &dim,
                           const GroupStats &g) const {
        uint32_t server = static_cast<uint32_t>(g.value >> 32);
        uint32_t oid = static_cast<uint32_t>(g.value);
        switch (dim.dimension) {
        case Dimension::User:
            return "userid " + std::to_string(oid) + server_suffix(server);
        case Dimension::Db: {
            const pb::CatalogSnapshot *snap =
                set_.servers()[server].catalog(oid);
            return (snap ? snap->database() : "dbid " + std::to_string(oid)) +
                   server_suffix(server);
        }
        default:
            return g.value == 0 ? "(none)"
                                : set_.string(static_cast<uint32_t>(g.value));
        }
    }

    std::string server_suffix(uint32_t server) const {
        return set_.servers().size() > 1 ? " @" + set_.servers()[server].key
                                         : std::string();
    }

    static constexpr size_t kMaxStatementsPerRequest = 1000;

    CaptureSet &set_;
    Profile &p_;
    /* the views of a sample not prepared, or of another weight than 1 */
    PreparedSample unprepared_;
    ExecutionView reweighted_;
    uint32_t route_key_ = 0;
    uint32_t filter_route_ = 0, filter_app_ = 0, filter_user_ = 0;
    /* The statements of a text id: the first one's key beside it (one
     * read for most samples), the others (other databases or servers)
     * apart. */
    struct TextStatements {
        StatementKey first_key{};
        uint32_t first = UINT32_MAX;
        std::vector<uint32_t> more;
    };
    std::vector<TextStatements> statements_of_text_;
    bool have_last_statement_ = false;
    StatementKey last_statement_key_{};
    uint32_t last_statement_ = 0;
    std::vector<uint32_t> plan_index_;
    /* by plan: its executions by statements other than its own (the
     * same text in another database), added to it in finish() */
    std::vector<std::unique_ptr<Aggregate>> other_statements_;
    std::vector<GroupCache> cache_;
    /* the pairs of every dimension, in the order they appeared (those of
     * one execution side by side), where each is, and by statement */
    std::vector<PairEntry> pairs_;
    std::vector<FlatIndex> pair_index_;
    std::vector<PairCache> pair_cache_;
    std::unordered_map<SampleKey, PendingActuals, SampleKeyHash> pending_;
    /* actuals whose sample has not been read yet (or was filtered out) */
    std::unordered_map<SampleKey, pb::NodeActuals, SampleKeyHash>
        early_actuals_;
    std::unordered_map<uint64_t, OpenRequest> open_requests_;
    std::unordered_map<uint64_t, uint32_t> n_plus_one_index_;
};

} // namespace

Profile build_profile(CaptureSet &set, const ProfileFilters &filters) {
    Profile p;
    p.filters = filters;
    ProfileBuilder builder(set, p);
    set.read(builder);
    builder.finish();
    return p;
}

} // namespace qprof
