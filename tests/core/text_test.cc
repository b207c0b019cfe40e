#include "core/text.h"

#include <gtest/gtest.h>

#include <string>

namespace batchfetch {
namespace {

TEST(TextTest, ControlCharactersAreFoundAnywhere) {
  for (const std::string& bad :
       {std::string("a\nb"), std::string("a\rb"), std::string("\ta"), std::string("a\x1b[31m"),
        std::string("a\x7f"), std::string("a\0b", 3)}) {
    EXPECT_TRUE(HasControlCharacter(bad)) << bad;
  }
}

TEST(TextTest, PrintableTextAndUtf8AreNotControlCharacters) {
  EXPECT_FALSE(HasControlCharacter(""));
  EXPECT_FALSE(HasControlCharacter("sc-domain:example.com"));
  EXPECT_FALSE(HasControlCharacter("https://www.example.com/ a b ~"));
  EXPECT_FALSE(HasControlCharacter("m\xc3\xbcnchen.example \xe6\x97\xa5\xe6\x9c\xac"));
}

TEST(TextTest, OnePrintableWordHasNoSpaceNoControlCharacterAndIsNotEmpty) {
  EXPECT_TRUE(IsOnePrintableWord("ya29.a0AfH6SM-_x"));
  for (const char* bad : {"", "two words", "tok\n", "tok\r\nX-Forged: 1", "\ttok", "t\x7f"}) {
    EXPECT_FALSE(IsOnePrintableWord(bad)) << bad;
  }
}

}  // namespace
}  // namespace batchfetch
