//! Tests for `workspace/`: base URLs mean the same origin to the registry as to a WHATWG URL
//! parser. Each case here was a disagreement found by the differential test
//! (`tests/node/target_url_whatwg.test.mjs`).

use inferwarden::workspace::{TargetPolicy, TargetUrl};

fn open() -> TargetPolicy {
    TargetPolicy {
        allow_http: true,
        allow_ip_literal: true,
        host_suffixes: Vec::new(),
    }
}

#[test]
fn an_ipv6_host_is_stored_as_url_parsers_write_it() {
    for (url, host) in [
        ("http://[0::]", "::"),
        ("http://[0:0:0:0:0:0:0:1]:8080", "::1"),
        ("http://[::FFFF:7F00:1]", "::ffff:7f00:1"),
        ("http://[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("http://[2001:db8:0:0:1:0:0:1]", "2001:db8::1:0:0:1"),
        ("http://[1:0:0:2:0:0:0:3]", "1:0:0:2::3"),
        ("http://[1:2:3:4:5:6:7:0]", "1:2:3:4:5:6:7:0"),
    ] {
        let t = TargetUrl::parse(url, &open()).unwrap();
        assert_eq!(t.host, host, "{url}");
        assert_eq!(
            TargetUrl::parse(&t.base_url(), &open()).unwrap(),
            t,
            "{url}"
        );
    }
}

#[test]
fn brackets_hold_an_ipv6_address_and_an_ipv6_address_needs_them() {
    for url in [
        "http://[h.t]",
        "http://[worker.example.run]:80",
        "http://[127.0.0.1]",
        "http://::1:80",
        "http://::1",
    ] {
        let e = TargetUrl::parse(url, &open()).unwrap_err();
        assert_eq!(e.code_str(), "proxy_target_invalid", "{url}");
    }
}

#[test]
fn a_punycode_label_is_refused() {
    // Found by the target_url fuzz target: `xn--eaxtpe` is no valid punycode, so a WHATWG
    // URL parser refuses the host the registry had accepted.
    for url in [
        "http://m.XN--eaxtpe/p",
        "https://xn--wrker-jua.example.run",
        "https://a.xn--p1ai",
    ] {
        let e = TargetUrl::parse(url, &open()).unwrap_err();
        assert_eq!(e.metadata().unwrap()["rule"], "punycode", "{url}");
    }
    assert!(TargetUrl::parse("https://x-n--a.example.run", &open()).is_ok());
}
