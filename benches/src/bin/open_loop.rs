//! An open-loop (fixed-rate) HTTP/1.1 load generator, for latency below saturation: request
//! `i` is due at `start + i / rate` whatever happened to earlier ones, and its latency is
//! measured from when it was due, not from when a busy connection got round to sending it
//! (the correction for coordinated omission that wrk2 makes and wrk does not). Requests are
//! spread over `--connections` keep-alive connections.
//!
//! ```text
//! open_loop URL RATE SECONDS [--connections N] [--header "Name: value"]...
//! ```
//!
//! Prints one JSON object: requests sent, non-2xx answers, errors, the achieved rate and the
//! latency percentiles in milliseconds.

use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

struct Args {
    host: String,
    path: String,
    rate: f64,
    seconds: f64,
    connections: usize,
    headers: Vec<String>,
}

fn parse_args() -> Args {
    let mut it = std::env::args().skip(1);
    let usage = "usage: open_loop URL RATE SECONDS [--connections N] [--header 'Name: value']...";
    let url = it.next().expect(usage);
    let rate: f64 = it.next().expect(usage).parse().expect("RATE is a number");
    let seconds: f64 = it
        .next()
        .expect(usage)
        .parse()
        .expect("SECONDS is a number");
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut args = Args {
        host: host.to_owned(),
        path: if path.is_empty() {
            "/".into()
        } else {
            path.into()
        },
        rate,
        seconds,
        connections: 16,
        headers: Vec::new(),
    };
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--connections" => args.connections = it.next().expect(usage).parse().expect("N"),
            "--header" => args.headers.push(it.next().expect(usage)),
            _ => panic!("{usage}"),
        }
    }
    assert!(
        args.rate > 0.0 && args.seconds > 0.0 && args.connections > 0,
        "{usage}"
    );
    args
}

/// One response read off the connection: its status, and whether the server closes the
/// connection after it.
async fn read_response(reader: &mut BufReader<TcpStream>) -> std::io::Result<(u16, bool)> {
    let mut line = String::new();
    if reader.read_line(&mut line).await? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or(std::io::ErrorKind::InvalidData)?;
    let mut close = line.starts_with("HTTP/1.0");
    let mut length = 0usize;
    loop {
        line.clear();
        reader.read_line(&mut line).await?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value
                    .trim()
                    .parse()
                    .map_err(|_| std::io::ErrorKind::InvalidData)?;
            } else if name.eq_ignore_ascii_case("connection") {
                close = value.trim().eq_ignore_ascii_case("close");
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                // Not needed by the routes measured; refuse rather than misread.
                return Err(std::io::ErrorKind::Unsupported.into());
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await?;
    Ok((status, close))
}

/// The requests of one connection: every `stride`-th from `first`. Returns latencies (ms)
/// of answered requests, the non-2xx count and the error count.
async fn connection(
    args: std::sync::Arc<Args>,
    start: Instant,
    first: u64,
    stride: u64,
    total: u64,
) -> (Vec<f64>, u64, u64) {
    let mut request = format!("GET {} HTTP/1.1\r\nHost: {}\r\n", args.path, args.host);
    for h in &args.headers {
        request.push_str(h);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    let mut latencies = Vec::new();
    let (mut non2xx, mut errors) = (0, 0);
    let mut conn: Option<BufReader<TcpStream>> = None;
    let mut i = first;
    while i < total {
        let due = start + Duration::from_secs_f64(i as f64 / args.rate);
        tokio::time::sleep_until(due.into()).await;
        if conn.is_none() {
            match TcpStream::connect(&args.host).await {
                Ok(s) => {
                    s.set_nodelay(true).ok();
                    conn = Some(BufReader::new(s));
                }
                Err(_) => {
                    errors += 1;
                    i += stride;
                    continue;
                }
            }
        }
        let Some(reader) = conn.as_mut() else {
            continue;
        };
        let sent = reader.get_mut().write_all(request.as_bytes()).await;
        match sent {
            Ok(()) => match read_response(reader).await {
                Ok((status, close)) => {
                    latencies.push(due.elapsed().as_secs_f64() * 1000.0);
                    if !(200..300).contains(&status) {
                        non2xx += 1;
                    }
                    if close {
                        conn = None;
                    }
                }
                Err(_) => {
                    errors += 1;
                    conn = None;
                }
            },
            Err(_) => {
                errors += 1;
                conn = None;
            }
        }
        i += stride;
    }
    (latencies, non2xx, errors)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn main() {
    let args = std::sync::Arc::new(parse_args());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let total = (args.rate * args.seconds).round() as u64;
    let (latencies, non2xx, errors, elapsed) = runtime.block_on(async {
        let start = Instant::now() + Duration::from_millis(50);
        let stride = args.connections as u64;
        let tasks: Vec<_> = (0..stride)
            .map(|k| tokio::spawn(connection(args.clone(), start, k, stride, total)))
            .collect();
        let mut all = Vec::new();
        let (mut non2xx, mut errors) = (0, 0);
        for t in tasks {
            let (l, n, e) = t.await.expect("connection task");
            all.extend(l);
            non2xx += n;
            errors += e;
        }
        (all, non2xx, errors, start.elapsed())
    });
    let mut sorted = latencies;
    sorted.sort_by(f64::total_cmp);
    let answered = sorted.len();
    println!(
        "{{\"sent\": {total}, \"answered\": {answered}, \"non2xx\": {non2xx}, \"errors\": {errors}, \
         \"rate\": {:.1}, \"p50_ms\": {:.3}, \"p90_ms\": {:.3}, \"p99_ms\": {:.3}, \"p999_ms\": {:.3}, \"max_ms\": {:.3}}}",
        answered as f64 / elapsed.as_secs_f64(),
        percentile(&sorted, 50.0),
        percentile(&sorted, 90.0),
        percentile(&sorted, 99.0),
        percentile(&sorted, 99.9),
        sorted.last().copied().unwrap_or(f64::NAN),
    );
}
