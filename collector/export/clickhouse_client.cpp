#include "clickhouse_client.h"

namespace qprof {

ClickHouseClient::ClickHouseClient(const std::string &url,
                                   const std::string &database)
    : url_(parse_http_url(url)),
      database_(checked_identifier(database, "--database")) {}

std::string ClickHouseClient::where() const {
    return url_.host + ":" + std::to_string(url_.port) + "/" + database_;
}

std::string ClickHouseClient::run(const std::string &query_param,
                                  const std::string &body,
                                  const std::string &settings) const {
    /* no database parameter: a statement names its tables with their
     * database, and one that creates the database runs before it exists */
    std::string target = "/";
    if (!query_param.empty())
        target += "?query=" + url_encode(query_param);
    if (!settings.empty())
        target += (query_param.empty() ? "?" : "&") + settings;
    HttpResponse r = http_post(url_, target, body);
    if (r.status != 200) {
        std::string message = r.body;
        while (!message.empty() &&
               (message.back() == '\n' || message.back() == ' '))
            message.pop_back();
        throw ClickHouseError("ClickHouse at " + where() + " (HTTP " +
                              std::to_string(r.status) + "): " + message);
    }
    return r.body;
}

std::string ClickHouseClient::query(const std::string &sql) const {
    /* a statement longer than ClickHouse's max_query_size (256 KiB) asks
     * for its size: a report naming thousands of statements. Only then: a
     * readonly user may not change settings. */
    if (sql.size() > kDefaultMaxQuerySize)
        return run("", sql,
                   "max_query_size=" + std::to_string(sql.size() + 4096));
    return run("", sql);
}

std::vector<std::vector<std::string>>
ClickHouseClient::select(const std::string &sql) const {
    std::string out = query(sql + "\nFORMAT TabSeparated");
    std::vector<std::vector<std::string>> rows;
    size_t at = 0;
    while (at < out.size()) {
        size_t eol = out.find('\n', at);
        if (eol == std::string::npos)
            eol = out.size();
        std::vector<std::string> fields;
        size_t start = at;
        for (size_t i = at; i <= eol; ++i)
            if (i == eol || out[i] == '\t') {
                fields.push_back(tsv_unescape(out.substr(start, i - start)));
                start = i + 1;
            }
        rows.push_back(std::move(fields));
        at = eol + 1;
    }
    return rows;
}

void ClickHouseClient::insert(const std::string &table,
                              const std::string &columns,
                              const std::string &rows) const {
    run("INSERT INTO " + database_ + "." + table + " (" + columns +
            ") FORMAT TabSeparated",
        rows);
}

void tsv_append(std::string &row, const std::string &value) {
    for (char c : value) {
        switch (c) {
        case '\\':
            row += "\\\\";
            break;
        case '\t':
            row += "\\t";
            break;
        case '\n':
            row += "\\n";
            break;
        case '\r':
            row += "\\r";
            break;
        case '\0':
            row += "\\0";
            break;
        default:
            row += c;
        }
    }
}

void tsv_append_quoted(std::string &row, const std::string &value) {
    /* ClickHouse reads an array of a TabSeparated row in its quoted form,
     * escapes and all: no second escaping */
    row += sql_quote(value);
}

std::string tsv_unescape(const std::string &field) {
    std::string out;
    out.reserve(field.size());
    for (size_t i = 0; i < field.size(); ++i) {
        if (field[i] != '\\' || i + 1 == field.size()) {
            out += field[i];
            continue;
        }
        char c = field[++i];
        switch (c) {
        case 't':
            out += '\t';
            break;
        case 'n':
            out += '\n';
            break;
        case 'r':
            out += '\r';
            break;
        case '0':
            out += '\0';
            break;
        case 'b':
            out += '\b';
            break;
        case 'f':
            out += '\f';
            break;
        default:
            out += c;
        }
    }
    return out;
}

std::string sql_quote(const std::string &text) {
    std::string out = "'";
    for (char c : text) {
        switch (c) {
        case '\'':
        case '\\':
            out += '\\';
            out += c;
            break;
        case '\t':
            out += "\\t";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\0':
            out += "\\0";
            break;
        default:
            out += c;
        }
    }
    return out + "'";
}

const std::string &checked_identifier(const std::string &name,
                                      const char *what) {
    bool ok = !name.empty() && name.size() <= 64 &&
              !(name[0] >= '0' && name[0] <= '9');
    for (char c : name)
        ok = ok && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    (c >= '0' && c <= '9') || c == '_');
    if (!ok)
        throw UsageError(std::string(what) +
                         " takes a name of letters, digits and _, not " + name);
    return name;
}

} // namespace qprof
