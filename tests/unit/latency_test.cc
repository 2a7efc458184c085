// Latency histograms (read as Redis reads its HdrHistogram) and the latency
// monitor's events, graph and figures.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "commands/command_stats.h"
#include "util/latency_histogram.h"
#include "util/latency_monitor.h"
#include "util/latency_percentiles.h"

namespace edgekv {
namespace {

std::vector<uint64_t> HistogramOf(const std::vector<uint64_t>& durations_us) {
  std::vector<uint64_t> h(latency::kSlots);
  for (uint64_t d : durations_us) ++h[latency::SlotOf(d)];
  return h;
}

TEST(LatencyHistogram, PercentilesReadAsRedisReportsThem) {
  // INFO latencystats figures redis-server 7.0 printed for these durations.
  EXPECT_EQ(latency::ValueAtPercentile(HistogramOf({1}), 50), 1003u);
  EXPECT_EQ(latency::ValueAtPercentile(HistogramOf({3}), 50), 3007u);
  EXPECT_EQ(latency::ValueAtPercentile(HistogramOf({0}), 50), 1u);  // "0.001"
  EXPECT_EQ(latency::ValueAtPercentile(HistogramOf({20100}), 50), 20185087u);
  // Percentile 0 reports the lowest value of the sub-bucket ("p0=5079.040").
  EXPECT_EQ(latency::ValueAtPercentile(HistogramOf({5080, 9000}), 0), 5079040u);
  // Past 1 s every duration counts as 1 s.
  EXPECT_EQ(latency::ValueAtPercentile(HistogramOf({5'000'000}), 50),
            latency::ValueAtPercentile(HistogramOf({1'000'000}), 50));
}

TEST(LatencyHistogram, PercentilesRankTheDurations) {
  std::vector<uint64_t> d;
  for (int i = 0; i < 98; ++i) d.push_back(1);
  d.push_back(10);
  d.push_back(100);
  auto h = HistogramOf(d);
  EXPECT_EQ(latency::ValueAtPercentile(h, 50), 1003u);
  EXPECT_EQ(latency::ValueAtPercentile(h, 99), 10047u);  // the 99th of 100
  EXPECT_EQ(latency::ValueAtPercentile(h, 99.9), 100351u);
  EXPECT_EQ(latency::ValueAtPercentile(h, 100), 100351u);
  EXPECT_EQ(latency::ValueAtPercentile(std::vector<uint64_t>(latency::kSlots), 50), 0u);
}

TEST(LatencyHistogram, CdfBucketsDoubleWithRedisLabels) {
  auto cdf = latency::Cdf(HistogramOf({0, 1, 2, 3, 5, 9, 17, 33, 100, 1000, 2'000'000}));
  std::vector<std::pair<int64_t, uint64_t>> got;
  for (const auto& p : cdf) got.emplace_back(p.usec, p.cumulative);
  // Labels as LATENCY HISTOGRAM prints them: 1 2 4 8 16 33 66 132 ... 1056;
  // buckets that add nothing are left out; past the last level (about
  // 541 ms) the walk ends at the histogram's last sub-bucket.
  std::vector<std::pair<int64_t, uint64_t>> want = {{1, 2},   {2, 3},     {4, 4},
                                                    {8, 5},   {16, 6},    {33, 8},
                                                    {132, 9}, {1056, 10}, {1073741, 11}};
  EXPECT_EQ(got, want);
  EXPECT_TRUE(latency::Cdf(std::vector<uint64_t>(latency::kSlots)).empty());
}

TEST(LatencyHistogram, PercentileSettingParsesAndPrintsAsRedis) {
  std::vector<double> v;
  EXPECT_EQ(latency::ParsePercentiles("50 99 99.9", &v), "");
  EXPECT_EQ(v, (std::vector<double>{50, 99, 99.9}));
  EXPECT_EQ(latency::ParsePercentiles("", &v), "");
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(latency::ParsePercentiles("abc", &v),
            "Invalid latency-tracking-info-percentiles parameters");
  EXPECT_EQ(
      latency::ParsePercentiles("101", &v),
      "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]");
  EXPECT_EQ(
      latency::ParsePercentiles("-1", &v),
      "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]");
  EXPECT_EQ(latency::NormalizePercentiles("50.0 99.990 0"), "50 99.99 0");
  // Split on single spaces, as Redis splits the value: no empty numbers.
  for (const char* bad : {"50  99", " 50", "50 ", " "}) {
    EXPECT_EQ(latency::ParsePercentiles(bad, &v),
              "Invalid latency-tracking-info-percentiles parameters")
        << bad;
  }
  EXPECT_EQ(latency::FormatPercentile(99.9), "99.9");
  EXPECT_EQ(latency::FormatPercentile(100), "100");
}

TEST(CommandStatsHistograms, CountTrackedRunsUntilReset) {
  CommandStats stats(4);
  stats.Ran(1, 1, false, true);
  stats.Ran(1, 7, true, true);
  stats.Ran(2, 5, false, false);  // latency-tracking off
  auto h = stats.Histograms();
  ASSERT_EQ(h.size(), 1u);
  ASSERT_TRUE(h.count(1));
  EXPECT_EQ(latency::Total(h[1]), 2u);
  EXPECT_EQ(latency::ValueAtPercentile(h[1], 100), 7007u);
  stats.Reset();
  EXPECT_TRUE(stats.Histograms().empty());
  stats.Ran(1, 2, false, true);
  h = stats.Histograms();
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(latency::Total(h[1]), 1u);
  EXPECT_EQ(latency::ValueAtPercentile(h[1], 50), 2007u);
}

TEST(LatencyMonitor, RecordsOnlyAtOrAboveTheThreshold) {
  LatencyMonitor m;
  m.Add("command", 100);  // monitoring off
  EXPECT_TRUE(m.Events().empty());
  m.set_threshold_ms(10);
  m.Add("command", 9);
  EXPECT_TRUE(m.Events().empty());
  m.Add("command", 10);
  auto events = m.Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].name, "command");
  EXPECT_EQ(events[0].samples.size(), 1u);
  EXPECT_EQ(events[0].max_ms, 10u);
}

TEST(LatencyMonitor, KeepsTheWorstOfEachSecondAndTheLast160Seconds) {
  LatencyMonitor m;
  m.AddAt("aof-write", 5, 1000);
  m.AddAt("aof-write", 9, 1000);
  m.AddAt("aof-write", 7, 1000);
  auto e = m.Find("aof-write");
  ASSERT_TRUE(e.has_value());
  ASSERT_EQ(e->samples.size(), 1u);
  EXPECT_EQ(e->samples[0].ms, 9u);
  for (int s = 1; s <= 200; ++s) m.AddAt("aof-write", s, 1000 + s);
  e = m.Find("aof-write");
  ASSERT_EQ(e->samples.size(), LatencyMonitor::kSamples);
  EXPECT_EQ(e->samples.front().time_s, 1041);  // oldest first
  EXPECT_EQ(e->samples.back().time_s, 1200);
  EXPECT_EQ(e->max_ms, 200u);
  EXPECT_FALSE(m.Find("command").has_value());
}

TEST(LatencyMonitor, ResetForgetsNamedEventsOrAll) {
  LatencyMonitor m;
  m.AddAt("a", 1, 1);
  m.AddAt("b", 1, 1);
  m.AddAt("c", 1, 1);
  std::vector<std::string_view> names = {"a", "nosuch"};
  EXPECT_EQ(m.Reset(names), 1u);
  EXPECT_FALSE(m.Find("a").has_value());
  EXPECT_EQ(m.Reset({}), 2u);
  EXPECT_TRUE(m.Events().empty());
}

TEST(LatencyMonitor, GraphAndFiguresMatchRedis) {
  // Three DEBUG SLEEPs a second apart (20, 30, 5 ms): LATENCY GRAPH and
  // DOCTOR's figures as redis-server 7.0 printed them.
  LatencyMonitor m;
  m.AddAt("command", 20, 1000);
  m.AddAt("command", 30, 1001);
  m.AddAt("command", 5, 1002);
  auto e = m.Find("command");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(RenderLatencyGraph(*e, 1002),
            "command - high 30 ms, low 5 ms (all time high 30 ms)\n" +
                std::string(80, '-') +
                "\n"
                " # \n"
                "o| \n"
                "|| \n"
                "||_\n"
                "   \n"
                "210\n"
                "sss\n");
  LatencyEventStats st = AnalyzeLatencyEvent(*e, 1002);
  EXPECT_EQ(st.samples, 3);
  EXPECT_EQ(st.avg_ms, 18u);
  EXPECT_EQ(st.mad_ms, 9u);
  EXPECT_EQ(st.period_s, 2);
}

TEST(LatencyMonitor, GraphWrapsAt80ColumnsAndLabelsAge) {
  LatencyMonitor m;
  for (int s = 0; s < 100; ++s) m.AddAt("x", 1 + s % 3, 10000 + s * 60);
  std::string g = RenderLatencyGraph(*m.Find("x"), 10000 + 99 * 60 + 3600 * 30);
  // Two blocks: 80 columns, then 20.
  size_t first_row = g.find('\n', g.find('\n') + 1) + 1;
  EXPECT_EQ(g.find('\n', first_row) - first_row, 80u);
  EXPECT_NE(g.find("\n\n"), std::string::npos);
  // Every sample is more than a day old: each column is labelled "1d",
  // written downwards.
  EXPECT_TRUE(g.ends_with("\n" + std::string(20, ' ') + "\n" + std::string(20, '1') +
                          "\n" + std::string(20, 'd') + "\n"))
      << g;
}

}  // namespace
}  // namespace edgekv
