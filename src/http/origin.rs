//! Where providers and phones reach hookscope: the origin the page, the booth's QR code, copy-as-curl and the
//! banner show. `--public-url` when given (a tunnel's address); listening on all addresses without it, the address
//! of the interface that holds the default route, since 127.0.0.1 is what a phone scanning the booth's code cannot
//! reach; otherwise the Host the browser used.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};

/// The origin to advertise for a server bound to `bound`, if it is not simply the Host a browser used.
pub fn advertised(public_url: Option<&str>, bound: SocketAddr) -> Option<String> {
    if let Some(url) = public_url {
        return Some(url.to_owned());
    }
    if !bound.ip().is_unspecified() {
        return None;
    }
    let address = default_route_address().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    Some(format!("http://{}", SocketAddr::new(address, bound.port())))
}

/// The local address the kernel would send from to reach the world, which is the default route's interface. A UDP
/// `connect` only picks the route: no packet is sent. The destination is in TEST-NET-1 (RFC 5737), an address that
/// is never anyone's.
fn default_route_address() -> Option<IpAddr> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    socket.connect((Ipv4Addr::new(192, 0, 2, 1), 9)).ok()?;
    let address = socket.local_addr().ok()?.ip();
    (!address.is_loopback() && !address.is_unspecified()).then_some(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_url_wins_and_a_specific_address_leaves_it_to_the_host_header() {
        let any: SocketAddr = "0.0.0.0:8080".parse().expect("address");
        let local: SocketAddr = "127.0.0.1:8080".parse().expect("address");
        assert_eq!(
            advertised(Some("https://t.example.dev"), any).as_deref(),
            Some("https://t.example.dev")
        );
        assert_eq!(advertised(None, local), None);
        let lan = advertised(None, any).expect("an address for all interfaces");
        assert!(lan.starts_with("http://") && lan.ends_with(":8080"), "{lan}");
        assert!(!lan.contains("0.0.0.0"), "{lan}");
    }
}
