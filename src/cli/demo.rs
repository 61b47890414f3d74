//! `mypay demo`'s data and banner. Without `--upstream` the demo is its own pagoPA station (with
//! the simulator), and so also the regional node of a box demo: its org's SIL password is the
//! demo's, printed. With `--upstream URL` (upstream mode) it is a municipality's box behind that
//! node: the org is seeded with the region demo's credentials, mirrored, and the banner prints the
//! command that makes the region demo push outcomes here. The secrets printed are the demo's
//! public values (`services::demo`) and, once, the operator's generated password.

use std::io::Write;

use super::CliError;
use crate::clock::Now;
use crate::config::Config;
use crate::services::demo::{self, DemoRole, Seeded};
use crate::store::Db;

/// Seeds the demo for the mode `config` is in: a box in upstream mode, a station otherwise.
pub fn seed(db: &Db, config: &Config, now: Now) -> Result<Seeded, CliError> {
    let role = if config.upstream.is_some() { DemoRole::Box } else { DemoRole::Station };
    Ok(demo::seed_as(db, now, role)?)
}

/// The demo's lines after the listening line: what was seeded, where to go, the credentials to use.
/// `base` is the address the server answers on.
pub fn banner(out: &mut impl Write, config: &Config, seeded: &Seeded, base: &str) {
    let ipa = demo::DEMO_IPA;
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
    let _ = writeln!(out, "  portale cittadino: {base}/");
    let Some((operator_password, _)) = created else { return };
    let _ = writeln!(out, "  area operatori: {base}/operatore");
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
            let public = config.server.public_url.as_ref().map_or(base, |url| url.as_str().trim_end_matches('/'));
            let _ = writeln!(
                out,
                "  {ipa} reaches the regional node with the demo's SIL password {}; to have it push outcomes \
                 here, run on the region demo's data directory (the key is public, demo only):",
                demo::DEMO_SIL_PASSWORD
            );
            let _ = writeln!(out, "    {}", push_command(public));
        }
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
