// Small text helpers: "did you mean" suggestions and number formatting.
#pragma once
#include <string>
#include <vector>

namespace kiln::util {

// Levenshtein distance (insert, delete, substitute each cost 1).
size_t edit_distance(const std::string& a, const std::string& b);

// The candidate closest to `word`, or "" when none is close enough to be a plausible typo
// (distance above max(2, |word| / 3)).
std::string nearest(const std::string& word, const std::vector<std::string>& candidates);

// "did you mean 'x'?" or "" for nearest(word, candidates) == "".
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

// `s` itself when at most `max` characters, else its start, "..." and its length: user input
// quoted in a message (a 100k-character path or --set) must not bury the message.
std::string shorten(const std::string& s, size_t max = 120);

// Seconds as "1:02:03" or "2:03".
std::string format_duration(double seconds);

}  // namespace kiln::util
