//! Unit tests of the configuration file: defaults, a full file, and every kind of error.
use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("/etc/sensor/config.toml"))
}

fn error(text: &str) -> String {
    parse(text).expect_err("must not parse").to_string()
}

#[test]
fn empty_file_and_missing_file_give_the_defaults() {
    let config = parse("").unwrap();
    assert_eq!(config, Config::default());
    assert_eq!(config.state_dir, Path::new("/var/lib/sensor"));
    assert!(config.sinks.stdout && !config.sinks.journald && config.sinks.file.is_none());
    assert_eq!(config.metrics.listen, None);
    assert_eq!(config.tracer.ring_buffer_size, 1 << 20);
    let nets = &config.detect.internal_networks;
    assert_eq!(nets.len(), DEFAULT_INTERNAL_NETWORKS.len());
    for ip in [
        "10.1.2.3",
        "172.31.0.1",
        "100.100.1.1",
        "::1",
        "fd00::1",
        "fe80::1",
    ] {
        let ip: IpAddr = ip.parse().unwrap();
        assert!(nets.iter().any(|n| n.contains(&ip)), "{ip} is internal");
    }
    let public: IpAddr = "198.51.100.2".parse().unwrap();
    assert!(!nets.iter().any(|n| n.contains(&public)));

    let dir = tempfile::tempdir().unwrap();
    let absent = dir.path().join("config.toml");
    assert_eq!(Config::load_or_default(&absent).unwrap(), Config::default());
    // Only a missing file falls back: a directory in its place is an error.
    assert!(matches!(
        Config::load_or_default(dir.path()),
        Err(ConfigError::Read { .. })
    ));
}

#[test]
fn reads_a_full_file() {
    let config = parse(
        r#"
state_dir = "/srv/sensor"
rules_dir = "/etc/sensor/rules.d"

[detect]
internal_networks = ["10.20.0.0/16", "192.0.2.7", "2001:db8::/32"]
allowlist = ['user.name: "backup" and source.ip: 10.20.0.5']

[sources]
logs = "auth-log"
auth_log = "/var/log/secure"
sshd_exes = ["/opt/ssh/sbin/sshd"]

[sinks]
stdout = false
file = "/var/log/sensor/alerts.jsonl"
journald = true

[metrics]
listen = "[::1]:9464"

[tracer]
ring_buffer_size = 4194304
wakeup_bytes = 65536
drain_interval_ms = 20
"#,
    )
    .unwrap();
    assert_eq!(config.state_dir, Path::new("/srv/sensor"));
    assert_eq!(
        config.rules_dir.as_deref(),
        Some(Path::new("/etc/sensor/rules.d"))
    );
    let nets: Vec<String> = config
        .detect
        .internal_networks
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(nets, ["10.20.0.0/16", "192.0.2.7/32", "2001:db8::/32"]);
    assert_eq!(
        config.detect.allowlist,
        ["user.name: \"backup\" and source.ip: 10.20.0.5"]
    );
    assert_eq!(config.sources.logs, LogChoice::AuthLog);
    assert_eq!(
        config.sources.log_source(),
        LogSource::AuthLog(PathBuf::from("/var/log/secure"))
    );
    assert_eq!(
        config.sources.sshd_exes,
        [PathBuf::from("/opt/ssh/sbin/sshd")]
    );
    assert_eq!(
        config.sinks,
        Sinks {
            stdout: false,
            file: Some(PathBuf::from("/var/log/sensor/alerts.jsonl")),
            journald: true,
        }
    );
    assert_eq!(config.metrics.listen, Some("[::1]:9464".parse().unwrap()));
    let tracer = config.tracer.options();
    assert_eq!(tracer.ring_bytes, 4 << 20);
    assert_eq!(tracer.wakeup_bytes, 65536);
    assert_eq!(tracer.drain_interval, Duration::from_millis(20));
}

#[test]
fn unknown_key_names_file_line_and_key() {
    let e = error("state_dir = \"/var/lib/sensor\"\n\n[detect]\nalowlist = []\n");
    assert!(
        e == "/etc/sensor/config.toml:4:1: detect.alowlist: unknown field `alowlist`, expected `internal_networks` or `allowlist`",
        "{e}"
    );
    // A misspelt table is an unknown key too.
    let e = error("[sink]\nstdout = true\n");
    assert!(
        e.starts_with("/etc/sensor/config.toml:1:2: sink: unknown field `sink`"),
        "{e}"
    );
}

#[test]
fn bad_cidr_names_the_key_and_the_value() {
    let e = error("[detect]\ninternal_networks = [\n  \"10.0.0.0/8\",\n  \"10.0.0.0/33\",\n]\n");
    assert!(
        e.starts_with(
            "/etc/sensor/config.toml:4:3: detect.internal_networks: invalid CIDR `10.0.0.0/33`: the prefix length must be 0 to 32"
        ),
        "{e}"
    );
    let e = error("[detect]\ninternal_networks = [\"10.0.0.1/8\"]\n");
    assert!(
        e.contains("`10.0.0.1/8` has host bits set: write `10.0.0.0/8`"),
        "{e}"
    );
    assert_eq!(parse_network("::1").unwrap().to_string(), "::1/128");
    assert_eq!(parse_network("fe80::/10").unwrap().to_string(), "fe80::/10");
    for bad in [
        "10.0.0.0/",
        "10.0.0/8",
        "fe80::/129",
        "10.0.0.0/-1",
        "internal",
        "",
    ] {
        assert!(parse_network(bad).is_err(), "{bad}");
    }
}

#[test]
fn refuses_out_of_range_values() {
    let e = error("[metrics]\nlisten = \"0.0.0.0:9464\"\n");
    assert!(
        e.contains(":1:1: metrics: listen = \"0.0.0.0:9464\" is not a loopback address"),
        "{e}"
    );
    let open = parse("[metrics]\nlisten = \"0.0.0.0:9464\"\nallow_non_loopback = true\n").unwrap();
    assert_eq!(open.metrics.listen, Some("0.0.0.0:9464".parse().unwrap()));
    assert!(error("[tracer]\nring_buffer_size = 1000000\n").contains(
        ":2:20: tracer.ring_buffer_size: 1000000 is not a power of two of at least 4096"
    ));
    assert!(error("[tracer]\ndrain_interval_ms = 0\n").contains("tracer.drain_interval_ms"));
    assert!(
        error("[sinks]\nfile = \"alerts.jsonl\"\n")
            .contains(":2:8: sinks.file: `alerts.jsonl` is not an absolute path")
    );
    assert!(
        error("[sources]\nlogs = \"syslog\"\n").contains("sources.logs: unknown variant `syslog`")
    );
    assert!(error("state_dir = [\n").starts_with("/etc/sensor/config.toml:"));
}

#[test]
fn the_packaged_file_is_the_defaults() {
    let text = include_str!("../../packaging/config.toml");
    let config = Config::parse(text, Path::new("packaging/config.toml")).unwrap();
    assert_eq!(config, Config::default());
    // Every key the file sets or shows is explained by a comment just above it.
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let key = line
            .trim_start_matches("# ")
            .split(" = ")
            .next()
            .unwrap_or("");
        let is_key = line.contains(" = ")
            && key.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            && !key.is_empty();
        if is_key {
            assert!(
                i > 0 && lines[i - 1].starts_with('#'),
                "line {}: `{line}` has no comment",
                i + 1
            );
        }
    }
}
