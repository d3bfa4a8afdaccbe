//! `parse_form_query`: the answers Python's `parse_qsl(q, keep_blank_values=True)` gives for
//! the same strings (written out here; the Python suite also compares the two directly).

use inferwarden::gate::parse_form_query;

fn pairs(raw: &str) -> Vec<(String, String)> {
    parse_form_query(raw)
}

fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn pairs_split_on_ampersands_in_order_and_empty_pieces_are_skipped() {
    assert_eq!(
        pairs("a=1&b=2&a=3"),
        owned(&[("a", "1"), ("b", "2"), ("a", "3")])
    );
    assert_eq!(pairs("&&a=1&&"), owned(&[("a", "1")]));
    assert_eq!(pairs(""), owned(&[]));
    // `;` is not a separator (Python 3.10+).
    assert_eq!(pairs("a=1;b=2"), owned(&[("a", "1;b=2")]));
}

#[test]
fn a_name_without_a_value_keeps_the_empty_value() {
    assert_eq!(pairs("flag&x="), owned(&[("flag", ""), ("x", "")]));
    assert_eq!(pairs("=v"), owned(&[("", "v")]));
    // Only the first `=` splits.
    assert_eq!(pairs("k=a=b"), owned(&[("k", "a=b")]));
}

#[test]
fn plus_is_a_space_and_escapes_are_decoded_as_utf8() {
    assert_eq!(pairs("q=a+b%20c"), owned(&[("q", "a b c")]));
    assert_eq!(pairs("%2B=%2b"), owned(&[("+", "+")]));
    assert_eq!(pairs("name=caf%C3%A9"), owned(&[("name", "café")]));
}

#[test]
fn invalid_escapes_stay_literal_and_invalid_utf8_becomes_replacement_characters() {
    assert_eq!(pairs("a=%zz&b=%4"), owned(&[("a", "%zz"), ("b", "%4")]));
    assert_eq!(pairs("k=%FF"), owned(&[("k", "\u{fffd}")]));
    assert_eq!(pairs("k=%C3"), owned(&[("k", "\u{fffd}")]));
}
