#include "plan_tree.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <cmath>

namespace qprof {

namespace gp = google::protobuf;

void NodeTotals::add(const capture::v1::PlanNode &node) {
    if (!seen) {
        seen = true;
        node_id = node.node_id();
        parent_node_id = node.parent_node_id();
        node_type = node.node_type();
        relation = node.relation();
        index = node.index_name();
    }
    ++executions;
    loops += node.loops();
    plan_rows = node.plan_rows();
    actual_rows += node.actual_rows();
    rows_removed_by_filter += node.rows_removed_by_filter();
    rows_removed_by_join_filter += node.rows_removed_by_join_filter();
    if (node.total_time_ms() > 0) {
        total_time_ms += node.total_time_ms();
        ++timed_executions;
    }
    shared_blks_hit += static_cast<double>(node.shared_blks_hit());
    shared_blks_read += static_cast<double>(node.shared_blks_read());
    temp_blks_read += static_cast<double>(node.temp_blks_read());
    temp_blks_written += static_cast<double>(node.temp_blks_written());
    if (node.loops() > 0 && node.plan_rows() > 0) {
        double per_loop = node.actual_rows() / node.loops();
        double factor = std::max(per_loop, 1.0) / node.plan_rows();
        if (factor < 1)
            factor = 1 / factor;
        max_estimate_factor = std::max(max_estimate_factor, factor);
    }
}

double NodeTotals::estimate_factor() const {
    if (loops <= 0 || plan_rows <= 0)
        return 0;
    return std::max(actual_rows / loops, 1.0) / plan_rows;
}

namespace {

std::string string_field(const gp::Struct &s, const char *name) {
    auto found = s.fields().find(name);
    if (found == s.fields().end() ||
        found->second.kind_case() != gp::Value::kStringValue)
        return "";
    return found->second.string_value();
}

double number_field(const gp::Struct &s, const char *name) {
    auto found = s.fields().find(name);
    if (found == s.fields().end() ||
        found->second.kind_case() != gp::Value::kNumberValue)
        return 0;
    return found->second.number_value();
}

/* `above` is the nearest node above with a relation (schema.name, its
 * schema alone and its alias): a Bitmap Index Scan names its index and its
 * condition but not its table, schema or alias, which are those of the
 * Bitmap Heap Scan above it. */
struct TableAbove {
    std::string relation, schema, alias;
};

uint32_t add_node(PlanTree &tree, const gp::Struct &plan, int depth,
                  const TableAbove &above) {
    uint32_t at = static_cast<uint32_t>(tree.nodes.size());
    tree.nodes.emplace_back();
    TableAbove here = above;
    {
        PlanTreeNode &n = tree.nodes.back();
        n.node_type = string_field(plan, "Node Type");
        std::string schema = string_field(plan, "Schema");
        std::string relation = string_field(plan, "Relation Name");
        if (!relation.empty()) {
            n.relation = schema.empty() ? relation : schema + "." + relation;
        }
        n.alias = string_field(plan, "Alias");
        if (!relation.empty())
            here = {n.relation, schema, n.alias};
        std::string index = string_field(plan, "Index Name");
        if (!index.empty()) {
            const std::string &index_schema =
                relation.empty() ? above.schema : schema;
            n.index = index_schema.empty() ? index : index_schema + "." + index;
            n.index_table = relation.empty() ? above.relation : n.relation;
            if (relation.empty() && n.alias.empty())
                n.alias = above.alias;
        }
        n.filter = string_field(plan, "Filter");
        n.index_cond = string_field(plan, "Index Cond");
        n.join_filter = string_field(plan, "Join Filter");
        n.plan_rows = number_field(plan, "Plan Rows");
    }
    auto children = plan.fields().find("Plans");
    if (depth < 200 && children != plan.fields().end() &&
        children->second.kind_case() == gp::Value::kListValue) {
        for (const gp::Value &child : children->second.list_value().values()) {
            if (child.kind_case() != gp::Value::kStructValue)
                continue;
            uint32_t c = add_node(tree, child.struct_value(), depth + 1, here);
            tree.nodes[at].children.push_back(c);
        }
    }
    return at;
}

bool ident_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
           c == '$' || static_cast<unsigned char>(c) >= 0x80;
}

/* Reads an identifier at `pos` (plain or double-quoted); empty if none. */
std::string read_ident(const std::string &text, size_t &pos) {
    if (pos < text.size() && text[pos] == '"') {
        std::string out;
        size_t i = pos + 1;
        while (i < text.size()) {
            if (text[i] == '"') {
                if (i + 1 < text.size() && text[i + 1] == '"') {
                    out += '"';
                    i += 2;
                    continue;
                }
                break;
            }
            out += text[i++];
        }
        pos = std::min(i + 1, text.size());
        return out;
    }
    size_t start = pos;
    while (pos < text.size() && ident_char(text[pos]))
        ++pos;
    return text.substr(start, pos - start);
}

/* The comparison operator after position `pos` (casts and closing
 * parentheses skipped). */
FilterColumn::Use operator_after(const std::string &text, size_t pos) {
    while (pos < text.size()) {
        if (text[pos] == ')' || text[pos] == ' ') {
            ++pos;
        } else if (text.compare(pos, 2, "::") == 0) {
            pos += 2;
            while (pos < text.size() &&
                   (ident_char(text[pos]) || text[pos] == ' ' ||
                    text[pos] == '"' || text[pos] == '[' || text[pos] == ']'))
                if (text[pos] == ' ' && pos + 1 < text.size() &&
                    !ident_char(text[pos + 1]))
                    break;
                else
                    ++pos;
        } else {
            break;
        }
    }
    std::string op;
    while (pos < text.size() && std::strchr("=<>!~", text[pos]) != nullptr)
        op += text[pos++];
    if (op == "=")
        return FilterColumn::Use::Equality;
    if (op == "<" || op == ">" || op == "<=" || op == ">=")
        return FilterColumn::Use::Range;
    if (text.compare(pos, 8, " IS NULL") == 0)
        return FilterColumn::Use::Equality;
    return FilterColumn::Use::Other;
}

} // namespace

PlanTree parse_plan_json(const std::string &json) {
    PlanTree tree;
    if (json.empty())
        return tree;
    gp::Value value;
    if (!gp::util::JsonStringToMessage(json, &value).ok())
        return tree;
    const gp::Value *top = &value;
    if (top->kind_case() == gp::Value::kListValue) {
        if (top->list_value().values_size() == 0)
            return tree;
        top = &top->list_value().values(0);
    }
    if (top->kind_case() != gp::Value::kStructValue)
        return tree;
    auto plan = top->struct_value().fields().find("Plan");
    if (plan != top->struct_value().fields().end() &&
        plan->second.kind_case() == gp::Value::kStructValue)
        add_node(tree, plan->second.struct_value(), 0, {});
    else
        add_node(tree, top->struct_value(), 0, {});
    return tree;
}

void match_actuals(PlanTree &tree, const std::vector<NodeTotals> &actuals) {
    /* Both lists in plan order: the tree in preorder (nodes were added so),
     * the actuals by node id (assigned in preorder too; subplans may be
     * numbered elsewhere, hence the search ahead). */
    size_t next = 0;
    for (PlanTreeNode &node : tree.nodes) {
        for (size_t i = next; i < actuals.size(); ++i) {
            const NodeTotals &a = actuals[i];
            if (!a.seen || a.node_type != node.node_type ||
                a.relation != node.relation)
                continue;
            node.actual_node_id = static_cast<int>(i);
            next = i + 1;
            break;
        }
    }
}

std::vector<FilterColumn> filter_columns(const std::string &filter,
                                         const std::string &alias) {
    std::vector<FilterColumn> out;
    size_t pos = 0;
    while (pos < filter.size()) {
        char c = filter[pos];
        if (c == '\'') { /* a literal */
            ++pos;
            while (pos < filter.size() &&
                   !(filter[pos] == '\'' &&
                     (pos + 1 >= filter.size() || filter[pos + 1] != '\'')))
                pos += filter[pos] == '\'' ? 2 : 1;
            ++pos;
            continue;
        }
        if (!(ident_char(c) || c == '"')) {
            ++pos;
            continue;
        }
        std::string word = read_ident(filter, pos);
        if (word.empty()) {
            ++pos;
            continue;
        }
        if (word != alias || pos >= filter.size() || filter[pos] != '.')
            continue;
        ++pos;
        std::string column = read_ident(filter, pos);
        if (column.empty())
            continue;
        FilterColumn::Use use = operator_after(filter, pos);
        auto known =
            std::find_if(out.begin(), out.end(), [&](const FilterColumn &f) {
                return f.column == column;
            });
        if (known == out.end())
            out.push_back({column, use});
        else if (use == FilterColumn::Use::Equality)
            known->use = use;
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const FilterColumn &a, const FilterColumn &b) {
                         return static_cast<int>(a.use) <
                                static_cast<int>(b.use);
                     });
    return out;
}

std::vector<std::string> index_columns(const std::string &definition) {
    std::vector<std::string> out;
    size_t using_at = definition.find(" USING ");
    size_t open =
        definition.find('(', using_at == std::string::npos ? 0 : using_at);
    if (open == std::string::npos)
        return out;
    int depth = 0;
    std::string current;
    for (size_t i = open; i < definition.size(); ++i) {
        char c = definition[i];
        if (c == '(') {
            if (depth++ > 0)
                current += c;
        } else if (c == ')') {
            if (--depth == 0) {
                out.push_back(current);
                break;
            }
            current += c;
        } else if (c == ',' && depth == 1) {
            out.push_back(current);
            current.clear();
        } else if (!(c == ' ' && current.empty())) {
            current += c;
        }
    }
    for (std::string &column : out) {
        /* "col DESC", "col text_pattern_ops": the column is the first word */
        size_t space = column.find(' ');
        if (space != std::string::npos && column[0] != '(')
            column.resize(space);
        if (column.size() >= 2 && column.front() == '"' && column.back() == '"')
            column = column.substr(1, column.size() - 2);
    }
    return out;
}

} // namespace qprof
