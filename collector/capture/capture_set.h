/*
 * capture_set.h — a set of capture files read as one: files or folders,
 * several servers and ring epochs mixed. It resolves each sample's
 * references (strings, tag sets, query texts, plans) to definitions that
 * are the same across files, and tells which server, file and sampling
 * weight a sample has; what could not be read is recorded per file, and
 * the rest is read.
 *
 * Definitions that are bounded by the workload (strings, texts, plans) are
 * kept for the whole set; tag sets, which may be one per request, live only
 * while their file is read (each file stands alone), or while it is
 * followed (read_appended).
 */
#pragma once

#include "capture_reader.h"
#include "qprof.pb.h"
#include "sample_codec.h"

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace qprof {

/* One server whose samples the set holds. */
struct CaptureServer {
    std::string key; /* "srv1", "srv2", ... in the order first seen */
    capture::v1::ServerIdentity identity;
    std::string label;
    std::vector<uint64_t> epochs; /* in the order first seen */
    /* the pg_qprof.* and planner settings of the first header */
    std::vector<capture::v1::Setting> settings;
    capture::v1::CollectorSettings collector;
    double sample_rate = 1; /* pg_qprof.sample_rate */
    bool sample_rate_mixed = false;
    /* the newest catalog snapshot, by database (dbid) */
    std::unordered_map<uint32_t, capture::v1::CatalogSnapshot> catalogs;
    uint64_t samples = 0;

    /* The setting `name` of the first header, or empty. */
    std::string setting(const std::string &name) const;
    /* The catalog snapshot of `dbid`, or null. */
    const capture::v1::CatalogSnapshot *catalog(uint32_t dbid) const;
};

/* What happened to one file of the set. */
struct CaptureFileStatus {
    enum class Status { Ok, Truncated, Damaged, Unreadable, Duplicate };
    /* Why something was skipped: the reader's kinds and the set's own. */
    enum class ProblemKind {
        TruncatedTail,
        Damage,
        Unreadable,
        UndefinedReference,
        FormatVersion,
        NoHeader
    };
    struct Problem {
        ProblemKind kind;
        uint64_t offset;
        std::string what;
    };
    std::string path;
    uint64_t bytes = 0;
    Status status = Status::Ok;
    int server = -1;                 /* index in servers(), -1 when unknown */
    uint64_t samples = 0;            /* samples handed to the visitor */
    uint64_t samples_unresolved = 0; /* left out: undefined references */
    std::vector<Problem> problems;
};

const char *status_name(CaptureFileStatus::Status status);
const char *problem_kind_name(CaptureFileStatus::ProblemKind kind);

/* A query text of one server. */
struct StatementText {
    uint32_t server;
    int64_t queryid;
    std::string text;
};

/* A plan of one server. */
struct PlanDefinition {
    uint32_t server;
    capture::v1::Plan plan; /* ref is the first file's, meaningless here */
};

/* A set of sqlcommenter tags, values as string ids of the set, sorted by
 * key id. Request identifiers (traceparent, request_id) are unique per
 * request: they are kept as text, not interned. */
struct TagSetDefinition {
    std::vector<std::pair<uint32_t, uint32_t>> tags;
    std::string request;      /* the request's id, or empty */
    uint32_t request_key = 0; /* string id of the tag it came from */

    /* The value's string id of key `key_id`, or 0. */
    uint32_t value_of(uint32_t key_id) const {
        for (const auto &tag : tags)
            if (tag.first == key_id)
                return tag.second;
        return 0;
    }
};

/* A sample with its references resolved to the set's definitions. */
struct ResolvedSample {
    const DecodedSample *decoded; /* identity, absolute times, the fields */
    uint32_t server;              /* index in servers() */
    uint32_t file;                /* index in files() */
    double weight;                /* executions it stands for: 1/sample_rate */
    uint32_t application_name;    /* string id, 0 = none */
    uint32_t client_addr;         /* string id, 0 = none */
    const TagSetDefinition *tags; /* null = no tags */
    uint32_t statement_text;      /* 1 + index in texts(), 0 = none */
    uint32_t plan;                /* 1 + index in plans(), 0 = none */
};

/* What a reader of the set is told, in file order. */
class CaptureVisitor {
  public:
    virtual ~CaptureVisitor() = default;
    virtual void sample(const ResolvedSample &sample) = 0;
    virtual void node_actuals(uint32_t server,
                              const capture::v1::NodeActuals &actuals) {
        (void)server, (void)actuals;
    }
    virtual void loss(uint32_t server, const capture::v1::Loss &loss) {
        (void)server, (void)loss;
    }
    virtual void epoch_change(uint32_t server,
                              const capture::v1::EpochChange &change) {
        (void)server, (void)change;
    }
    virtual void notice(uint32_t server, const capture::v1::Notice &notice) {
        (void)server, (void)notice;
    }
    /* Each catalog snapshot as read (the collector writes the same one
     * into every file until it takes the next). */
    virtual void catalog(uint32_t server,
                         const capture::v1::CatalogSnapshot &snapshot) {
        (void)server, (void)snapshot;
    } /* What prepares each sample on the parsing thread before sample()
       * sees it (its DecodedSample's `prepared`), or null. */
    virtual const SamplePreparer *preparer() const { return nullptr; }
};

/* The capture files named by `paths`: a folder stands for its capture
 * files in the order they were written. Throws CaptureIoError when a path
 * does not exist. */
std::vector<std::string>
capture_files_of(const std::vector<std::string> &paths);

class CaptureSet {
  public:
    /* `paths` as for capture_files_of. */
    explicit CaptureSet(const std::vector<std::string> &paths);
    ~CaptureSet();

    /* Reads every file once, calling `visitor`; files already read are
     * read again (the set's definitions are kept). */
    void read(CaptureVisitor &visitor);

    /* Follows the set's one file (throws std::logic_error for a set of
     * several) while it is written: each call reads the whole frames
     * added since the previous call, up to `limit` bytes of the file
     * (what its writer made durable), the first call from the header on.
     * The file's definitions (strings, texts, plans, tag sets) are kept
     * between calls, so that a new frame's samples resolve without the
     * frames before being read again; an unfinished frame at the end is
     * read by a later call, once whole. Not to be mixed with read().
     * Returns the bytes of the file this call read (mapped). */
    uint64_t read_appended(CaptureVisitor &visitor,
                           uint64_t limit = UINT64_MAX);

    /* The end of the newest sample of the set, from the last frames of
     * each file (cheap: nothing else is decompressed); 0 when none. */
    int64_t last_sample_end_unix_us() const;

    const std::vector<CaptureServer> &servers() const { return servers_; }
    const std::vector<CaptureFileStatus> &files() const { return files_; }
    const std::vector<StatementText> &texts() const { return texts_; }
    const std::vector<PlanDefinition> &plans() const { return plans_; }

    /* The interned string `id` (empty for 0). */
    const std::string &string(uint32_t id) const { return strings_[id]; }
    /* The id of `value`, 0 when the set has no such string. */
    uint32_t find_string(const std::string &value) const;
    /* The id of `value`, interned when new. */
    uint32_t intern(const std::string &value);
    size_t strings_count() const { return strings_.size(); }

  private:
    class FileReader;
    friend class FileReader;

    uint32_t server_of(const capture::v1::Header &header);
    /* Reads `range` of file `i` through `reader`, the file's status
     * updated. */
    ReadSummary read_file(uint32_t i, FileReader &reader,
                          const SamplePreparer *preparer,
                          const ReadRange &range);

    std::vector<std::string> paths_;
    std::vector<CaptureFileStatus> files_;
    std::vector<CaptureServer> servers_;
    std::vector<std::string> strings_{std::string()};
    std::unordered_map<std::string, uint32_t> string_ids_;
    std::vector<StatementText> texts_;
    std::unordered_map<std::string, uint32_t> text_ids_;
    std::vector<PlanDefinition> plans_;
    std::unordered_map<std::string, uint32_t> plan_ids_;
    /* read_appended's file: its definitions, and where its frames read
     * end */
    std::unique_ptr<FileReader> followed_;
    uint64_t followed_end_ = 0;
};

} // namespace qprof
