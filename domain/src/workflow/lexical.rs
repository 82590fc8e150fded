//! Lexical relevance of workflows to an incident text: one tokenisation and one BM25, used
//! by every adapter (the store hands over the hard-filtered candidates, the domain scores
//! them), so memory and PostgreSQL rank identically.
//!
//! Incident texts carry exact technical tokens (`OOMKilled`, `x509`, `CrashLoopBackOff`,
//! exit codes) that a sentence embedding blurs; a term match keeps them. Identifiers match
//! whole and in parts: `CrashLoopBackOff` indexes `crashloopbackoff`, `crash`, `loop`,
//! `back`, `off`, so it meets both `CrashLoopBackOff` and "crash loop back off". Letters and
//! digits stay together (`x509`, `1gi`, `v3`): a version or a certificate format is one
//! token.

use std::collections::{BTreeMap, BTreeSet};

/// BM25's term-frequency saturation.
const K1: f64 = 1.2;
/// BM25's document-length normalisation.
const B: f64 = 0.75;

/// Words too common in incident prose to tell one remediation from another (a `match`, which
/// compiles to a comparison by length first: it runs once per term of every candidate).
fn is_stop_word(term: &str) -> bool {
    matches!(
        term,
        "a" | "an"
            | "and"
            | "are"
            | "as"
            | "at"
            | "be"
            | "been"
            | "but"
            | "by"
            | "for"
            | "from"
            | "has"
            | "have"
            | "in"
            | "into"
            | "is"
            | "it"
            | "its"
            | "of"
            | "on"
            | "or"
            | "so"
            | "that"
            | "the"
            | "their"
            | "then"
            | "there"
            | "these"
            | "this"
            | "to"
            | "was"
            | "were"
            | "will"
            | "with"
    )
}

/// The index terms of a text, in order, repeated as often as they occur.
///
/// A word is a run of letters and digits (any script); words joined by `-` or `_` also
/// give their concatenation (`read-only` → `read`, `only`, `readonly`), and a camel-case or
/// acronym-prefixed word also gives its parts (`OOMKilled` → `oomkilled`, `oom`, `killed`).
/// Terms are lower case; stop words are dropped.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut terms = Vec::new();
    each_term(text, &mut |t| terms.push(t.to_owned()));
    terms
}

/// [`tokenize`] without allocating a string per term: `f` sees each term in a reused buffer
/// (scoring a search tokenizes every candidate's text).
fn each_term(text: &str, f: &mut impl FnMut(&str)) {
    let mut buffer = String::new();
    let mut compound = String::new();
    let mut compound_words = 0;
    let emit = |term: &str, f: &mut dyn FnMut(&str)| {
        if !is_stop_word(term) {
            f(term);
        }
    };
    let mut rest = text;
    while let Some(start) = rest.find(char::is_alphanumeric) {
        // A single `-` or `_` between two words joins them into one compound.
        if start != 1 || !matches!(rest.as_bytes().first(), Some(b'-' | b'_')) {
            if compound_words > 1 {
                emit(&compound, f);
            }
            compound.clear();
            compound_words = 0;
        }
        let word_and_after = &rest[start..];
        let end = word_and_after
            .find(|c: char| !c.is_alphanumeric())
            .unwrap_or(word_and_after.len());
        let word = &word_and_after[..end];
        lower_into(&mut buffer, word);
        emit(&buffer, f);
        compound.push_str(&buffer);
        compound_words += 1;
        if word.chars().skip(1).any(char::is_uppercase) {
            let parts = camel_parts(word);
            if parts.len() > 1 {
                for part in parts {
                    lower_into(&mut buffer, part);
                    emit(&buffer, f);
                }
            }
        }
        rest = &word_and_after[end..];
    }
    if compound_words > 1 {
        emit(&compound, f);
    }
}

fn lower_into(buffer: &mut String, word: &str) {
    buffer.clear();
    if word.is_ascii() {
        buffer.push_str(word);
        buffer.make_ascii_lowercase();
    } else {
        buffer.extend(word.chars().flat_map(char::to_lowercase));
    }
}

/// Splits at a lower-to-upper step (`crashLoop`) and before the last capital of an acronym
/// followed by lower case (`OOMKilled` → `OOM`, `Killed`); never between a letter and a
/// digit.
fn camel_parts(word: &str) -> Vec<&str> {
    let chars: Vec<(usize, char)> = word.char_indices().collect();
    let mut parts = Vec::new();
    let mut from = 0;
    for i in 1..chars.len() {
        let (at, c) = chars[i];
        let prev = chars[i - 1].1;
        let next_lower = chars.get(i + 1).is_some_and(|(_, n)| n.is_lowercase());
        if c.is_uppercase() && (prev.is_lowercase() || (prev.is_uppercase() && next_lower)) {
            parts.push(&word[from..at]);
            from = at;
        }
    }
    parts.push(&word[from..]);
    parts
}

/// How one document matched a query.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LexicalMatch {
    /// BM25 over the scored set, ≥ 0.
    pub bm25: f64,
    /// `bm25` divided by the best `bm25` of the set: in [0, 1], 1 for the best match.
    pub score: f64,
    /// The query's terms found in the document, sorted.
    pub matched_terms: Vec<String>,
}

/// BM25 of each document against the query, with document frequencies and the average
/// length taken over `documents` themselves (the hard-filtered candidates): a term every
/// candidate shares, such as the signal type, tells nothing and weighs nearly nothing.
///
/// The result is independent of the documents' order, so any adapter's candidate order
/// gives the same scores.
pub fn score_documents(query: &str, documents: &[&str]) -> Vec<LexicalMatch> {
    let query_terms: BTreeSet<String> = tokenize(query).into_iter().collect();
    // Per document: the query terms' frequencies in it, and its length in terms.
    let mut docs: Vec<(BTreeMap<&str, u32>, usize)> = Vec::with_capacity(documents.len());
    for document in documents {
        let mut frequencies = BTreeMap::new();
        let mut len = 0;
        each_term(document, &mut |t| {
            len += 1;
            if let Some(term) = query_terms.get(t) {
                *frequencies.entry(term.as_str()).or_insert(0u32) += 1;
            }
        });
        docs.push((frequencies, len));
    }
    let n = docs.len() as f64;
    let total_len: usize = docs.iter().map(|(_, len)| len).sum();
    let average_len = (total_len as f64 / n.max(1.0)).max(1.0);
    let document_frequency = |term: &str| docs.iter().filter(|(f, _)| f.contains_key(term)).count();
    let idf: BTreeMap<&str, f64> = query_terms
        .iter()
        .map(|t| {
            let df = document_frequency(t) as f64;
            (t.as_str(), (1.0 + (n - df + 0.5) / (df + 0.5)).ln())
        })
        .collect();
    let mut matches: Vec<LexicalMatch> = docs
        .iter()
        .map(|(frequencies, len)| {
            let norm = K1 * (1.0 - B + B * *len as f64 / average_len);
            // Summed in the terms' sorted order: the same floating-point result everywhere.
            let bm25 = frequencies
                .iter()
                .map(|(term, f)| {
                    let f = f64::from(*f);
                    idf.get(term).copied().unwrap_or(0.0) * f * (K1 + 1.0) / (f + norm)
                })
                .sum();
            LexicalMatch {
                bm25,
                score: 0.0,
                matched_terms: frequencies.keys().map(|t| (*t).to_owned()).collect(),
            }
        })
        .collect();
    let best = matches.iter().map(|m| m.bm25).fold(0.0f64, f64::max);
    if best > 0.0 {
        for m in &mut matches {
            m.score = m.bm25 / best;
        }
    }
    matches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(text: &str) -> Vec<String> {
        tokenize(text)
    }

    #[test]
    fn camel_case_identifiers_match_whole_and_in_parts() {
        assert_eq!(
            terms("CrashLoopBackOff"),
            ["crashloopbackoff", "crash", "loop", "back", "off"]
        );
        assert_eq!(terms("OOMKilled"), ["oomkilled", "oom", "killed"]);
        assert_eq!(terms("HPAMaxedOut"), ["hpamaxedout", "hpa", "maxed", "out"]);
        assert_eq!(
            terms("gitOpsManaged"),
            ["gitopsmanaged", "git", "ops", "managed"]
        );
        assert_eq!(terms("plain"), ["plain"]);
        assert_eq!(terms("ALLCAPS"), ["allcaps"]);
    }

    #[test]
    fn letters_and_digits_stay_one_token() {
        assert_eq!(terms("x509 cert"), ["x509", "cert"]);
        assert_eq!(
            terms("exit code 137, limit 1Gi"),
            ["exit", "code", "137", "limit", "1gi"]
        );
        assert_eq!(terms("v3.8.0"), ["v3", "8", "0"]);
    }

    #[test]
    fn hyphenated_words_match_apart_and_joined() {
        assert_eq!(terms("read-only"), ["read", "only", "readonly"]);
        assert_eq!(
            terms("payments_api pod"),
            ["payments", "api", "paymentsapi", "pod"]
        );
        // A spaced dash is punctuation, not a join.
        assert_eq!(terms("disk - full"), ["disk", "full"]);
    }

    #[test]
    fn non_ascii_words_are_words_in_lower_case() {
        assert_eq!(terms("Größe überschritten"), ["größe", "überschritten"]);
        assert_eq!(terms("ÉchecDuPod"), ["échecdupod", "échec", "du", "pod"]);
        assert_eq!(terms("сервер недоступен"), ["сервер", "недоступен"]);
    }

    #[test]
    fn stop_words_and_punctuation_are_dropped() {
        assert_eq!(
            terms("The pod is in a crash loop!"),
            ["pod", "crash", "loop"]
        );
        assert!(terms("").is_empty());
        assert!(terms(" -- ... ").is_empty());
    }

    #[test]
    fn an_identifier_meets_its_spelled_out_form() {
        let docs = [
            "Restart pods stuck in CrashLoopBackOff",
            "Rotate the expiring certificate",
        ];
        let m = score_documents("pods crash loop back off", &docs);
        assert_eq!(m[0].score, 1.0);
        assert_eq!(m[1].score, 0.0);
        assert_eq!(m[0].matched_terms, ["back", "crash", "loop", "off", "pods"]);
        let m = score_documents("OOM killed", &["container OOMKilled", "disk full"]);
        assert_eq!(m[0].matched_terms, ["killed", "oom"]);
    }

    #[test]
    fn rarer_terms_weigh_more_and_longer_documents_less() {
        let docs = [
            "node disk pressure evict pods",
            "node disk pressure clean images",
            "node disk pressure clean images and logs and caches and more words here",
        ];
        let m = score_documents("disk pressure clean images", &docs);
        assert!(
            m[1].bm25 > m[0].bm25,
            "clean and images are rarer than disk"
        );
        assert!(
            m[1].bm25 > m[2].bm25,
            "the shorter document is the better match"
        );
        assert_eq!(m[1].score, 1.0);
    }

    #[test]
    fn scores_do_not_depend_on_the_documents_order() {
        let docs = ["alpha beta", "beta gamma delta", "gamma", "alpha alpha"];
        let forward = score_documents("alpha gamma", &docs);
        let reversed: Vec<&str> = docs.iter().rev().copied().collect();
        let mut backward = score_documents("alpha gamma", &reversed);
        backward.reverse();
        assert_eq!(forward, backward);
    }

    #[test]
    fn no_match_scores_zero_everywhere() {
        let m = score_documents("zebra", &["alpha", "beta"]);
        assert!(m.iter().all(|m| m.bm25 == 0.0 && m.score == 0.0));
        assert!(score_documents("alpha", &[]).is_empty());
        assert!(score_documents("", &["alpha"])[0].matched_terms.is_empty());
    }
}
