/*
 * definition_tables.h — interned strings, tag sets, query texts and plans
 * that samples refer to by small ids. Ids are stable for the whole run; each
 * definition is written to a file just before its first use there, and
 * again in every later file, so each file stands alone.
 */
#pragma once

#include "capture_writer.h"
#include "qprof.pb.h"

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace qprof {

class DefinitionTables {
  public:
    explicit DefinitionTables(CaptureWriter &writer) : writer_(writer) {}

    /* A new file begins: every definition must be written again. */
    void new_file();

    /* Id of a string (0 for the empty string). */
    uint32_t string_id(const std::string &value);

    /* Id of a tag set given as the JSON object text (0 for none). */
    uint32_t tag_set_id(const std::string &tags_json);

    bool has_query(int64_t queryid) const;
    void add_query(int64_t queryid, const std::string &text);
    /* Ref of a query added before (0 for queryid 0). */
    uint32_t query_ref(int64_t queryid);

    bool has_plan(int64_t queryid, uint64_t planid) const;
    /* `plan` has planid and queryid set; ref is assigned here. */
    void add_plan(capture::v1::Plan plan);
    uint32_t plan_ref(int64_t queryid, uint64_t planid);

  private:
    struct PlanKey {
        int64_t queryid;
        uint64_t planid;
        bool operator==(const PlanKey &o) const {
            return queryid == o.queryid && planid == o.planid;
        }
    };
    struct PlanKeyHash {
        size_t operator()(const PlanKey &k) const {
            return std::hash<uint64_t>()(k.planid * 31 +
                                         static_cast<uint64_t>(k.queryid));
        }
    };

    /* Writes definition `index` (0-based) of a table if this file lacks
     * it. */
    template <typename Emit>
    void define_once(std::vector<bool> &defined, size_t index, Emit emit);

    /* Strings and tag sets can be unique per statement (a traceparent
     * tag): past this many, their tables start afresh. Ids keep growing, so
     * an id is never given to two values. */
    static constexpr size_t kMaxInterned = 100000;
    void forget_interned();

    CaptureWriter &writer_;

    /* strings_[i] has id string_id_base_ + i + 1 */
    std::unordered_map<std::string, uint32_t> string_ids_;
    std::vector<std::string> strings_;
    std::vector<bool> string_defined_;
    uint32_t string_id_base_ = 0;

    std::unordered_map<std::string, uint32_t> tag_set_ids_;
    std::vector<capture::v1::TagSet> tag_sets_;
    std::vector<bool> tag_set_defined_;
    uint32_t tag_set_id_base_ = 0;

    std::unordered_map<int64_t, uint32_t> query_refs_;
    std::vector<capture::v1::QueryText> queries_;
    std::vector<bool> query_defined_;

    std::unordered_map<PlanKey, uint32_t, PlanKeyHash> plan_refs_;
    std::vector<capture::v1::Plan> plans_;
    std::vector<bool> plan_defined_;
};

} // namespace qprof
