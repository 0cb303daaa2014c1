//! How text is folded for the index and for queries, the same way on both databases:
//! compatibility-decomposed, accents dropped, lower case, and split into words of letters
//! and digits (so "Beyoncé", "BEYONCE" and "beyonce" are one word, and "AC/DC" is two).

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The words of `s`, folded.
pub fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in s.nfkd().filter(|c| !is_combining_mark(*c)) {
        if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        } else if !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// `s` folded into its words joined by single spaces (what the index stores).
pub fn fold(s: &str) -> String {
    words(s).join(" ")
}

/// Whether `typed` is one typo away from the beginning of `word`: one letter wrong,
/// missing, extra, or two neighbours swapped. The last letter typed may be the wrong one
/// ("queem" finds "queen"), so while typing, "beat" also suggests other "bea…" words;
/// search ranks exact matches first and only looks for typos when those run short.
pub fn one_typo_from_a_prefix(typed: &[char], word: &[char]) -> bool {
    let n = typed.len();
    [n.saturating_sub(1), n, n + 1]
        .into_iter()
        .filter(|&k| k > 0 && k <= word.len())
        .map(|k| osa_distance(typed, &word[..k]))
        .min()
        == Some(1)
}

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
fn osa_distance(a: &[char], b: &[char]) -> usize {
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[n][m]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typo(typed: &str, word: &str) -> bool {
        let t: Vec<char> = typed.chars().collect();
        let w: Vec<char> = word.chars().collect();
        one_typo_from_a_prefix(&t, &w)
    }

    #[test]
    fn folding_drops_case_accents_and_punctuation() {
        assert_eq!(fold("Beyoncé — CRAZY in Love!"), "beyonce crazy in love");
        assert_eq!(fold("AC/DC"), "ac dc");
        assert_eq!(fold("Motörhead"), "motorhead");
        assert_eq!(fold("Ｆｕｌｌ　ｗｉｄｔｈ"), "full width");
        assert_eq!(fold("  "), "");
        assert_eq!(
            words("Sigur Rós: Hoppípolla"),
            ["sigur", "ros", "hoppipolla"]
        );
    }

    #[test]
    fn one_typo_prefixes() {
        assert!(typo("metalica", "metallica")); // missing letter
        assert!(typo("beatels", "beatles")); // swapped neighbours
        assert!(typo("radiohaed", "radiohead"));
        assert!(typo("queem", "queen")); // wrong letter
        assert!(typo("nirrvana", "nirvana")); // extra letter
        assert!(typo("beax", "bear"));
        assert!(typo("beatlse", "beatles"));
        assert!(!typo("metallica", "metallica")); // exact is not a typo
        assert!(!typo("mtlica", "metallica")); // two typos
        assert!(!typo("zeppelin", "led"));
    }
}
