//! Glob patterns for `loader.conf`'s `default` key (loader.conf(5): "A glob
//! pattern to select the default entry"), with fnmatch(3) syntax: `*`, `?`,
//! bracket classes (`[a-z]`, `[!0-9]`, `[^x]`) and `\` escapes.
#![forbid(unsafe_code)]

use alloc::vec::Vec;

/// Whether `text` matches `pattern` as a whole. Case-sensitive: callers fold
/// case first. Runs in O(pattern x text) time whatever the pattern.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    // Where to resume after the last `*`: (pattern index after it, text index
    // it has consumed up to). Retrying only the last star is enough, because an
    // earlier star can never need to consume more.
    let mut star: Option<(usize, usize)> = None;
    loop {
        match pattern.get(p) {
            Some('*') => {
                p += 1;
                star = Some((p, t));
                continue;
            }
            Some(_) => {
                if let Some(&c) = text.get(t) {
                    if let Some(next) = match_one(&pattern, p, c) {
                        p = next;
                        t += 1;
                        continue;
                    }
                }
            }
            None if t == text.len() => return true,
            None => {}
        }
        match star {
            Some((after_star, consumed)) if consumed < text.len() => {
                star = Some((after_star, consumed + 1));
                p = after_star;
                t = consumed + 1;
            }
            _ => return false,
        }
    }
}

/// Matches the single-character token at `pattern[p]` (not `*`) against `c`;
/// the index after the token if it matches.
fn match_one(pattern: &[char], p: usize, c: char) -> Option<usize> {
    match pattern.get(p)? {
        '?' => Some(p + 1),
        '\\' => match pattern.get(p + 1) {
            Some(&escaped) => (escaped == c).then_some(p + 2),
            // A trailing backslash stands for itself.
            None => (c == '\\').then_some(p + 1),
        },
        '[' => match bracket(pattern, p + 1, c) {
            Some((matched, next)) => matched.then_some(next),
            // No closing `]`: the `[` is an ordinary character.
            None => (c == '[').then_some(p + 1),
        },
        &literal => (literal == c).then_some(p + 1),
    }
}

/// Evaluates the bracket class starting after its `[` at `start`: whether `c`
/// is in it and the index after its `]`; `None` if the class is unterminated.
fn bracket(pattern: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start;
    let negated = matches!(pattern.get(i), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let mut low = *pattern.get(i)?;
        if low == ']' && !first {
            return Some((matched != negated, i + 1));
        }
        first = false;
        if low == '\\' {
            i += 1;
            low = *pattern.get(i)?;
        }
        i += 1;
        let mut high = low;
        if pattern.get(i) == Some(&'-') && pattern.get(i + 1).is_some_and(|&n| n != ']') {
            i += 1;
            high = *pattern.get(i)?;
            if high == '\\' {
                i += 1;
                high = *pattern.get(i)?;
            }
            i += 1;
        }
        if low <= c && c <= high {
            matched = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_stars_and_question_marks() {
        assert!(glob_matches("*", ""));
        assert!(glob_matches("*", "debian-6.1.conf"));
        assert!(glob_matches("debian-*", "debian-6.1.conf"));
        assert!(glob_matches("*-6.1*.conf", "debian-6.1.0-9.conf"));
        assert!(glob_matches("a?c", "abc"));
        assert!(!glob_matches("a?c", "ac"));
        assert!(!glob_matches("debian-*", "fedora-6.1.conf"));
        assert!(glob_matches("*a*b*c*", "xxaxxbxxcxx"));
        assert!(!glob_matches("*a*b*c", "xxaxxbxxcxx"));
    }

    #[test]
    fn matches_classes_ranges_and_negation() {
        assert!(glob_matches("[a-c]x", "bx"));
        assert!(!glob_matches("[a-c]x", "dx"));
        assert!(glob_matches("[!a-c]x", "dx"));
        assert!(glob_matches("[^a-c]x", "dx"));
        assert!(glob_matches("[]]", "]"));
        assert!(glob_matches("[a-]", "-"));
        assert!(glob_matches("v[0-9][0-9]", "v42"));
    }

    #[test]
    fn honours_escapes_and_unterminated_classes() {
        assert!(glob_matches("a\\*", "a*"));
        assert!(!glob_matches("a\\*", "ab"));
        assert!(glob_matches("a\\?", "a?"));
        assert!(glob_matches("[", "["));
        assert!(glob_matches("a[b", "a[b"));
        assert!(glob_matches("x\\", "x\\"));
    }

    #[test]
    fn pathological_patterns_finish_quickly() {
        let text = "a".repeat(200) + "b";
        assert!(!glob_matches(&"*a".repeat(50), &text));
    }
}
