#include "sender/seq_set.hpp"

#include <gtest/gtest.h>
#include <random>
#include <set>

using namespace harness::sender;

TEST(SeqSet, InOrderInsertsExtendOneRange) {
  SeqSet s;
  for (std::uint64_t i = 0; i < 100; ++i)
    EXPECT_TRUE(s.insert(i));
  EXPECT_FALSE(s.insert(50));
  EXPECT_EQ(s.size(), 100u);
  EXPECT_EQ(s.ranges(), (std::vector<SeqSet::Range>{{0, 100}}));
}

TEST(SeqSet, HolesMergeAndSplit) {
  SeqSet s;
  s.insert_range(0, 10);
  s.insert_range(20, 30);
  EXPECT_TRUE(s.insert(15));
  EXPECT_EQ(s.ranges().size(), 3u);
  s.insert_range(10, 20);
  EXPECT_EQ(s.ranges(), (std::vector<SeqSet::Range>{{0, 30}}));
  s.erase(5);
  s.erase(0);
  s.erase(29);
  EXPECT_EQ(s.ranges(), (std::vector<SeqSet::Range>{{1, 5}, {6, 29}}));
  EXPECT_EQ(s.size(), 27u);
  EXPECT_FALSE(s.contains(5));
  EXPECT_TRUE(s.contains(6));
}

TEST(SeqSet, CountNotInMatchesASetModel) {
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    SeqSet a, b;
    std::set<std::uint64_t> ma, mb;
    for (int i = 0; i < 200; ++i) {
      const auto x = rng() % 300, y = rng() % 300;
      a.insert(x);
      ma.insert(x);
      b.insert(y);
      mb.insert(y);
    }
    std::uint64_t want = 0, first_want = 0;
    bool have = false;
    for (auto x : ma)
      if (!mb.count(x)) {
        if (!have)
          first_want = x;
        have = true;
        ++want;
      }
    std::uint64_t first = 0;
    EXPECT_EQ(a.count_not_in(b, &first), want);
    if (have) {
      EXPECT_EQ(first, first_want);
    }
    EXPECT_EQ(a.size(), ma.size());
  }
}
