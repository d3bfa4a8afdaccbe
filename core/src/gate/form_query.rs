//! Query strings as servers hand them over (`a=1&b=x+y&c`), decoded the way Python's
//! `urllib.parse.parse_qsl(keep_blank_values=True)` and Starlette read them: pairs split on
//! `&`, empty pieces skipped, a name without `=` has the empty value, `+` is a space, `%XX`
//! escapes decoded (an invalid escape kept literally), and bytes that are not UTF-8 become
//! U+FFFD. One reader for every adapter (the `http` crate's parts, ASGI scopes).

use crate::percent::percent_decode;

/// Decodes one `application/x-www-form-urlencoded` component.
fn form_decode(text: &str) -> String {
    let spaced = text.replace('+', " ");
    String::from_utf8_lossy(&percent_decode(&spaced)).into_owned()
}

/// The query parameters of `raw` (the text after `?`, without it), in order.
pub fn parse_form_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| match piece.split_once('=') {
            Some((name, value)) => (form_decode(name), form_decode(value)),
            None => (form_decode(piece), String::new()),
        })
        .collect()
}
