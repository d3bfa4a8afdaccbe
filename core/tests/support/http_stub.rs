//! A tiny HTTP/1.1 server on loopback for proxy tests and benches: one response per
//! connection, decided by a handler from the hit number and the request. Responses can be
//! delayed, and streamed in chunks (chunked transfer encoding) with pauses between them.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One received request: the head (request line and headers, as sent) and the body.
#[derive(Debug, Clone)]
pub struct Received {
    pub head: String,
    pub body: Vec<u8>,
}

impl Received {
    /// The value of header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }
}

/// What the server answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// Pause before the head is written.
    pub delay: Option<Duration>,
    /// Body parts; with more than one part the body is chunked, with `pause` between parts.
    pub parts: Vec<Vec<u8>>,
    pub pause: Duration,
}

impl Reply {
    /// A JSON reply.
    pub fn json(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            delay: None,
            parts: vec![body.as_bytes().to_vec()],
            pause: Duration::ZERO,
        }
    }

    /// A reply with a content type and one body part.
    pub fn typed(status: u16, content_type: &str, body: &[u8]) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            delay: None,
            parts: vec![body.to_vec()],
            pause: Duration::ZERO,
        }
    }

    /// Adds a header.
    pub fn header(mut self, k: &str, v: &str) -> Reply {
        self.headers.push((k.into(), v.into()));
        self
    }

    /// Delays the head.
    pub fn delayed(mut self, d: Duration) -> Reply {
        self.delay = Some(d);
        self
    }

    /// Streams `parts` with `pause` between them.
    pub fn streamed(mut self, parts: Vec<Vec<u8>>, pause: Duration) -> Reply {
        self.parts = parts;
        self.pause = pause;
        self
    }
}

pub type Handler = Arc<dyn Fn(usize, &Received) -> Reply + Send + Sync>;

/// A running stub server.
pub struct Stub {
    pub port: u16,
    pub hits: Arc<AtomicUsize>,
    pub requests: Arc<Mutex<Vec<Received>>>,
}

impl Stub {
    /// Requests served so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// A copy of the received requests.
    pub fn received(&self) -> Vec<Received> {
        self.requests.lock().unwrap().clone()
    }
}

fn read_request(stream: &std::net::TcpStream) -> Option<Received> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let mut r = Received {
        head,
        body: Vec::new(),
    };
    let len: usize = r
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    r.body = vec![0; len];
    reader.read_exact(&mut r.body).ok()?;
    Some(r)
}

fn write_reply(mut stream: std::net::TcpStream, reply: Reply) {
    if let Some(d) = reply.delay {
        std::thread::sleep(d);
    }
    let chunked = reply.parts.len() > 1;
    let mut head = format!("HTTP/1.1 {} X\r\nconnection: close\r\n", reply.status);
    if chunked {
        head.push_str("transfer-encoding: chunked\r\n");
    } else {
        let len = reply.parts.first().map_or(0, Vec::len);
        head.push_str(&format!("content-length: {len}\r\n"));
    }
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    if stream.write_all(head.as_bytes()).is_err() {
        return;
    }
    if !chunked {
        let _ = stream.write_all(reply.parts.first().map_or(&[][..], Vec::as_slice));
        return;
    }
    for (i, part) in reply.parts.iter().enumerate() {
        if i > 0 {
            std::thread::sleep(reply.pause);
        }
        let mut frame = format!("{:x}\r\n", part.len()).into_bytes();
        frame.extend_from_slice(part);
        frame.extend_from_slice(b"\r\n");
        if stream.write_all(&frame).is_err() || stream.flush().is_err() {
            return;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n");
}

/// Starts a stub on an ephemeral loopback port.
pub fn start(handler: Handler) -> Stub {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let (h2, r2) = (hits.clone(), requests.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (h3, r3, handler) = (h2.clone(), r2.clone(), handler.clone());
            std::thread::spawn(move || {
                let Some(req) = read_request(&stream) else {
                    return;
                };
                let n = h3.fetch_add(1, Ordering::SeqCst);
                r3.lock().unwrap().push(req.clone());
                write_reply(stream, handler(n, &req));
            });
        }
    });
    Stub {
        port,
        hits,
        requests,
    }
}
