//! `drivectl`: discover, format, tier, mount and release the drives of this node.

use crate::cli::table::Table;
use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use strata_drive::model::{human_size, Device};
use strata_drive::ops::{FormatOptions, FormatOutcome, Node};
use strata_drive::registry::DriveState;
use strata_drive::{sys, HostRoot, StateDir, Status, Tier};

#[derive(Parser, Debug)]
#[command(
    name = "drivectl",
    version,
    about = "Discover, format, tier and mount Strata drives"
)]
pub struct Cli {
    /// Strata's state directory on this node; drives mount under <state-dir>/mnt.
    #[arg(
        long,
        global = true,
        default_value = "/var/lib/strata",
        env = "STRATA_STATE_DIR"
    )]
    state_dir: PathBuf,
    /// Read sysfs, /dev, /proc and the udev database below this directory (the host's root
    /// mounted in a container, or a fixture tree).
    #[arg(long, global = true, default_value = "/", env = "STRATA_HOST_ROOT")]
    host_root: PathBuf,
    /// Node name recorded on formatted drives [default: $NODE_NAME or the hostname].
    #[arg(long, global = true)]
    node: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List block devices: usable ones by default, every device with --all.
    List(ListArgs),
    /// Format devices as Strata drives (XFS, project quotas) and mount them.
    Format(FormatArgs),
    /// Override the tier of a Strata drive.
    Tier {
        /// Drive id, device (sdb, /dev/sdb) or mount point.
        drive: String,
        /// hot, warm or cold.
        tier: String,
    },
    /// Mount every Strata drive where it belongs, whatever its device name is now.
    Mount {
        /// Also adopt unused Strata drives formatted for this node that this state directory
        /// does not know (rebuilds a lost registry).
        #[arg(long)]
        rebuild: bool,
    },
    /// Unmount a Strata drive and wipe its signature (refused while it holds volumes).
    Release {
        drives: Vec<String>,
        /// Required: releasing destroys the drive's Strata identity.
        #[arg(long)]
        dangerous: bool,
    },
}

#[derive(clap::Args, Debug)]
struct ListArgs {
    /// Show every device, with the reasons it cannot be used.
    #[arg(long)]
    all: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Table)]
    output: Output,
    /// Only devices with this status (available, unavailable, strata); repeatable.
    #[arg(long)]
    status: Vec<String>,
    /// Only devices of this tier (hot, warm, cold); repeatable.
    #[arg(long)]
    tier: Vec<String>,
    /// Only these devices (name, /dev path or drive id); repeatable.
    #[arg(long)]
    drive: Vec<String>,
}

#[derive(clap::Args, Debug)]
struct FormatArgs {
    /// Devices to format (sdb, /dev/sdb, /dev/disk/by-id/…).
    #[arg(required = true)]
    devices: Vec<String>,
    /// Required: formatting destroys whatever is on the devices.
    #[arg(long)]
    dangerous: bool,
    /// Also format devices that carry a filesystem or other signature.
    #[arg(long)]
    force: bool,
    /// Record this tier instead of the detected one.
    #[arg(long)]
    tier: Option<String>,
    /// Format even if this kernel cannot enable XFS project quotas (volumes are then not
    /// size-limited).
    #[arg(long)]
    allow_no_quota: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
enum Output {
    Table,
    Wide,
    Json,
    Yaml,
}

pub fn main() -> ExitCode {
    crate::logging::init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("drivectl: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let node = Node::new(
        HostRoot::new(&cli.host_root),
        StateDir::new(&cli.state_dir),
        cli.node.unwrap_or_else(sys::node_name),
    );
    match cli.command {
        Command::List(args) => list(&node, &args),
        Command::Format(args) => format(&node, &args),
        Command::Tier { drive, tier } => {
            let tier: Tier = tier.parse().map_err(anyhow::Error::msg)?;
            let rec = node.set_tier(&drive, tier)?;
            println!(
                "drive {} ({}) is now {}",
                rec.drive_id, rec.device, rec.tier
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Mount { rebuild } => mount(&node, rebuild),
        Command::Release { drives, dangerous } => release(&node, &drives, dangerous),
    }
}

fn list(node: &Node, args: &ListArgs) -> Result<ExitCode> {
    let statuses: Vec<Status> = parse_all(&args.status)?;
    let tiers: Vec<Tier> = parse_all(&args.tier)?;
    let devices: Vec<Device> = node
        .discover()?
        .into_iter()
        .filter(|d| args.all || !statuses.is_empty() || d.status != Status::Unavailable)
        .filter(|d| statuses.is_empty() || statuses.contains(&d.status))
        .filter(|d| tiers.is_empty() || tiers.contains(&d.tier))
        .filter(|d| args.drive.is_empty() || args.drive.iter().any(|k| matches_drive(d, k)))
        .collect();
    #[derive(Serialize)]
    struct Listing<'a> {
        devices: &'a [Device],
    }
    let listing = Listing { devices: &devices };
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&listing)?),
        Output::Yaml => print!("{}", serde_yaml::to_string(&listing)?),
        Output::Table | Output::Wide => {
            print!(
                "{}",
                device_table(&devices, args.all, args.output == Output::Wide)
            )
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_all<T: std::str::FromStr<Err = String>>(values: &[String]) -> Result<Vec<T>> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(|v| v.parse::<T>().map_err(anyhow::Error::msg))
        .collect()
}

fn matches_drive(d: &Device, key: &str) -> bool {
    d.name == key || d.path == key || d.drive_id.as_deref() == Some(key)
}

fn device_table(devices: &[Device], all: bool, wide: bool) -> String {
    let mut header = vec![
        "DEVICE",
        "SIZE",
        "TRANSPORT",
        "TIER",
        "MODEL",
        "STATUS",
        "DRIVE",
    ];
    if wide {
        header.extend(["SERIAL", "WWN", "FILESYSTEM", "MOUNTED"]);
    }
    if all {
        header.push("REASONS");
    }
    let mut t = Table::new(&header);
    for d in devices {
        let mut row = vec![
            d.path.clone(),
            human_size(d.size),
            d.transport.as_str().to_string(),
            d.tier.to_string(),
            d.model.clone().unwrap_or_else(|| "-".into()),
            d.status.as_str().to_string(),
            d.drive_id.clone().unwrap_or_else(|| "-".into()),
        ];
        if wide {
            let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
            row.extend([
                or_dash(&d.serial),
                or_dash(&d.wwn),
                or_dash(&d.filesystem),
                if d.mount_points.is_empty() {
                    "-".into()
                } else {
                    d.mount_points.join(",")
                },
            ]);
        }
        if all {
            let reasons: Vec<String> = d.reasons.iter().map(|r| d.explain(*r)).collect();
            row.push(if reasons.is_empty() {
                "-".into()
            } else {
                reasons.join("; ")
            });
        }
        t.row(row);
    }
    if t.is_empty() {
        return "no usable drives found (try --all)\n".to_string();
    }
    t.render()
}

fn format(node: &Node, args: &FormatArgs) -> Result<ExitCode> {
    if !args.dangerous {
        bail!(
            "formatting destroys all data on {}; add --dangerous to confirm",
            args.devices.join(", ")
        );
    }
    let opts = FormatOptions {
        force: args.force,
        tier: args
            .tier
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(anyhow::Error::msg)?,
        allow_no_quota: args.allow_no_quota,
    };
    let progress = |dev: &str, step: &str| eprintln!("{dev}: {step}");
    let results = node.format(&args.devices, &opts, &progress);
    let mut failed = 0;
    for (arg, res) in &results {
        match res {
            Ok(FormatOutcome::Formatted(r)) => println!(
                "formatted {arg}: drive {} ({}, {}{}) mounted at {}",
                r.drive_id,
                human_size(r.size),
                r.tier,
                if r.project_quota {
                    ", project quotas"
                } else {
                    ", NO project quotas"
                },
                r.mount_point.display()
            ),
            Ok(FormatOutcome::AlreadyStrata { drive_id }) => {
                println!("{arg}: already a Strata drive ({drive_id}); nothing to do")
            }
            Err(e) => {
                failed += 1;
                eprintln!("failed {arg}: {e}");
            }
        }
    }
    println!(
        "{} of {} device(s) ready, {failed} failed",
        results.len() - failed,
        results.len()
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn mount(node: &Node, rebuild: bool) -> Result<ExitCode> {
    let report = node.mount_all(rebuild)?;
    for r in &report.mounted {
        println!(
            "mounted drive {} ({}) at {}",
            r.drive_id,
            r.device,
            r.mount_point.display()
        );
    }
    for r in &report.missing {
        debug_assert_eq!(r.state, DriveState::Missing);
        println!("missing drive {} (last seen as {})", r.drive_id, r.device);
    }
    for (id, why) in &report.skipped {
        println!("skipped drive {id}: {why}");
    }
    for (id, e) in &report.failed {
        eprintln!("failed drive {id}: {e}");
    }
    if report.mounted.is_empty() && report.missing.is_empty() && report.failed.is_empty() {
        println!(
            "no Strata drives registered in {} (use --rebuild to adopt the drives found)",
            node.state.root().display()
        );
    }
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn release(node: &Node, drives: &[String], dangerous: bool) -> Result<ExitCode> {
    if drives.is_empty() {
        bail!("name the drive(s) to release");
    }
    if !dangerous {
        bail!(
            "releasing wipes the Strata signature of {}; add --dangerous to confirm",
            drives.join(", ")
        );
    }
    let mut failed = false;
    for key in drives {
        match node
            .release(key)
            .with_context(|| format!("releasing {key}"))
        {
            Ok(r) => println!("released drive {} ({})", r.drive_id, r.device),
            Err(e) => {
                failed = true;
                eprintln!("drivectl: {e:#}");
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
