//! The host names the admin listener answers to (its own address, `localhost` for a loopback
//! one, and configured names such as a reverse proxy's).

use std::net::SocketAddr;

/// The host names (with port) the admin listener answers to.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts {
    exact: Vec<String>,
    /// Configured names, accepted with any port (a reverse proxy's public name).
    names: Vec<String>,
    /// A port on which any IP literal is accepted (a TLS listener on every address).
    any_ip_port: Option<u16>,
}

impl AllowedHosts {
    /// The listener's own address (and `localhost` for a loopback one), plus configured names.
    pub fn new(listen: SocketAddr, configured: &[String]) -> AllowedHosts {
        let port = listen.port();
        let mut exact = vec![match listen {
            SocketAddr::V4(a) => format!("{}:{port}", a.ip()),
            SocketAddr::V6(a) => format!("[{}]:{port}", a.ip()),
        }];
        if listen.ip().is_loopback() {
            exact.push(format!("localhost:{port}"));
        }
        AllowedHosts {
            exact,
            names: configured
                .iter()
                .map(|n| n.trim().to_ascii_lowercase())
                .collect(),
            any_ip_port: None,
        }
    }

    /// Adds the TLS listener: its own address, and, when it listens on every address, any
    /// IP address with its port (DNS rebinding needs a name, so IP literals are safe).
    pub fn with_tls_listener(mut self, tls: Option<SocketAddr>) -> AllowedHosts {
        if let Some(a) = tls {
            if a.ip().is_unspecified() {
                self.any_ip_port = Some(a.port());
            } else {
                let own = AllowedHosts::new(a, &[]);
                self.exact.extend(own.exact);
            }
        }
        self
    }

    /// Whether a `Host` value (or an Origin's host part) is one of ours.
    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        if self.exact.contains(&host) {
            return true;
        }
        if let Some(port) = self.any_ip_port
            && let Ok(addr) = host.parse::<SocketAddr>()
            && addr.port() == port
        {
            return true;
        }
        let name = match host.rsplit_once(':') {
            Some((n, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !n.ends_with(']') => n,
            Some((n, port)) if n.ends_with(']') && port.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => host.as_str(),
        };
        self.names.iter().any(|n| n == name || *n == host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_host_names_are_allowed() {
        let h = AllowedHosts::new(
            "127.0.0.1:7070".parse().expect("addr"),
            &["ilm.example.org".into()],
        );
        for ok in [
            "127.0.0.1:7070",
            "localhost:7070",
            "LOCALHOST:7070",
            "ilm.example.org",
            "ilm.example.org:443",
        ] {
            assert!(h.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example:7070",
            "127.0.0.1:7071",
            "localhost",
            "",
            "ilm.example.org.evil:443",
            "127.0.0.1:7070.evil",
        ] {
            assert!(!h.allows(bad), "{bad}");
        }
        let v6 = AllowedHosts::new("[::1]:7070".parse().expect("addr"), &[]);
        assert!(v6.allows("[::1]:7070") && v6.allows("localhost:7070"));
    }
}
