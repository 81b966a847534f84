// csg/name_table.h — an enum's one table of command-line words: the word of a value, the value
// of a word (an error lists the words), and the list of words for a flag's accepted values.
// Every choice setting (csg/settings.h, the stem, the segmentation head, the regularizer) keeps
// its words in one such table, so printing, parsing and --help cannot disagree.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "csg/error.h"

namespace csg {

template <class E>
struct Named {
  E value;
  const char* name;
};

// "a", "a or b", "a, b or c".
inline std::string word_list(const std::vector<std::string>& words) {
  std::string s;
  for (size_t i = 0; i < words.size(); ++i)
    s += (i == 0 ? "" : i + 1 == words.size() ? " or " : ", ") + words[i];
  return s;
}

template <class E, size_t N>
std::vector<std::string> names_in(const Named<E> (&table)[N]) {
  std::vector<std::string> words;
  for (const Named<E>& n : table) words.push_back(n.name);
  return words;
}

template <class E, size_t N>
const char* name_in(const Named<E> (&table)[N], E value) {
  for (const Named<E>& n : table)
    if (n.value == value) return n.name;
  CSG_FAIL("no name for value ", static_cast<int>(value));  // a value outside the enum: a csg bug
}

// `what` names the setting in the error: "unknown stem 'tiny'; expected imagenet, small or cifar".
template <class E, size_t N>
E parse_in(const Named<E> (&table)[N], const std::string& text, const char* what) {
  for (const Named<E>& n : table)
    if (text == n.name) return n.value;
  CSG_FAIL("unknown ", what, " '", text, "'; expected ", word_list(names_in(table)));
}

}  // namespace csg
