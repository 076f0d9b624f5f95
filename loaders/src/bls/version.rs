//! Version comparison of the UAPI Group "Version Format Specification" 1.0,
//! section "Version Comparison" (the algorithm systemd calls
//! `strverscmp_improved()`), used by the Boot Loader Specification's "Version
//! Order".
#![forbid(unsafe_code)]

use core::cmp::Ordering;

/// The characters that carry meaning (spec "Version Format"); all others are
/// skipped as separators (step 1).
fn is_version_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'~' | b'-' | b'^' | b'.')
}

/// Compares two version strings as the Version Format Specification says:
/// `Greater` means `a` is the newer version.
///
/// The steps below are numbered as in the specification's list.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let a = a.as_bytes();
    let b = b.as_bytes();
    let (mut i, mut j) = (0, 0);
    loop {
        // 1. Skip characters outside the version alphabet in both strings.
        while a.get(i).is_some_and(|&c| !is_version_char(c)) {
            i += 1;
        }
        while b.get(j).is_some_and(|&c| !is_version_char(c)) {
            j += 1;
        }
        // 2. `~` sorts lower than anything, even the end of the string.
        match prefix_rule(a.get(i), b.get(j), b'~', Ordering::Less) {
            Prefix::Decided(order) => return order,
            Prefix::BothSkip => {
                i += 1;
                j += 1;
            }
            Prefix::Neither => {}
        }
        // 3. The string with characters left is the higher one.
        match (a.get(i), b.get(j)) {
            (None, None) => return Ordering::Equal,
            (Some(_), None) => return Ordering::Greater,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), Some(_)) => {}
        }
        // 4.-6. `-`, then `^`, then `.`: the string starting with it is lower.
        for separator in [b'-', b'^', b'.'] {
            match prefix_rule(a.get(i), b.get(j), separator, Ordering::Less) {
                Prefix::Decided(order) => return order,
                Prefix::BothSkip => {
                    i += 1;
                    j += 1;
                }
                Prefix::Neither => {}
            }
        }
        let a_digit = a.get(i).is_some_and(u8::is_ascii_digit);
        let b_digit = b.get(j).is_some_and(u8::is_ascii_digit);
        if a_digit || b_digit {
            // 7. Numeric prefixes compare as numbers; an empty one counts as 0.
            let a_end = run_end(a, i, u8::is_ascii_digit);
            let b_end = run_end(b, j, u8::is_ascii_digit);
            let order = compare_numbers(&a[i..a_end], &b[j..b_end]);
            if order != Ordering::Equal {
                return order;
            }
            i = a_end;
            j = b_end;
        } else {
            // 8. Alphabetical prefixes compare letter by letter (ASCII, so
            // capitals sort before lower case); the longer one is higher.
            let a_end = run_end(a, i, u8::is_ascii_alphabetic);
            let b_end = run_end(b, j, u8::is_ascii_alphabetic);
            let order = a[i..a_end].cmp(&b[j..b_end]);
            if order != Ordering::Equal {
                return order;
            }
            i = a_end;
            j = b_end;
        }
    }
}

enum Prefix {
    /// Exactly one string starts with the character: the comparison is over.
    Decided(Ordering),
    /// Both start with it: skip it in both.
    BothSkip,
    Neither,
}

/// The rule shared by steps 2, 4, 5 and 6: if exactly one remaining part
/// starts with `c`, that string compares `with_prefix` to the other.
fn prefix_rule(a: Option<&u8>, b: Option<&u8>, c: u8, with_prefix: Ordering) -> Prefix {
    match (a == Some(&c), b == Some(&c)) {
        (true, true) => Prefix::BothSkip,
        (true, false) => Prefix::Decided(with_prefix),
        (false, true) => Prefix::Decided(with_prefix.reverse()),
        (false, false) => Prefix::Neither,
    }
}

/// The end of the run of characters matching `class` starting at `start`.
fn run_end(s: &[u8], start: usize, class: fn(&u8) -> bool) -> usize {
    let mut end = start;
    while s.get(end).is_some_and(class) {
        end += 1;
    }
    end
}

/// Compares two runs of ASCII digits by value, without parsing them (so any
/// length works): leading zeros dropped, then longer is bigger, then lexical.
fn compare_numbers(a: &[u8], b: &[u8]) -> Ordering {
    let a = trim_leading_zeros(a);
    let b = trim_leading_zeros(b);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn trim_leading_zeros(digits: &[u8]) -> &[u8] {
    let zeros = digits.iter().take_while(|&&d| d == b'0').count();
    digits.get(zeros..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::{Equal, Greater, Less};

    fn check(a: &str, b: &str, expected: Ordering) {
        assert_eq!(compare_versions(a, b), expected, "{a:?} vs {b:?}");
        assert_eq!(compare_versions(b, a), expected.reverse(), "{b:?} vs {a:?}");
    }

    #[test]
    fn matches_every_example_of_the_specification() {
        check("11", "11", Equal);
        check("systemd-123", "systemd-123", Equal);
        check("bar-123", "foo-123", Less);
        check("123a", "123", Greater);
        check("123.a", "123", Greater);
        check("123.a", "123.b", Less);
        check("123a", "123.a", Greater);
        check("11α", "11β", Equal);
        check("B", "a", Less);
        check("", "0", Less);
        check("0.", "0", Greater);
        check("0.0", "0", Greater);
        check("0", "~", Greater);
        check("", "~", Greater);
        check("1_", "1", Equal);
        check("_1", "1", Equal);
        check("1_", "1.2", Less);
        check("1_2_3", "1.3.3", Greater);
        check("1+", "1", Equal);
        check("+1", "1", Equal);
        check("1+", "1.2", Less);
        check("1+2+3", "1.3.3", Greater);
    }

    #[test]
    fn orders_the_specification_chain_strictly() {
        let chain = [
            "122.1",
            "123~rc1-1",
            "123",
            "123-a",
            "123-a.1",
            "123-1",
            "123-1.1",
            "123^post1",
            "123.a-1",
            "123.1-1",
            "123a-1",
            "124-1",
        ];
        for (x, a) in chain.iter().enumerate() {
            for (y, b) in chain.iter().enumerate() {
                check(a, b, x.cmp(&y));
            }
        }
    }

    #[test]
    fn orders_kernel_releases_with_release_candidates() {
        // "-10" and "-9" reach step 7 at the same place: 10 > 9 numerically.
        check("6.1.0-10", "6.1.0-9", Greater);
        // After the common "6.1.0-10", the rc string has "~rc1" left and the
        // other has ended: step 2 (`~`) comes before the end check, so the
        // pre-release is lower than the release it precedes.
        check("6.1.0-10~rc1", "6.1.0-10", Less);
        // ... but the numbers 10 and 9 differ before any `~` is seen, so the
        // rc of -10 is still newer than -9.
        check("6.1.0-10~rc1", "6.1.0-9", Greater);
    }

    #[test]
    fn ignores_leading_zeros_and_handles_long_numbers() {
        check("007", "7", Equal);
        check("0001", "002", Less);
        check(
            "123456789012345678901234567890",
            "123456789012345678901234567889",
            Greater,
        );
    }

    #[test]
    fn an_empty_numeric_prefix_counts_as_zero() {
        // Step 7: "If one of the prefixes is empty, it evaluates as 0", so "0"
        // against "a" is a tie and "a" then outlasts the ended string.
        // (systemd's strverscmp_improved() instead lets any digit run beat a
        // letter run; the two differ only for all-zero numbers like this.)
        check("1.0", "1.a", Less);
        check("1.1", "1.a", Greater);
    }

    #[test]
    fn a_caret_suffix_is_above_the_end_but_below_a_point_release() {
        check("1^patch", "1", Greater);
        check("1^patch", "1.1", Less);
        check("1^patch", "1-1", Greater);
    }
}
