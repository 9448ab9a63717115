//! IPv4 and IPv6 address ranges of `IpAddress` / `NotIpAddress`, parsed with `std::net`
//! (a range is an address and a prefix length; no crate needed for that).

use std::net::IpAddr;

/// An address range: `203.0.113.0/24`, `2001:db8::/32`; a bare address is its own range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cidr {
    V4 { net: u32, len: u8 },
    V6 { net: u128, len: u8 },
}

impl Cidr {
    /// Parses `addr[/len]`. Host bits below the prefix are ignored (`10.1.2.3/8` is `10.0.0.0/8`),
    /// as IAM reads them.
    pub(crate) fn parse(text: &str) -> Option<Cidr> {
        let (addr, len) = match text.trim().split_once('/') {
            Some((a, l)) if !l.is_empty() && l.chars().all(|c| c.is_ascii_digit()) => {
                (a, Some(l.parse::<u8>().ok()?))
            }
            Some(_) => return None,
            None => (text.trim(), None),
        };
        match addr.parse::<IpAddr>().ok()? {
            IpAddr::V4(a) => {
                let len = len.unwrap_or(32);
                (len <= 32).then(|| Cidr::V4 {
                    net: u32::from(a) & mask32(len),
                    len,
                })
            }
            IpAddr::V6(a) => {
                let len = len.unwrap_or(128);
                (len <= 128).then(|| Cidr::V6 {
                    net: u128::from(a) & mask128(len),
                    len,
                })
            }
        }
    }

    /// Whether `ip` is in the range. An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, what a
    /// dual-stack socket reports) is its IPv4 address.
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self, ip) {
            (Cidr::V4 { net, len }, IpAddr::V4(a)) => u32::from(a) & mask32(*len) == *net,
            (Cidr::V6 { net, len }, IpAddr::V6(a)) => u128::from(a) & mask128(*len) == *net,
            _ => false,
        }
    }
}

fn mask32(len: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
}

fn mask128(len: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn ranges_contain_their_addresses() {
        let cases: &[(&str, &str, bool)] = &[
            ("203.0.113.0/24", "203.0.113.7", true),
            ("203.0.113.0/24", "203.0.114.7", false),
            ("10.1.2.3/8", "10.200.0.1", true),
            ("10.0.0.1", "10.0.0.1", true),
            ("10.0.0.1", "10.0.0.2", false),
            ("10.0.0.1/32", "10.0.0.1", true),
            ("0.0.0.0/0", "192.168.1.1", true),
            ("0.0.0.0/0", "2001:db8::1", false),
            ("2001:db8::/32", "2001:db8:1::5", true),
            ("2001:db8::/32", "2001:db9::5", false),
            ("::/0", "fe80::1", true),
            ("2001:db8::1", "2001:db8::1", true),
            ("10.0.0.0/8", "::ffff:10.9.9.9", true),
            ("10.0.0.0/8", "2001:db8::1", false),
            ("2001:db8::/32", "10.0.0.1", false),
        ];
        for (range, addr, want) in cases {
            let cidr = Cidr::parse(range).expect(range);
            assert_eq!(cidr.contains(ip(addr)), *want, "{range} ∋ {addr}");
        }
    }

    #[test]
    fn bad_ranges_are_refused() {
        for bad in [
            "",
            "10.0.0.0/33",
            "2001:db8::/129",
            "10.0.0.0/",
            "10.0.0.0/x",
            "10.0.0/8",
            "host.example",
            "10.0.0.0/-1",
        ] {
            assert_eq!(Cidr::parse(bad), None, "{bad:?}");
        }
    }
}
