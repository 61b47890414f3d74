//! `mypay demo`'s data, addresses and banner. Without `--upstream` the demo is its own pagoPA
//! station (with the simulator), and so also the regional node of a box demo: its org's SIL
//! password is the demo's, printed. With `--upstream URL` (upstream mode) it is a municipality's box
//! behind that node: the org is seeded with the region demo's credentials, mirrored, and the banner
//! prints the command that makes the region demo push outcomes here. The secrets printed are the
//! demo's public values (`services::demo`) and, once, the operator's generated password.
//!
//! Addresses: what the banner prints must open in a browser, also on another machine of the LAN
//! or through `docker run -p`. So the portal's address is `server.public_url` when given, else
//! the address listened on, else (all interfaces) the machine's own network address; the simulator
//! listens on the same interfaces, on the next port, and its pages are given to browsers on the
//! portal's host. mypay and the simulator call each other on loopback.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};

use super::CliError;
use crate::clock::Now;
use crate::config::{Config, HttpUrl};
use crate::services::demo::{self, DemoRole, Seeded};
use crate::store::Db;

/// Seeds the demo for the mode `config` is in: a box in upstream mode, a station otherwise.
pub fn seed(db: &Db, config: &Config, now: Now) -> Result<Seeded, CliError> {
    let role = if config.upstream.is_some() { DemoRole::Box } else { DemoRole::Station };
    Ok(demo::seed_as(db, now, role)?)
}

/// Where browsers open the demo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addresses {
    /// The portal's address, without a trailing slash: the new `server.public_url`.
    pub public: String,
    /// The machine's other addresses (listening on all interfaces), same port.
    pub others: Vec<String>,
    /// Listening on all interfaces without `server.public_url`: the address was picked here, so the
    /// banner says how to give another one.
    pub picked: bool,
    /// No network address was found: only this machine can open the demo.
    pub local_only: bool,
    /// This process runs in a container ([`in_container`], asked by the caller): the address
    /// picked is the container's, which other machines do not reach.
    pub in_container: bool,
}

/// The simulator's port: the one after mypay's, so that a firewall rule or `docker run -p` can
/// name it; a free one when mypay's was picked freely (port 0).
pub fn simulator_port(port: u16) -> u16 {
    if port == 0 { 0 } else { port.checked_add(1).unwrap_or(0) }
}

/// The demo's addresses: `configured` (`server.public_url`; a port 0 in it becomes the port of
/// `bound`), else `bound` when it is one address, else the first of `machine` (the machine's
/// network addresses, asked only then) of a family `bound` accepts, else loopback.
pub fn addresses(
    configured: Option<&HttpUrl>,
    scheme: &str,
    bound: SocketAddr,
    machine: impl FnOnce() -> Vec<IpAddr>,
) -> Addresses {
    let url = |ip: IpAddr| format!("{scheme}://{}", SocketAddr::new(ip, bound.port()));
    if let Some(configured) = configured {
        let base = configured.base();
        let public = match base.strip_suffix(":0") {
            Some(host) => format!("{host}:{}", bound.port()),
            None => base.to_owned(),
        };
        return Addresses { public, others: Vec::new(), picked: false, local_only: false, in_container: false };
    }
    if !bound.ip().is_unspecified() {
        return Addresses {
            public: url(bound.ip()),
            others: Vec::new(),
            picked: false,
            local_only: false,
            in_container: false,
        };
    }
    // A socket on 0.0.0.0 takes IPv4 only; one on [::] takes both (Linux's default).
    let accepted: Vec<String> = machine().into_iter().filter(|ip| bound.is_ipv6() || ip.is_ipv4()).map(url).collect();
    match accepted.split_first() {
        Some((first, rest)) => Addresses {
            public: first.clone(),
            others: rest.to_vec(),
            picked: true,
            local_only: false,
            in_container: false,
        },
        None => Addresses {
            public: url(crate::net::reachable_here(bound).ip()),
            others: Vec::new(),
            picked: true,
            local_only: true,
            in_container: false,
        },
    }
}

/// The host of the portal's address as a URL writes it (brackets kept on an IPv6 address), for
/// the simulator's pages.
pub fn public_host(public: &str) -> Option<String> {
    let host = super::cert::url_host(public)?;
    Some(if host.contains(':') { format!("[{host}]") } else { host.to_owned() })
}

/// The demo's settings before it runs, as `config show --demo` and `reporting fetch --demo` see
/// them: the public address as it will be (all interfaces: the machine's) and, unless a Node is
/// configured, its simulator on the next port of loopback.
pub fn wire_for_commands(config: &mut Config) -> Result<(), CliError> {
    let listen = config.server.listen;
    if config.server.public_url.is_none() || config.server.public_url.as_ref().is_some_and(|u| u.base().ends_with(":0"))
    {
        let scheme = if config.tls.material.is_some() { "https" } else { "http" };
        let found = addresses(config.server.public_url.as_ref(), scheme, listen, crate::net::machine_addresses);
        config.set_public_url(HttpUrl::parse(&found.public).map_err(CliError::System)?);
    }
    let port = simulator_port(listen.port());
    if config.upstream.is_none() && config.node.base_url.is_none() && port != 0 {
        let at = crate::net::reachable_here(SocketAddr::new(listen.ip(), port));
        config.set_node_base_url(HttpUrl::parse(&format!("http://{at}")).map_err(CliError::System)?);
    }
    Ok(())
}

/// Whether this process runs in a container (Docker, Podman): the machine's address found is then
/// the container's, which other machines do not reach.
pub fn in_container() -> bool {
    std::path::Path::new("/.dockerenv").exists() || std::path::Path::new("/run/.containerenv").exists()
}

/// The demo's lines after the listening line: what was seeded, where to go, the credentials to use.
/// `simulator` is where mypay reaches its simulator, for `reporting fetch --node`.
pub fn banner(out: &mut impl Write, config: &Config, seeded: &Seeded, found: &Addresses, simulator: Option<&str>) {
    let ipa = demo::DEMO_IPA;
    let base = found.public.as_str();
    let created = match seeded {
        Seeded::Created { operator_password, debts } => Some((operator_password, debts)),
        Seeded::AlreadyThere => None,
    };
    match (created, &config.upstream) {
        (Some((_, debts)), None) => {
            let _ = writeln!(out, "demo data created: org {ipa} with {debts} debts");
        }
        (Some((_, debts)), Some(upstream)) => {
            let _ = writeln!(
                out,
                "demo data created: org {ipa} with {debts} debts, queued for the regional node at {}",
                upstream.url
            );
        }
        (None, _) => {
            let _ = writeln!(out, "demo data already present in {}", config.data_dir.display());
        }
    }
    let _ = writeln!(out, "  citizen portal: {base}/");
    let _ = writeln!(out, "  operator area: {base}/operatore");
    for other in &found.others {
        let _ = writeln!(out, "  also reachable at: {other}/");
    }
    if found.local_only {
        let _ = writeln!(
            out,
            "  no network address found: only this machine can open these; to open the demo from another \
             machine, set server.public_url (MYPAY_SERVER_PUBLIC_URL) to the address it reaches this one at"
        );
    } else if found.picked && found.in_container {
        let _ = writeln!(
            out,
            "  in a container these are the container's addresses: to open the demo from another machine, run \
             it with -e MYPAY_SERVER_PUBLIC_URL=http://<host address>:<port> and publish the port and the next \
             one (the simulator's), e.g. -p 8080:8080 -p 8081:8081"
        );
    } else if found.picked {
        let _ = writeln!(
            out,
            "  listening on all interfaces: links and payments use {base}; to use another address, set \
             server.public_url (MYPAY_SERVER_PUBLIC_URL)"
        );
    }
    let Some((operator_password, _)) = created else {
        let _ = writeln!(
            out,
            "  operator login: user {0} (its password was shown when the demo data was created; to set another: \
             echo 'NEW PASSWORD' | mypay --data-dir {1} operator passwd --username {0} --password-stdin)",
            demo::DEMO_OPERATOR,
            config.data_dir.display()
        );
        return;
    };
    match &config.upstream {
        None => {
            let _ = writeln!(
                out,
                "  SIL web services ({base}/ws/pa/) of {ipa}: password {}  (public, demo only; a box demo \
                 uses it: mypay demo --upstream {base}/ws/pa/ ...)",
                demo::DEMO_SIL_PASSWORD
            );
        }
        Some(_) => {
            let _ = writeln!(
                out,
                "  {ipa} reaches the regional node with the demo's SIL password {}; to have it push outcomes \
                 here, run on the region demo's data directory (the key is public, demo only):",
                demo::DEMO_SIL_PASSWORD
            );
            let _ = writeln!(out, "    {}", push_command(base));
        }
    }
    if let Some(sim) = simulator {
        let _ = writeln!(
            out,
            "  reporting flows from the simulator: mypay --data-dir {} reporting fetch --demo --node {}",
            config.data_dir.display(),
            sim
        );
    }
    let _ =
        writeln!(out, "  operator login: user {} password {operator_password}  (shown only now)", demo::DEMO_OPERATOR);
}

/// The command that makes a region demo push the outcomes of the demo org to the box at `public`.
fn push_command(public: &str) -> String {
    format!(
        "printf '%s' '{}' | mypay --data-dir REGION_DATA_DIR org set {} --push-url {public}/upstream/esito \
         --push-kid {} --push-secret-stdin",
        demo::DEMO_PUSH_SECRET,
        demo::DEMO_IPA,
        demo::DEMO_PUSH_KID
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn bound(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_simulator_takes_the_next_port() {
        assert_eq!(simulator_port(8080), 8081);
        assert_eq!(simulator_port(0), 0);
        assert_eq!(simulator_port(65535), 0);
    }

    #[test]
    fn a_configured_address_wins_with_its_port_zero_made_the_bound_one() {
        let url = HttpUrl::parse("http://127.0.0.2:0/").unwrap();
        let found = addresses(Some(&url), "http", bound("0.0.0.0:41234"), || panic!("not asked"));
        assert_eq!(
            found,
            Addresses {
                public: "http://127.0.0.2:41234".to_owned(),
                others: vec![],
                picked: false,
                local_only: false,
                in_container: false
            }
        );
        let url = HttpUrl::parse("https://pagamenti.comune.example.it").unwrap();
        let found = addresses(Some(&url), "http", bound("0.0.0.0:8080"), || panic!("not asked"));
        assert_eq!(found.public, "https://pagamenti.comune.example.it");
    }

    #[test]
    fn one_address_listened_on_is_the_address() {
        let found = addresses(None, "http", bound("192.168.1.10:8080"), || panic!("not asked"));
        assert_eq!(found.public, "http://192.168.1.10:8080");
        assert!(!found.picked && found.others.is_empty());
    }

    #[test]
    fn all_interfaces_give_the_machine_addresses_of_the_family_accepted() {
        let machine = || vec![ip("192.168.1.10"), ip("fd00::5")];
        let v4 = addresses(None, "http", bound("0.0.0.0:8080"), machine);
        assert_eq!(
            v4,
            Addresses {
                public: "http://192.168.1.10:8080".to_owned(),
                others: vec![],
                picked: true,
                local_only: false,
                in_container: false
            }
        );
        let v6 = addresses(None, "http", bound("[::]:8080"), machine);
        assert_eq!(v6.public, "http://192.168.1.10:8080");
        assert_eq!(v6.others, vec!["http://[fd00::5]:8080".to_owned()]);
        let none = addresses(None, "http", bound("0.0.0.0:8080"), Vec::new);
        assert_eq!(
            none,
            Addresses {
                public: "http://127.0.0.1:8080".to_owned(),
                others: vec![],
                picked: true,
                local_only: true,
                in_container: false
            }
        );
    }

    #[test]
    fn a_second_start_says_where_to_go_and_how_to_get_a_password() {
        let config = Config::validate(crate::config::RawConfig::default(), crate::config::Mode::Demo, vec![]).unwrap();
        let mut found = addresses(None, "http", bound("0.0.0.0:8080"), || vec![ip("192.168.1.10")]);
        let mut out = Vec::new();
        banner(&mut out, &config, &Seeded::AlreadyThere, &found, Some("http://127.0.0.1:8081"));
        found.in_container = true;
        let mut boxed = Vec::new();
        banner(&mut boxed, &config, &Seeded::AlreadyThere, &found, None);
        assert!(String::from_utf8(boxed).unwrap().contains(
            "\n  in a container these are the container's addresses: to open the demo from another machine, run it \
             with -e MYPAY_SERVER_PUBLIC_URL=http://<host address>:<port> and publish the port and the next one (the \
             simulator's), e.g. -p 8080:8080 -p 8081:8081\n"
        ));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "demo data already present in ./mypay-data\n  \
             citizen portal: http://192.168.1.10:8080/\n  \
             operator area: http://192.168.1.10:8080/operatore\n  \
             listening on all interfaces: links and payments use http://192.168.1.10:8080; to use another address, \
             set server.public_url (MYPAY_SERVER_PUBLIC_URL)\n  \
             operator login: user demo (its password was shown when the demo data was created; to set another: \
             echo 'NEW PASSWORD' | mypay --data-dir ./mypay-data operator passwd --username demo --password-stdin)\n"
        );
    }

    #[test]
    fn the_simulator_is_given_to_browsers_on_the_portal_host() {
        assert_eq!(public_host("http://192.168.1.10:8080").as_deref(), Some("192.168.1.10"));
        assert_eq!(public_host("http://[fd00::5]:8080").as_deref(), Some("[fd00::5]"));
        assert_eq!(public_host("https://pagamenti.example.it").as_deref(), Some("pagamenti.example.it"));
    }
}
