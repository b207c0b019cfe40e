#ifndef TOOLS_MOCKGSC_KEY_VALUES_H_
#define TOOLS_MOCKGSC_KEY_VALUES_H_

#include <array>
#include <string_view>

namespace mockgsc {

// The closed value sets of the bounded dimensions, in the order rows enumerate them.
inline constexpr std::array<std::string_view, 3> kDevices = {"DESKTOP", "MOBILE", "TABLET"};

inline constexpr std::array<std::string_view, 50> kCountries = {
    "usa", "gbr", "deu", "fra", "ind", "can", "aus", "bra", "jpn", "esp", "ita", "nld", "mex",
    "pol", "swe", "che", "bel", "aut", "dnk", "nor", "fin", "irl", "prt", "cze", "tur", "rus",
    "ukr", "rou", "hun", "grc", "isr", "zaf", "egy", "nga", "ken", "arg", "chl", "col", "per",
    "kor", "twn", "hkg", "sgp", "mys", "idn", "phl", "tha", "vnm", "nzl", "are"};

inline constexpr std::array<std::string_view, 5> kSearchAppearances = {
    "AMP_BLUE_LINK", "FAQ_RICH_RESULT", "REVIEW_SNIPPET", "VIDEO", "WEBLITE"};

}  // namespace mockgsc

#endif  // TOOLS_MOCKGSC_KEY_VALUES_H_
