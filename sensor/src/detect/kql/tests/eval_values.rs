//! Evaluation of value tests: CIDR networks, wildcards, ranges and escaped values.

use super::{Doc, matches};

fn ip(addr: &str) -> Doc {
    Doc::new().ip("source.ip", addr)
}

#[test]
fn ipv4_networks_and_addresses() {
    for (query, yes, no) in [
        ("source.ip:10.0.0.0/8", "10.200.3.4", "11.0.0.0"),
        (r#"source.ip:"10.1.2.0/24""#, "10.1.2.255", "10.1.3.0"),
        (r#"source.ip:"10.1.2.0/24""#, "10.1.2.0", "10.1.1.255"),
        ("source.ip:10.1.2.3/32", "10.1.2.3", "10.1.2.4"),
        ("source.ip:10.1.2.3", "10.1.2.3", "10.1.2.30"),
        ("source.ip:0.0.0.0/0", "255.255.255.255", "::1"),
        ("source.ip:10.1.2.3/8", "10.9.9.9", "11.1.2.3"),
    ] {
        assert!(matches(query, &ip(yes)), "{query} should match {yes}");
        assert!(!matches(query, &ip(no)), "{query} should not match {no}");
    }
}

#[test]
fn ipv6_networks_and_addresses() {
    for (query, yes, no) in [
        (r#"source.ip:"fc00::/7""#, "fd12:3456::1", "fe80::1"),
        (r#"source.ip:"::1/128""#, "::1", "::2"),
        (r#"source.ip:"::1""#, "::1", "::"),
        (r"source.ip:fe80\:\:/10", "fe80::abcd", "fec0::1"),
        (
            r#"source.ip:"2001:db8::/32""#,
            "2001:db8:ffff::1",
            "2001:db9::1",
        ),
    ] {
        assert!(matches(query, &ip(yes)), "{query} should match {yes}");
        assert!(!matches(query, &ip(no)), "{query} should not match {no}");
    }
}

#[test]
fn ipv4_mapped_addresses_are_ipv4() {
    let mapped = ip("::ffff:10.1.2.3");
    assert!(matches("source.ip:10.0.0.0/8", &mapped));
    assert!(matches("source.ip:10.1.2.3", &mapped));
    assert!(!matches("source.ip:192.168.0.0/16", &mapped));
    let v4 = ip("10.1.2.3");
    assert!(matches(r#"source.ip:"::ffff:10.1.2.3""#, &v4));
    assert!(matches(r#"source.ip:"::ffff:10.0.0.0/104""#, &v4));
    assert!(!matches(r#"source.ip:"::ffff:11.0.0.0/104""#, &v4));
    // As in Elasticsearch, IPv4 sits inside the IPv6 space.
    assert!(matches(r#"source.ip:"::/0""#, &v4));
    assert!(!matches(r#"source.ip:"fc00::/7""#, &v4));
    // The deprecated IPv4-compatible form `::a.b.c.d` is not IPv4.
    assert!(!matches("source.ip:10.1.2.3", &ip("::10.1.2.3")));
    let mapped_text = Doc::new().s("source.ip", "::ffff:10.1.2.3");
    assert!(matches("source.ip:10.0.0.0/8", &mapped_text));
}

#[test]
fn ip_ranges_use_address_order() {
    let q = "source.ip >= 10.0.0.0 and source.ip < 10.1.0.0";
    assert!(matches(q, &ip("10.0.255.255")));
    assert!(matches(q, &ip("::ffff:10.0.0.0")));
    assert!(!matches(q, &ip("10.1.0.0")));
    assert!(!matches(q, &ip("9.255.255.255")));
    assert!(matches(
        r#"source.ip > "::ffff:255.255.255.255""#,
        &ip("fe80::1")
    ));
}

fn name(value: &str) -> Doc {
    Doc::new().s("process.name", value)
}

#[test]
fn wildcards_match_whole_values() {
    for (pattern, yes, no) in [
        ("psexe*", "psexesvc", "PSEXESVC"),
        ("psexe*", "psexe", "xpsexe"),
        ("*.exe", "PSEXESVC.exe", "PSEXESVC.exe.bak"),
        ("*sv*", "psexesvc", "psexe"),
        ("*sv*", "sv", "s v"),
        ("a*b*c", "abc", "acb"),
        ("a*b*c", "aXXbYYc", "aXXbYYcX"),
        ("a*a", "aa", "a"),
        ("a*a", "aXa", "aXb"),
        ("*ab*ab*", "abab", "aba"),
        ("*ab*ab*", "xabyabz", "abba"),
        ("a*b*b", "abb", "ab"),
        ("é*é", "été", "é"),
        ("*té", "été", "étés"),
        ("ss**h", "ssh", "sh"),
        ("*", "", "never-missing"),
    ] {
        let query = format!("process.name:{pattern}");
        assert!(
            matches(&query, &name(yes)),
            "{pattern} should match {yes:?}"
        );
        if pattern != "*" {
            assert!(
                !matches(&query, &name(no)),
                "{pattern} should not match {no:?}"
            );
        }
    }
}

#[test]
fn literal_stars() {
    assert!(matches(r#"process.name:"*""#, &name("*")));
    assert!(!matches(r#"process.name:"*""#, &name("x")));
    assert!(matches(r#"process.name:"ps*""#, &name("ps*")));
    assert!(!matches(r#"process.name:"ps*""#, &name("psexec")));
    assert!(matches(r"process.name:\*", &name("*")));
    assert!(!matches(r"process.name:\*", &name("x")));
    assert!(matches(r"process.name:a\**", &name("a*bc")));
    assert!(!matches(r"process.name:a\**", &name("abc")));
    assert!(matches(r"process.name:*\*", &name("x*")));
}

#[test]
fn keyword_ranges_are_lexical() {
    let doc = Doc::new().s("user.name", "mallory");
    assert!(matches("user.name >= m", &doc));
    assert!(matches("user.name > m", &doc));
    assert!(matches("user.name < n", &doc));
    assert!(matches("user.name <= mallory", &doc));
    assert!(!matches("user.name < mallory", &doc));
    assert!(!matches("user.name > mallory", &doc));
    assert!(matches("user.name >= mallory", &doc));
    assert!(!matches("user.name >= Z and user.name < a", &doc));
}

#[test]
fn integer_ranges() {
    let doc = Doc::new().int("process.pid", 100);
    assert!(matches("process.pid > 99", &doc));
    assert!(!matches("process.pid > 100", &doc));
    assert!(matches("process.pid >= 100", &doc));
    assert!(!matches("process.pid >= 101", &doc));
    assert!(matches("process.pid < 101", &doc));
    assert!(!matches("process.pid < 100", &doc));
    assert!(matches("process.pid <= 100", &doc));
    assert!(!matches("process.pid <= 99", &doc));
    assert!(matches("process.pid > -5", &doc));
    assert!(matches("process.pid > 9", &doc), "numeric, not lexical");
    assert!(matches(
        r#"process.pid < "1000""#,
        &Doc::new().s("process.pid", "150")
    ));
    assert!(!matches(
        "process.pid >= 0",
        &Doc::new().s("process.pid", "x")
    ));
}

#[test]
fn date_ranges() {
    let doc = Doc::new().s("@timestamp", "2024-05-01T10:00:00Z");
    assert!(matches(r#"@timestamp >= "2024-05-01T00:00:00Z""#, &doc));
    assert!(matches(r#"@timestamp < "2024-05-02T00:00:00Z""#, &doc));
    assert!(!matches(r#"@timestamp > "2024-05-01T10:00:00Z""#, &doc));
    assert!(matches("@timestamp >= 2024-05-01", &doc));
    let nanos = Doc::new().int("@timestamp", 1_700_000_000_000_000_000);
    assert!(matches("@timestamp > 1600000000000000000", &nanos));
    assert!(!matches("@timestamp < 1600000000000000000", &nanos));
    assert!(!matches("@timestamp >= 2024-05-01", &nanos));
}

#[test]
fn escaped_and_quoted_values() {
    let exe = |path: &str| Doc::new().s("process.executable", path);
    assert!(matches(
        r"process.executable:/usr/bin/my\ tool",
        &exe("/usr/bin/my tool")
    ));
    assert!(matches(
        r#"process.executable:"/usr/bin/my tool""#,
        &exe("/usr/bin/my tool")
    ));
    assert!(matches(
        r#"process.executable:"C:\\Windows\\PSEXESVC.exe""#,
        &exe(r"C:\Windows\PSEXESVC.exe")
    ));
    assert!(matches(
        r"process.executable:C\:\\Windows\\*",
        &exe(r"C:\Windows\x.exe")
    ));
    assert!(matches(
        r#"process.executable:"say \"hi\"""#,
        &exe(r#"say "hi""#)
    ));
    assert!(matches(r"process.executable:\(x\)\<y\>", &exe("(x)<y>")));
    assert!(matches(r#"process.executable:"""#, &exe("")));
    assert!(!matches(r#"process.executable:"""#, &exe(" ")));
    assert!(matches(
        r#"user.name:"and""#,
        &Doc::new().s("user.name", "and")
    ));
}
