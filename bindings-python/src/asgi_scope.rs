//! An ASGI HTTP scope as the core's `RequestView`, read in place: the method, the raw path
//! (`raw_path`, else `path`), header byte pairs and `query_string` decoded as Latin-1 (as
//! Starlette reads them), the query split by the core's `parse_form_query` (Python's
//! `parse_qsl` rules), and `client[0]` as the peer when it is an IP address (unix sockets and
//! test transports have none). Nothing here decides anything; it saves the middleware from
//! building Python lists for every request.

use std::net::IpAddr;

use inferwarden::gate::{parse_form_query, RequestView};
use inferwarden::{Error, ErrorCode};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::errors::to_py_err;

/// Bytes as Latin-1 text (every byte is the code point of the same value). ASCII, what
/// almost every header is, is the same text in UTF-8 and is copied as it is.
fn latin1(bytes: &[u8]) -> String {
    if bytes.is_ascii() {
        // ASCII is valid UTF-8: this never allocates twice or fails.
        return String::from_utf8(bytes.to_vec()).unwrap_or_default();
    }
    bytes.iter().map(|&b| char::from(b)).collect()
}

fn malformed(py: Python<'_>, what: &str) -> PyErr {
    to_py_err(
        py,
        Error::with_detail(
            ErrorCode::ValidationError,
            format!("the ASGI scope is malformed: {what}"),
        ),
    )
}

fn bytes_of<'a>(py: Python<'_>, obj: &'a Bound<'_, PyAny>, what: &str) -> PyResult<&'a [u8]> {
    obj.cast::<PyBytes>()
        .map(|b| b.as_bytes())
        .map_err(|_| malformed(py, what))
}

/// The request view of an HTTP scope.
pub fn request_view(scope: &Bound<'_, PyDict>) -> PyResult<RequestView> {
    let py = scope.py();
    let method = match scope.get_item(intern!(py, "method"))? {
        Some(m) => m
            .cast::<PyString>()
            .map_err(|_| malformed(py, "method is not a str"))?
            .to_str()?
            .to_owned(),
        None => "GET".to_owned(),
    };
    let raw_path = scope
        .get_item(intern!(py, "raw_path"))?
        .filter(|p| !p.is_none());
    let path = match raw_path {
        Some(p) if !bytes_of(py, &p, "raw_path is not bytes")?.is_empty() => {
            latin1(bytes_of(py, &p, "raw_path is not bytes")?)
        }
        _ => match scope.get_item(intern!(py, "path"))? {
            Some(p) => p
                .cast::<PyString>()
                .map_err(|_| malformed(py, "path is not a str"))?
                .to_str()?
                .to_owned(),
            None => "/".to_owned(),
        },
    };
    let mut headers = Vec::new();
    if let Some(list) = scope.get_item(intern!(py, "headers"))? {
        for pair in list.try_iter()? {
            // ASGI allows any two-item iterable (servers send tuples or lists).
            let pair = pair?;
            let not_a_pair = || malformed(py, "a header is not a (name, value) pair");
            if pair.len().map_err(|_| not_a_pair())? != 2 {
                return Err(not_a_pair());
            }
            let (name, value) = (
                pair.get_item(0).map_err(|_| not_a_pair())?,
                pair.get_item(1).map_err(|_| not_a_pair())?,
            );
            headers.push((
                latin1(bytes_of(py, &name, "a header name is not bytes")?),
                latin1(bytes_of(py, &value, "a header value is not bytes")?),
            ));
        }
    }
    let query = match scope.get_item(intern!(py, "query_string"))? {
        Some(q) => parse_form_query(&latin1(bytes_of(py, &q, "query_string is not bytes")?)),
        None => Vec::new(),
    };
    let peer = match scope.get_item(intern!(py, "client"))? {
        Some(client) if !client.is_none() => client
            .get_item(0)
            .ok()
            .and_then(|host| host.extract::<String>().ok())
            .and_then(|host| host.parse::<IpAddr>().ok()),
        _ => None,
    };
    Ok(RequestView {
        method,
        path,
        headers,
        query,
        peer,
    })
}
