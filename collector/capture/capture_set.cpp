#include "capture_set.h"
#include "capture_format.h"
#include "errors.h"
#include "tag_set_fields.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <deque>
#include <stdexcept>
#include <sys/stat.h>
#include <unordered_set>

namespace qprof {

namespace pb = capture::v1;

const char *status_name(CaptureFileStatus::Status status) {
    switch (status) {
    case CaptureFileStatus::Status::Ok:
        return "ok";
    case CaptureFileStatus::Status::Truncated:
        return "truncated";
    case CaptureFileStatus::Status::Damaged:
        return "damaged";
    case CaptureFileStatus::Status::Unreadable:
        return "unreadable";
    case CaptureFileStatus::Status::Duplicate:
        return "duplicate";
    }
    return "damaged";
}

const char *problem_kind_name(CaptureFileStatus::ProblemKind kind) {
    using K = CaptureFileStatus::ProblemKind;
    switch (kind) {
    case K::TruncatedTail:
        return "truncated_tail";
    case K::Damage:
        return "damage";
    case K::Unreadable:
        return "unreadable";
    case K::UndefinedReference:
        return "undefined_reference";
    case K::FormatVersion:
        return "format_version";
    case K::NoHeader:
        return "no_header";
    }
    return "damage";
}

std::string CaptureServer::setting(const std::string &name) const {
    for (const pb::Setting &s : settings)
        if (s.name() == name)
            return s.value();
    return "";
}

const pb::CatalogSnapshot *CaptureServer::catalog(uint32_t dbid) const {
    auto found = catalogs.find(dbid);
    return found == catalogs.end() ? nullptr : &found->second;
}

std::vector<std::string>
capture_files_of(const std::vector<std::string> &paths) {
    std::vector<std::string> files;
    for (const std::string &path : paths) {
        struct stat st;
        if (stat(path.c_str(), &st) != 0)
            throw CaptureIoError(describe_errno("cannot read " + path, errno));
        if (S_ISDIR(st.st_mode)) {
            for (const CaptureFileEntry &file : list_capture_files(path))
                files.push_back(file.path);
        } else {
            files.push_back(path);
        }
    }
    return files;
}

namespace {

/* Tag keys whose values identify one request: kept as text, not interned. */
bool is_request_key(std::string_view key) {
    return key == "traceparent" || key == "request_id" ||
           key == "x-request-id" || key == "tracestate";
}

/* A file's ids (dense, growing) to the set's ids: a vector over the range
 * of ids seen, or a hash table when a file's ids are too sparse for one. */
class IdMap {
  public:
    void set(uint32_t id, uint32_t value) {
        if (sparse_) {
            table_[id] = value;
            return;
        }
        if (dense_.empty())
            base_ = id;
        if (id < base_) {
            uint64_t grow = base_ - id;
            if (dense_.size() + grow > kMaxDense)
                return go_sparse(id, value);
            dense_.insert(dense_.begin(), grow, 0);
            base_ = id;
        }
        uint64_t at = id - base_;
        if (at >= dense_.size()) {
            if (at >= kMaxDense)
                return go_sparse(id, value);
            dense_.resize(at + 1, 0);
        }
        dense_[at] = value;
    }
    /* 0 when `id` was not set. */
    uint32_t get(uint32_t id) const {
        if (!sparse_) {
            uint64_t at = static_cast<uint64_t>(id) - base_;
            return id >= base_ && at < dense_.size() ? dense_[at] : 0;
        }
        auto found = table_.find(id);
        return found == table_.end() ? 0 : found->second;
    }

  private:
    static constexpr uint64_t kMaxDense = 1u << 22;
    void go_sparse(uint32_t id, uint32_t value) {
        for (size_t i = 0; i < dense_.size(); ++i)
            if (dense_[i] != 0)
                table_[static_cast<uint32_t>(base_ + i)] = dense_[i];
        dense_.clear();
        sparse_ = true;
        table_[id] = value;
    }
    bool sparse_ = false;
    uint32_t base_ = 0;
    std::vector<uint32_t> dense_;
    std::unordered_map<uint32_t, uint32_t> table_;
};

double parse_rate(const std::string &text) {
    if (text.empty())
        return 1;
    char *end = nullptr;
    double rate = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || !(rate > 0) || rate > 1)
        return 1;
    return rate;
}

} // namespace

/* The definitions of the file being read, and the samples resolved
 * against them. */
class CaptureSet::FileReader {
  public:
    FileReader(CaptureSet &set, uint32_t file_index, CaptureVisitor &visitor)
        : set_(set), file_index_(file_index), visitor_(&visitor) {}

    /* A file followed as it grows is read by several calls, each with its
     * own visitor. */
    void visit_with(CaptureVisitor &visitor) { visitor_ = &visitor; }

    /* Samples of a sample block (a block may come in several parts). */
    void samples(uint64_t epoch, const DecodedSample *samples, size_t count,
                 uint64_t frame_offset) {
        if (!readable(frame_offset))
            return;
        note_epoch(epoch);
        for (size_t i = 0; i < count; ++i)
            sample(samples[i], frame_offset);
    }

    /* A tag set the reader decoded. */
    void tag_set(const TagSetFields &def, uint64_t frame_offset) {
        if (readable(frame_offset))
            define_tag_set(def);
    }

    void record(const pb::Record &record, uint64_t frame_offset) {
        if (record.has_header()) {
            first_record_ = false;
            CaptureFileStatus &status = set_.files_[file_index_];
            const pb::Header &header = record.header();
            if (header.format_version() > kFormatVersion) {
                status.problems.push_back(
                    {CaptureFileStatus::ProblemKind::FormatVersion,
                     frame_offset,
                     "format version " +
                         std::to_string(header.format_version()) +
                         " is newer than this qprof reads (" +
                         std::to_string(kFormatVersion) +
                         "): the file is skipped"});
                refused_ = true;
                return;
            }
            server_ = static_cast<int>(set_.server_of(header));
            status.server = server_;
            double rate = parse_rate(
                set_.servers_[server_].setting("pg_qprof.sample_rate"));
            for (const pb::Setting &s : header.settings())
                if (s.name() == "pg_qprof.sample_rate")
                    rate = parse_rate(s.value());
            CaptureServer &server = set_.servers_[server_];
            if (rate != server.sample_rate && server.samples > 0)
                server.sample_rate_mixed = true;
            server.sample_rate = rate;
            weight_ = 1.0 / rate;
            note_epoch(header.epoch());
            return;
        }
        if (!readable(frame_offset))
            return;
        switch (record.kind_case()) {
        case pb::Record::kStringDef:
            strings_.set(record.string_def().id(),
                         set_.intern(record.string_def().value()));
            break;
        case pb::Record::kTagSet: /* when not read as a tag set */
            parsed_tag_set_.assign(record.tag_set());
            define_tag_set(parsed_tag_set_);
            break;
        case pb::Record::kQueryText:
            define_text(record.query_text());
            break;
        case pb::Record::kPlan:
            define_plan(record.plan());
            break;
        case pb::Record::kSampleBlock: /* when not read as samples */
            note_epoch(record.sample_block().epoch());
            decode_sample_block(record.sample_block(),
                                [this, frame_offset](const DecodedSample &d) {
                                    sample(d, frame_offset);
                                });
            break;
        case pb::Record::kNodeActuals:
            visitor_->node_actuals(server_, record.node_actuals());
            break;
        case pb::Record::kLoss:
            visitor_->loss(server_, record.loss());
            break;
        case pb::Record::kEpochChange:
            note_epoch(record.epoch_change().new_epoch());
            visitor_->epoch_change(server_, record.epoch_change());
            break;
        case pb::Record::kNotice:
            visitor_->notice(server_, record.notice());
            break;
        case pb::Record::kCatalog: {
            auto &catalogs = set_.servers_[server_].catalogs;
            const pb::CatalogSnapshot &snap = record.catalog();
            auto found = catalogs.find(snap.dbid());
            if (found == catalogs.end() ||
                found->second.taken_unix_us() <= snap.taken_unix_us())
                catalogs[snap.dbid()] = snap;
            visitor_->catalog(server_, snap);
            break;
        }
        default:
            break;
        }
    }

  private:
    /* Whether a record other than a header can be read: the file's header
     * was read and accepted. */
    bool readable(uint64_t frame_offset) {
        bool first = first_record_;
        first_record_ = false;
        if (refused_)
            return false;
        if (server_ < 0) {
            if (first || !told_no_header_)
                set_.files_[file_index_].problems.push_back(
                    {CaptureFileStatus::ProblemKind::NoHeader, frame_offset,
                     "the file does not begin with a header (its server is "
                     "unknown): its records are skipped"});
            told_no_header_ = true;
            return false;
        }
        return true;
    }

    void note_epoch(uint64_t epoch) {
        if (epoch == last_epoch_)
            return;
        last_epoch_ = epoch;
        std::vector<uint64_t> &epochs = set_.servers_[server_].epochs;
        if (std::find(epochs.begin(), epochs.end(), epoch) == epochs.end())
            epochs.push_back(epoch);
    }

    /* Interns a tag's key or value (through a string kept for it: no
     * allocation a tag). */
    uint32_t intern_text(std::string_view text) {
        text_.assign(text.data(), text.size());
        return set_.intern(text_);
    }

    /* A tag set read by the reader's own decoder (or from a record). */
    void define_tag_set(const TagSetFields &def) {
        /* one per request: copied no more than needed */
        TagSetDefinition tags;
        tags.tags.reserve(def.size());
        for (size_t i = 0; i < def.size(); ++i) {
            std::string_view name = def.key(i);
            uint32_t key = intern_text(name);
            if (is_request_key(name)) {
                bool traceparent = name == "traceparent";
                if (tags.request.empty() || traceparent) {
                    /* traceparent "00-<trace id>-<span id>-01": the trace
                     * is the request */
                    std::string_view value = def.value(i);
                    if (traceparent && value.size() >= 35 && value[2] == '-')
                        value = value.substr(3, 32);
                    tags.request.assign(value.data(), value.size());
                    tags.request_key = key;
                }
                continue;
            }
            tags.tags.emplace_back(key, intern_text(def.value(i)));
        }
        std::sort(tags.tags.begin(), tags.tags.end());
        tag_sets_.push_back(std::move(tags));
        tag_set_ids_.set(def.id(), static_cast<uint32_t>(tag_sets_.size()));
    }

    void define_text(const pb::QueryText &def) {
        std::string key =
            std::to_string(server_) + ':' + std::to_string(def.queryid());
        auto found = set_.text_ids_.find(key);
        uint32_t id;
        if (found == set_.text_ids_.end()) {
            set_.texts_.push_back(
                {static_cast<uint32_t>(server_), def.queryid(), def.text()});
            id = static_cast<uint32_t>(set_.texts_.size());
            set_.text_ids_.emplace(key, id);
        } else {
            id = found->second;
            if (set_.texts_[id - 1].text.empty())
                set_.texts_[id - 1].text = def.text();
        }
        texts_.set(def.ref(), id);
    }

    void define_plan(const pb::Plan &def) {
        std::string key = std::to_string(server_) + ':' +
                          std::to_string(def.queryid()) + ':' +
                          std::to_string(def.planid());
        auto found = set_.plan_ids_.find(key);
        uint32_t id;
        if (found == set_.plan_ids_.end()) {
            set_.plans_.push_back({static_cast<uint32_t>(server_), def});
            id = static_cast<uint32_t>(set_.plans_.size());
            set_.plan_ids_.emplace(key, id);
        } else {
            id = found->second;
        }
        plans_.set(def.ref(), id);
    }

    void sample(const DecodedSample &d, uint64_t frame_offset) {
        const SampleFields &s = d.sample;
        ResolvedSample r;
        r.decoded = &d;
        r.server = static_cast<uint32_t>(server_);
        r.file = file_index_;
        r.weight = weight_;
        r.application_name = resolve(strings_, s.application_name_id(),
                                     "application_name_id", frame_offset);
        r.client_addr = resolve(strings_, s.client_addr_id(), "client_addr_id",
                                frame_offset);
        uint32_t tag_set =
            resolve(tag_set_ids_, s.tag_set_id(), "tag_set_id", frame_offset);
        r.tags = tag_set == 0 ? nullptr : &tag_sets_[tag_set - 1];
        r.statement_text =
            resolve(texts_, s.query_ref(), "query_ref", frame_offset);
        r.plan = resolve(plans_, s.plan_ref(), "plan_ref", frame_offset);
        CaptureFileStatus &status = set_.files_[file_index_];
        if (unresolved_) {
            unresolved_ = false;
            ++status.samples_unresolved;
            return;
        }
        ++status.samples;
        ++set_.servers_[server_].samples;
        visitor_->sample(r);
    }

    /* The set's id of a file's reference; a reference the file never
     * defined marks the sample as unresolved (told once per file). Five
     * per sample: the defined case is kept small enough to be inlined. */
    uint32_t resolve(const IdMap &map, uint32_t id, const char *what,
                     uint64_t frame_offset) {
        if (id == 0)
            return 0;
        uint32_t value = map.get(id);
        if (value != 0)
            return value;
        undefined_reference(id, what, frame_offset);
        return 0;
    }

    [[gnu::noinline]] void undefined_reference(uint32_t id, const char *what,
                                               uint64_t frame_offset) {
        unresolved_ = true;
        if (!told_unresolved_) {
            told_unresolved_ = true;
            set_.files_[file_index_].problems.push_back(
                {CaptureFileStatus::ProblemKind::UndefinedReference,
                 frame_offset,
                 std::string("samples refer to an undefined ") + what + " (" +
                     std::to_string(id) + "): such samples are skipped"});
        }
    }

    CaptureSet &set_;
    uint32_t file_index_;
    CaptureVisitor *visitor_;
    int server_ = -1;
    double weight_ = 1;
    uint64_t last_epoch_ = UINT64_MAX;
    bool first_record_ = true;
    bool refused_ = false;
    bool told_no_header_ = false;
    bool told_unresolved_ = false;
    bool unresolved_ = false;
    IdMap strings_, tag_set_ids_, texts_, plans_;
    /* a deque: one per request, and growing without copying them */
    std::deque<TagSetDefinition> tag_sets_;
    TagSetFields parsed_tag_set_; /* a tag set protobuf read */
    std::string text_;            /* intern_text's */
};

CaptureSet::CaptureSet(const std::vector<std::string> &paths)
    : paths_(capture_files_of(paths)) {
    std::unordered_set<std::string> seen;
    for (const std::string &path : paths_) {
        CaptureFileStatus file;
        file.path = path;
        char *real = realpath(path.c_str(), nullptr);
        std::string canonical = real != nullptr ? real : path;
        free(real);
        if (!seen.insert(canonical).second)
            file.status = CaptureFileStatus::Status::Duplicate;
        files_.push_back(std::move(file));
    }
}

uint32_t CaptureSet::find_string(const std::string &value) const {
    auto found = string_ids_.find(value);
    return found == string_ids_.end() ? 0 : found->second;
}

uint32_t CaptureSet::intern(const std::string &value) {
    if (value.empty())
        return 0;
    auto found = string_ids_.find(value);
    if (found != string_ids_.end())
        return found->second;
    strings_.push_back(value);
    uint32_t id = static_cast<uint32_t>(strings_.size() - 1);
    string_ids_.emplace(value, id);
    return id;
}

uint32_t CaptureSet::server_of(const pb::Header &header) {
    const pb::ServerIdentity &id = header.server();
    for (uint32_t i = 0; i < servers_.size(); ++i) {
        const pb::ServerIdentity &known = servers_[i].identity;
        bool same = id.system_identifier() != 0
                        ? known.system_identifier() == id.system_identifier()
                        : known.system_identifier() == 0 &&
                              known.host() == id.host() &&
                              known.port() == id.port() &&
                              known.cluster_name() == id.cluster_name();
        if (same)
            return i;
    }
    CaptureServer server;
    server.key = "srv" + std::to_string(servers_.size() + 1);
    server.identity = id;
    server.label = header.label();
    server.settings.assign(header.settings().begin(), header.settings().end());
    server.collector = header.collector();
    server.sample_rate = parse_rate(server.setting("pg_qprof.sample_rate"));
    servers_.push_back(std::move(server));
    return static_cast<uint32_t>(servers_.size() - 1);
}

CaptureSet::~CaptureSet() = default;

void CaptureSet::read(CaptureVisitor &visitor) {
    for (uint32_t i = 0; i < files_.size(); ++i) {
        CaptureFileStatus &status = files_[i];
        if (status.status == CaptureFileStatus::Status::Duplicate)
            continue;
        status.problems.clear();
        status.samples = status.samples_unresolved = 0;
        FileReader reader(*this, i, visitor);
        read_file(i, reader, visitor.preparer(), ReadRange());
    }
}

uint64_t CaptureSet::read_appended(CaptureVisitor &visitor, uint64_t limit) {
    if (files_.size() != 1)
        throw std::logic_error("read_appended follows a set of one file");
    CaptureFileStatus &status = files_[0];
    if (!followed_) {
        followed_ = std::make_unique<FileReader>(*this, 0, visitor);
        status.problems.clear();
        status.samples = status.samples_unresolved = 0;
    }
    followed_->visit_with(visitor);
    /* what was said of the rest of the file (an unfinished frame, which
     * may be whole now) is said again by this reading if still so */
    uint64_t from = followed_end_;
    auto &problems = status.problems;
    problems.erase(
        std::remove_if(
            problems.begin(), problems.end(),
            [from](const CaptureFileStatus::Problem &p) {
                return p.offset >= from ||
                       p.kind == CaptureFileStatus::ProblemKind::Unreadable;
            }),
        problems.end());
    ReadSummary summary = read_file(0, *followed_, visitor.preparer(),
                                    ReadRange{followed_end_, limit});
    uint64_t scanned = summary.file_bytes > summary.read_from
                           ? summary.file_bytes - summary.read_from
                           : 0;
    if (summary.frames_end > followed_end_)
        followed_end_ = summary.frames_end;
    return scanned;
}

ReadSummary CaptureSet::read_file(uint32_t i, FileReader &reader,
                                  const SamplePreparer *preparer,
                                  const ReadRange &range) {
    CaptureFileStatus &status = files_[i];
    ReadSummary summary;
    try {
        summary = read_capture_file(
            status.path,
            [&reader](const pb::Record &record, uint64_t offset) {
                reader.record(record, offset);
            },
            [&reader](uint64_t epoch, const DecodedSample *samples,
                      size_t count, uint64_t offset) {
                reader.samples(epoch, samples, count, offset);
            },
            [&reader](const TagSetFields &tag_set, uint64_t offset) {
                reader.tag_set(tag_set, offset);
            },
            preparer, range);
    } catch (const CaptureIoError &e) {
        status.status = CaptureFileStatus::Status::Unreadable;
        status.problems.push_back(
            {CaptureFileStatus::ProblemKind::Unreadable, 0, e.what()});
        return summary;
    }
    status.bytes = summary.file_bytes;
    for (const ReadProblem &p : summary.problems)
        status.problems.push_back(
            {p.kind == ReadProblem::Kind::Damage
                 ? CaptureFileStatus::ProblemKind::Damage
                 : CaptureFileStatus::ProblemKind::TruncatedTail,
             p.offset, p.what});
    bool damaged = false, truncated = false;
    for (const auto &p : status.problems) {
        if (p.kind == CaptureFileStatus::ProblemKind::TruncatedTail)
            truncated = true;
        else
            damaged = true;
    }
    if (summary.read_from == 0 && summary.records == 0 && summary.frames == 0 &&
        damaged)
        status.status = CaptureFileStatus::Status::Unreadable;
    else if (damaged)
        status.status = CaptureFileStatus::Status::Damaged;
    else if (truncated)
        status.status = CaptureFileStatus::Status::Truncated;
    else
        status.status = CaptureFileStatus::Status::Ok;
    return summary;
}

int64_t CaptureSet::last_sample_end_unix_us() const {
    int64_t last = 0;
    for (const CaptureFileStatus &file : files_) {
        if (file.status == CaptureFileStatus::Status::Duplicate)
            continue;
        try {
            read_capture_frames_backwards(
                file.path, [&last](const std::vector<pb::Record> &records) {
                    bool found = false;
                    for (const pb::Record &record : records) {
                        if (!record.has_sample_block())
                            continue;
                        decode_sample_block(
                            record.sample_block(), [&](const DecodedSample &d) {
                                last = std::max(last, d.end_unix_us);
                            });
                        found = true;
                    }
                    return !found; /* stop at the last frame with samples */
                });
        } catch (const std::exception &) {
            /* read() reports the file */
        }
    }
    return last;
}

} // namespace qprof
