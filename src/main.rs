//! `strata`: the object server, CSI driver and operator (subcommands land with their issues).

use std::process::ExitCode;

fn main() -> ExitCode {
    strata::logging::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--version") | Some("-V") => {
            println!("strata {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some(cmd @ ("server" | "csi" | "operator" | "bench")) => {
            eprintln!(
                "strata {cmd}: not implemented yet (see README.md, \"What is not done yet\")"
            );
            ExitCode::from(2)
        }
        _ => {
            eprintln!("usage: strata <server|csi|operator|bench> [ARGS]\n       drive management: drivectl --help");
            ExitCode::from(2)
        }
    }
}
