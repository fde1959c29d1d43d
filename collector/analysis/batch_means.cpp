/*
 * batch_means.cpp — batch means of latencies and Welch's t test of two
 * captures' batches (batch_means.h).
 */
#include "batch_means.h"

#include <algorithm>
#include <cmath>

namespace qprof {

namespace {

/* A value of 0 ns (a latency less its run-queue time can be) counts as
 * 1 µs: its log stays finite and a statement of microseconds near 0 is
 * not made to look spread out. */
constexpr double kFloorNs = 1000;

/* The continued fraction of the incomplete beta function (modified
 * Lentz), for x < (a + 1) / (a + b + 2), where it converges fast. */
double beta_fraction(double a, double b, double x) {
    constexpr double kTiny = 1e-300;
    constexpr double kEpsilon = 1e-14;
    double qab = a + b, qap = a + 1, qam = a - 1;
    double c = 1, d = 1 - qab * x / qap;
    if (std::fabs(d) < kTiny)
        d = kTiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 300; ++m) {
        double m2 = 2.0 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1 + aa * d;
        d = std::fabs(d) < kTiny ? kTiny : d;
        c = 1 + aa / c;
        c = std::fabs(c) < kTiny ? kTiny : c;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1 + aa * d;
        d = std::fabs(d) < kTiny ? kTiny : d;
        c = 1 + aa / c;
        c = std::fabs(c) < kTiny ? kTiny : c;
        d = 1 / d;
        double delta = d * c;
        h *= delta;
        if (std::fabs(delta - 1) < kEpsilon)
            break;
    }
    return h;
}

/* The regularized incomplete beta function I_x(a, b). */
double incomplete_beta(double a, double b, double x) {
    if (x <= 0)
        return 0;
    if (x >= 1)
        return 1;
    double front =
        std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) +
                 a * std::log(x) + b * std::log(1 - x));
    if (x < (a + 1) / (a + b + 2))
        return front * beta_fraction(a, b, x) / a;
    return 1 - front * beta_fraction(b, a, 1 - x) / b;
}

struct Spread {
    double n = 0, mean = 0, variance = 0;
};

Spread spread_of(const std::vector<double> &values) {
    Spread s;
    s.n = static_cast<double>(values.size());
    if (values.empty())
        return s;
    for (double v : values)
        s.mean += v;
    s.mean /= s.n;
    double m2 = 0;
    for (double v : values)
        m2 += (v - s.mean) * (v - s.mean);
    s.variance = values.size() > 1 ? m2 / (s.n - 1) : 0;
    return s;
}

} // namespace

void BatchMeans::add(uint64_t ns) {
    open_sum_ += std::log(std::max(static_cast<double>(ns), kFloorNs));
    if (++open_n_ < size_)
        return;
    sums_.push_back(open_sum_);
    open_sum_ = 0;
    open_n_ = 0;
    if (sums_.size() < kMaxBatches)
        return;
    /* full: neighbours merged, batches twice as large */
    for (size_t i = 0; i < kMaxBatches / 2; ++i)
        sums_[i] = sums_[2 * i] + sums_[2 * i + 1];
    sums_.resize(kMaxBatches / 2);
    size_ *= 2;
}

std::vector<double> BatchMeans::means() const {
    std::vector<double> out;
    out.reserve(sums_.size());
    for (double sum : sums_)
        out.push_back(sum / static_cast<double>(size_));
    return out;
}

double student_t_p_value(double t, double df) {
    if (std::isnan(t) || !(df > 0))
        return 1;
    if (std::isinf(t))
        return 0;
    return incomplete_beta(df / 2, 0.5, df / (df + t * t));
}

BatchTest batch_test(const BatchMeans &base, const BatchMeans &fresh) {
    BatchTest test;
    test.batches_base = base.batches();
    test.batches_new = fresh.batches();
    test.batch_size_base = base.batch_size();
    test.batch_size_new = fresh.batch_size();
    if (test.batches_base < BatchTest::kMinBatches ||
        test.batches_new < BatchTest::kMinBatches)
        return test;
    test.present = true;
    Spread b = spread_of(base.means()), n = spread_of(fresh.means());
    double d = n.mean - b.mean;
    test.ratio = std::exp(d);
    double vb = b.variance / b.n, vn = n.variance / n.n;
    double se2 = vb + vn;
    if (se2 <= 0) {
        /* every batch of each side alike: any difference is certain */
        if (d != 0) {
            test.t = d > 0 ? INFINITY : -INFINITY;
            test.p_value = 0;
        }
        test.df = b.n + n.n - 2;
        return test;
    }
    test.t = d / std::sqrt(se2);
    test.df = se2 * se2 / (vb * vb / (b.n - 1) + vn * vn / (n.n - 1));
    test.p_value = student_t_p_value(test.t, test.df);
    return test;
}

} // namespace qprof
