//! Addresses and ports as sshd prints them.
//!
//! sshd prints the peer with `ssh_remote_ipaddr()` (getnameinfo with `NI_NUMERICHOST`) and
//! `ssh_remote_port()` (`%d`). On a dual-stack socket an IPv4 peer can show up as an
//! IPv4-mapped IPv6 address (`::ffff:10.0.0.2`); a link-local IPv6 peer can carry a scope
//! (`fe80::1%eth0`). Both are normalised here, before any network test sees them.

use std::net::IpAddr;

/// Longest address text accepted: a full IPv6 address with an embedded IPv4 address and a
/// scope id fits well below this. Bounds the work done on attacker-supplied text.
const MAX_ADDR_LEN: usize = 64;

/// Parses an address as sshd prints it and normalises it: IPv4-mapped IPv6 becomes IPv4, an
/// IPv6 scope id (`%eth0`) is dropped. `None` for anything else, including sshd's `UNKNOWN`.
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    if text.is_empty() || text.len() > MAX_ADDR_LEN {
        return None;
    }
    let bare = match text.split_once('%') {
        // A scope id is only legal on IPv6 and must not be empty.
        Some((addr, scope)) if addr.contains(':') && !scope.is_empty() => addr,
        Some(_) => return None,
        None => text,
    };
    let ip: IpAddr = bare.parse().ok()?;
    Some(normalize(ip))
}

/// Turns an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) into the IPv4 address; leaves every
/// other address as it is.
pub fn normalize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        IpAddr::V4(_) => ip,
    }
}

/// Parses a port as sshd prints it (`%d`): ASCII digits without sign, spaces or leading zeros,
/// 0–65535. One spelling per port, so a parsed port can be found again in the text.
pub fn parse_port(text: &str) -> Option<u16> {
    let canonical = match text.as_bytes() {
        [b'0'] => true,
        [b'1'..=b'9', rest @ ..] => rest.len() < 5 && rest.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    if !canonical {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn ipv4_mapped_ipv6_becomes_ipv4() {
        assert_eq!(
            parse_ip("::ffff:10.0.0.2"),
            Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)))
        );
        assert_eq!(
            parse_ip("::FFFF:a00:2"),
            Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)))
        );
    }

    #[test]
    fn ipv4_compatible_and_plain_ipv6_stay_ipv6() {
        // `::10.0.0.2` is the deprecated IPv4-compatible form, not a mapped one.
        assert!(matches!(parse_ip("::10.0.0.2"), Some(IpAddr::V6(_))));
        assert_eq!(
            parse_ip("2001:db8::5"),
            Some(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 5)))
        );
    }

    #[test]
    fn scope_id_is_dropped_on_ipv6_only() {
        assert_eq!(
            parse_ip("fe80::1%eth0"),
            Some(IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)))
        );
        assert_eq!(parse_ip("10.0.0.2%eth0"), None);
        assert_eq!(parse_ip("fe80::1%"), None);
    }

    #[test]
    fn rejects_non_addresses() {
        for text in [
            "",
            "UNKNOWN",
            "10.0.0",
            "10.0.0.256",
            "010.0.0.2",
            " 10.0.0.2",
            "host.example",
        ] {
            assert_eq!(parse_ip(text), None, "{text:?}");
        }
        assert_eq!(parse_ip(&"1".repeat(65)), None);
    }

    #[test]
    fn ports_are_plain_decimal() {
        assert_eq!(parse_port("22"), Some(22));
        assert_eq!(parse_port("65535"), Some(65535));
        assert_eq!(parse_port("0"), Some(0));
        for text in [
            "", "+22", "-1", "65536", "2 2", "0x16", "000022", "022", "00", "123456",
        ] {
            assert_eq!(parse_port(text), None, "{text:?}");
        }
    }
}
