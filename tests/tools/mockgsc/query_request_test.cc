#include "tools/mockgsc/query_request.h"

#include <gtest/gtest.h>

namespace mockgsc {
namespace {

std::optional<QueryRequest> Parse(const std::string& body, std::string* error) {
  return QueryRequest::Parse(body, error);
}

TEST(QueryRequestTest, ParsesAFullRequestWithDefaults) {
  std::string error;
  auto req = Parse(R"({"startDate":"2024-03-01","endDate":"2024-03-01",
      "dimensions":["date","query","page"],"searchType":"image","startRow":"25000",
      "dataState":"all","dimensionFilterGroups":[{"groupType":"and","filters":[
      {"dimension":"country","operator":"equals","expression":"usa"}]}]})",
                   &error);
  ASSERT_TRUE(req) << error;
  EXPECT_EQ(req->type, "image");
  EXPECT_EQ(req->row_limit, 1000);
  EXPECT_EQ(req->start_row, 25000);
  EXPECT_EQ(req->data_state, "all");
  EXPECT_EQ(req->aggregation_type, "auto");
  EXPECT_EQ(req->dimensions.size(), 3u);
}

TEST(QueryRequestTest, RejectsInvalidRequestsWithAMessage) {
  const char* bad[] = {
      R"({"startDate":"2024-03-01","endDate":"2024-03-01","foo":1})",
      R"({"startDate":"2024-03-01","endDate":"2024-03-01","rowLimit":0})",
      R"({"startDate":"2024-03-01","endDate":"2024-03-01","rowLimit":25001})",
      R"({"startDate":"2024-03-01","endDate":"2024-03-01","startRow":-1})",
      R"({"startDate":"2024-03-02","endDate":"2024-03-01"})",
      R"({"startDate":"2024-02-30","endDate":"2024-03-01"})",
      R"({"endDate":"2024-03-01"})",
      R"({"startDate":"2024-03-01","endDate":"2024-03-01","dimensions":["date","date"]})",
      R"({"startDate":"2024-03-01","endDate":"2024-03-01","dimensions":["zip"]})",
      R"({"startDate":"2024-03-01","endDate":"2024-03-01","type":"shopping"})",
      R"({"startDate":"2024-03-01","endDate":"2024-03-01","dataState":"partial"})",
      R"({"startDate":"2024-03-01","endDate":"2024-03-01","aggregationType":"byProperty",
          "dimensions":["page"]})",
      R"({"startDate":"2024-03-01","endDate":"2024-03-01","type":"discover",
          "dimensions":["query"]})",
      R"({"startDate":"2024-03-01","endDate":"2024-03-01","dimensionFilterGroups":[
          {"filters":[{"dimension":"query","operator":"like","expression":"x"}]}]})",
      R"({"startDate":"2024-03-01","endDate":"2024-03-01","dimensionFilterGroups":{}})",
      R"(not json)",
  };
  for (const char* body : bad) {
    std::string error;
    EXPECT_FALSE(Parse(body, &error)) << body;
    EXPECT_FALSE(error.empty()) << body;
  }
}

}  // namespace
}  // namespace mockgsc
