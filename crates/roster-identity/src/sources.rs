//! Where a login comes from: the address login throttling counts failures by.
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

/// Most `x-forwarded-for` hops read, from the nearest: a longer chain of trusted proxies
/// is a misconfiguration, and the header is the client's to make long.
const MAX_FORWARDED_HOPS: usize = 16;

/// Most entries `ROSTER_TRUSTED_PROXIES` may list.
const MAX_TRUSTED_PROXIES: usize = 256;

/// One address or network (`10.0.0.0/8`, `::1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    fn contains(self, ip: IpAddr) -> bool {
        match (self.address, canonical(ip)) {
            (IpAddr::V4(network), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(network) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(network) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Network {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (address, prefix) = text
            .split_once('/')
            .map_or((text, None), |(a, p)| (a, Some(p)));
        let address: IpAddr = address
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or CIDR"))?;
        let address = canonical(address);
        let longest = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => longest,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|prefix| *prefix <= longest)
                .ok_or_else(|| format!("{text:?} has a prefix length over {longest}"))?,
        };
        Ok(Self { address, prefix })
    }
}

/// An IPv4 client seen through an IPv6 socket (`::ffff:1.2.3.4`) as the IPv4 address it
/// is, so both spellings count as one source.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// The proxies whose `x-forwarded-for` header is believed (`ROSTER_TRUSTED_PROXIES`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Network>);

impl FromStr for TrustedProxies {
    type Err = String;

    /// A comma-separated list of addresses and CIDRs; empty trusts none.
    fn from_str(text: &str) -> Result<Self, String> {
        let networks = text
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(Network::from_str)
            .collect::<Result<Vec<_>, _>>()?;
        if networks.len() > MAX_TRUSTED_PROXIES {
            return Err(format!("at most {MAX_TRUSTED_PROXIES} entries"));
        }
        Ok(Self(networks))
    }
}

impl TrustedProxies {
    fn trust(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(ip))
    }

    /// The source of a call from `peer` carrying the `x-forwarded-for` values `forwarded`
    /// (in header order): the peer, or while the peer is a trusted proxy, the hop it
    /// forwarded for, read from the right (the entries left of a hop that is not trusted
    /// are that hop's to invent). A hop that is not an address stops the walk at the
    /// proxy that sent it. A call with no peer address (no TCP) counts as one unknown
    /// source.
    pub(crate) fn source<'a>(
        &self,
        peer: Option<SocketAddr>,
        forwarded: impl Iterator<Item = &'a str>,
    ) -> IpAddr {
        let Some(peer) = peer else {
            return IpAddr::V6(Ipv6Addr::UNSPECIFIED);
        };
        let mut source = canonical(peer.ip());
        if !self.trust(source) {
            return source;
        }
        let hops: Vec<&str> = forwarded.flat_map(|value| value.split(',')).collect();
        for hop in hops.iter().rev().take(MAX_FORWARDED_HOPS) {
            let Some(hop) = parse_hop(hop.trim()) else {
                break;
            };
            source = hop;
            if !self.trust(source) {
                break;
            }
        }
        source
    }
}

/// One `x-forwarded-for` entry: an address, possibly with a port (`1.2.3.4:80`,
/// `[::1]:80`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|address| address.ip()))
        .ok()
        .map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(address: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(address.parse().unwrap(), 40_000))
    }

    fn ip(address: &str) -> IpAddr {
        address.parse().unwrap()
    }

    #[test]
    fn parses_addresses_and_networks() {
        let trusted: TrustedProxies = " 10.0.0.0/8, ::1 ,192.168.1.7".parse().unwrap();
        assert!(trusted.trust(ip("10.200.3.4")));
        assert!(trusted.trust(ip("::1")));
        assert!(trusted.trust(ip("::ffff:192.168.1.7")));
        assert!(!trusted.trust(ip("192.168.1.8")));
        assert!(!trusted.trust(ip("11.0.0.1")));
        assert_eq!(
            "".parse::<TrustedProxies>().unwrap(),
            TrustedProxies::default()
        );
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
        assert!("proxy.local".parse::<TrustedProxies>().is_err());
        assert!(
            "0.0.0.0/0"
                .parse::<TrustedProxies>()
                .unwrap()
                .trust(ip("8.8.8.8"))
        );
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_peer() {
        let trusted: TrustedProxies = "127.0.0.1".parse().unwrap();
        let header = ["203.0.113.9"];
        assert_eq!(
            trusted.source(peer("198.51.100.1"), header.into_iter()),
            ip("198.51.100.1")
        );
        assert_eq!(
            trusted.source(peer("127.0.0.1"), header.into_iter()),
            ip("203.0.113.9")
        );
        assert_eq!(
            TrustedProxies::default().source(peer("127.0.0.1"), header.into_iter()),
            ip("127.0.0.1")
        );
        assert_eq!(
            trusted.source(peer("127.0.0.1"), std::iter::empty()),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn hops_are_read_from_the_right_through_trusted_proxies() {
        let trusted: TrustedProxies = "127.0.0.1, 10.0.0.0/8".parse().unwrap();
        // The client wrote 1.1.1.1 itself; 203.0.113.9 reached the first proxy.
        let header = ["1.1.1.1, 203.0.113.9", "10.1.2.3"];
        assert_eq!(
            trusted.source(peer("127.0.0.1"), header.into_iter()),
            ip("203.0.113.9")
        );
        assert_eq!(
            trusted.source(peer("127.0.0.1"), ["[2001:db8::5]:443"].into_iter()),
            ip("2001:db8::5")
        );
        // Garbage stops at the proxy that forwarded it.
        assert_eq!(
            trusted.source(peer("127.0.0.1"), ["203.0.113.9, unknown"].into_iter()),
            ip("127.0.0.1")
        );
        assert_eq!(
            trusted.source(None, header.into_iter()),
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        );
    }
}
