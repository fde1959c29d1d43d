#include "definition_tables.h"
#include "json_text.h"

#include <algorithm>
#include <map>

namespace qprof {

namespace pb = capture::v1;

void DefinitionTables::new_file() {
    std::fill(string_defined_.begin(), string_defined_.end(), false);
    std::fill(tag_set_defined_.begin(), tag_set_defined_.end(), false);
    std::fill(query_defined_.begin(), query_defined_.end(), false);
    std::fill(plan_defined_.begin(), plan_defined_.end(), false);
}

template <typename Emit>
void DefinitionTables::define_once(std::vector<bool> &defined, size_t index,
                                   Emit emit) {
    if (defined[index])
        return;
    pb::Record record;
    emit(record);
    writer_.append(record);
    defined[index] = true;
}

void DefinitionTables::forget_interned() {
    string_id_base_ += static_cast<uint32_t>(strings_.size());
    string_ids_.clear();
    strings_.clear();
    string_defined_.clear();
    tag_set_id_base_ += static_cast<uint32_t>(tag_sets_.size());
    tag_set_ids_.clear();
    tag_sets_.clear();
    tag_set_defined_.clear();
}

uint32_t DefinitionTables::string_id(const std::string &value) {
    if (value.empty())
        return 0;
    auto found = string_ids_.find(value);
    if (found == string_ids_.end()) {
        if (strings_.size() >= kMaxInterned)
            forget_interned();
        strings_.push_back(value);
        string_defined_.push_back(false);
        uint32_t id = string_id_base_ + static_cast<uint32_t>(strings_.size());
        found = string_ids_.emplace(value, id).first;
    }
    uint32_t id = found->second;
    size_t index = id - string_id_base_ - 1;
    define_once(string_defined_, index, [&](pb::Record &record) {
        pb::StringDef *def = record.mutable_string_def();
        def->set_id(id);
        def->set_value(strings_[index]);
    });
    return id;
}

uint32_t DefinitionTables::tag_set_id(const std::string &tags_json) {
    if (tags_json.empty())
        return 0;
    auto found = tag_set_ids_.find(tags_json);
    if (found == tag_set_ids_.end()) {
        if (tag_sets_.size() >= kMaxInterned)
            forget_interned();
        std::map<std::string, std::string> tags;
        if (!parse_flat_json_object(tags_json, tags))
            tags = {{"_raw", tags_json}};
        pb::TagSet set;
        uint32_t id =
            tag_set_id_base_ + static_cast<uint32_t>(tag_sets_.size() + 1);
        set.set_id(id);
        for (const auto &tag : tags)
            (*set.mutable_tags())[tag.first] = tag.second;
        tag_sets_.push_back(std::move(set));
        tag_set_defined_.push_back(false);
        found = tag_set_ids_.emplace(tags_json, id).first;
    }
    uint32_t id = found->second;
    size_t index = id - tag_set_id_base_ - 1;
    define_once(tag_set_defined_, index, [&](pb::Record &record) {
        *record.mutable_tag_set() = tag_sets_[index];
    });
    return id;
}

bool DefinitionTables::has_query(int64_t queryid) const {
    return query_refs_.count(queryid) != 0;
}

void DefinitionTables::add_query(int64_t queryid, const std::string &text) {
    if (has_query(queryid))
        return;
    pb::QueryText query;
    uint32_t ref = static_cast<uint32_t>(queries_.size() + 1);
    query.set_ref(ref);
    query.set_queryid(queryid);
    query.set_text(text);
    queries_.push_back(std::move(query));
    query_defined_.push_back(false);
    query_refs_.emplace(queryid, ref);
}

uint32_t DefinitionTables::query_ref(int64_t queryid) {
    if (queryid == 0)
        return 0;
    auto found = query_refs_.find(queryid);
    if (found == query_refs_.end()) {
        add_query(queryid, "");
        found = query_refs_.find(queryid);
    }
    uint32_t ref = found->second;
    define_once(query_defined_, ref - 1, [&](pb::Record &record) {
        *record.mutable_query_text() = queries_[ref - 1];
    });
    return ref;
}

bool DefinitionTables::has_plan(int64_t queryid, uint64_t planid) const {
    return plan_refs_.count(PlanKey{queryid, planid}) != 0;
}

void DefinitionTables::add_plan(pb::Plan plan) {
    PlanKey key{plan.queryid(), static_cast<uint64_t>(plan.planid())};
    if (plan_refs_.count(key) != 0)
        return;
    uint32_t ref = static_cast<uint32_t>(plans_.size() + 1);
    plan.set_ref(ref);
    plans_.push_back(std::move(plan));
    plan_defined_.push_back(false);
    plan_refs_.emplace(key, ref);
}

uint32_t DefinitionTables::plan_ref(int64_t queryid, uint64_t planid) {
    if (planid == 0)
        return 0;
    PlanKey key{queryid, planid};
    auto found = plan_refs_.find(key);
    if (found == plan_refs_.end()) {
        pb::Plan plan;
        plan.set_planid(static_cast<int64_t>(planid));
        plan.set_queryid(queryid);
        add_plan(std::move(plan));
        found = plan_refs_.find(key);
    }
    uint32_t ref = found->second;
    define_once(plan_defined_, ref - 1, [&](pb::Record &record) {
        *record.mutable_plan() = plans_[ref - 1];
    });
    return ref;
}

} // namespace qprof
