#include "fleet_sql.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace qprof::fleet {

namespace {

/* Percentiles as the report of files computes them (latency_histogram.h):
 * each execution's database time in log-spaced buckets 2% wide, bucket i
 * holding (1.02^(i-1), 1.02^i]; the nearest-rank bucket of the recorded
 * executions (quantileExactWeighted: memory per distinct bucket, not per
 * execution), stood for by its midpoint within the exact minimum and
 * maximum, and the minimum and maximum themselves at the ends. */
constexpr double kGamma = 1.02;

/* "[12,-3,40]" */
std::vector<int32_t> int_array(const std::string &field) {
    std::vector<int32_t> out;
    const char *p = field.c_str();
    while (*p != '\0') {
        if (*p == '-' || (*p >= '0' && *p <= '9')) {
            char *end = nullptr;
            out.push_back(static_cast<int32_t>(std::strtol(p, &end, 10)));
            p = end;
        } else {
            ++p;
        }
    }
    return out;
}

double quantile_ns(double q, uint64_t count, int32_t bucket, double min_ns,
                   double max_ns) {
    if (count == 0)
        return 0;
    uint64_t rank = static_cast<uint64_t>(std::ceil(q * count));
    rank = std::max<uint64_t>(1, std::min(rank, count));
    if (rank == count)
        return max_ns;
    if (rank == 1)
        return min_ns;
    double v = bucket <= 0
                   ? 1
                   : std::exp(std::log(kGamma) * bucket) * 2 / (1 + kGamma);
    return std::min(std::max(v, min_ns), max_ns);
}

} // namespace

double num(const std::string &field) {
    return std::strtod(field.c_str(), nullptr);
}
uint64_t unum(const std::string &field) {
    return std::strtoull(field.c_str(), nullptr, 10);
}
int64_t snum(const std::string &field) {
    return std::strtoll(field.c_str(), nullptr, 10);
}

std::string latency_bucket_sql(const std::string &db_time) {
    return "if(" + db_time + " <= 1, 0, toInt32(ceil(log(" + db_time +
           ") / log(1.02))))";
}

std::string percentile_sql(const std::string &db_time) {
    return "quantilesExactWeighted(0.5, 0.95, 0.99)(" +
           latency_bucket_sql(db_time) + ", 1) AS pb, min(" + db_time +
           ") AS p_min, max(" + db_time + ") AS p_max";
}

/* p50, p95, p99 from the three fields percentile_sql() gives */
void set_percentiles(const std::string *fields, uint64_t count, double *p50,
                     double *p95, double *p99) {
    std::vector<int32_t> buckets = int_array(fields[0]);
    if (buckets.size() != 3)
        throw ClickHouseError("ClickHouse's percentiles: not 3 buckets: " +
                              fields[0]);
    double lo = num(fields[1]), hi = num(fields[2]);
    *p50 = quantile_ns(0.50, count, buckets[0], lo, hi);
    *p95 = quantile_ns(0.95, count, buckets[1], lo, hi);
    *p99 = quantile_ns(0.99, count, buckets[2], lo, hi);
}

/* A row must have `columns` fields: anything else is not our query's
 * answer. */
void check_columns(const Rows &rows, size_t columns, const char *what) {
    for (const auto &row : rows)
        if (row.size() != columns)
            throw ClickHouseError(std::string("ClickHouse's answer to the ") +
                                  what + " query has " +
                                  std::to_string(row.size()) +
                                  " columns, not " + std::to_string(columns));
}

} // namespace qprof::fleet
