//! Log set-up shared by the binaries: `tracing` to stderr, level from `RUST_LOG` (default warn;
//! s3s logs every 4xx answer at error level, so it is off unless asked for: the HTTP front logs
//! server errors itself).

pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,s3s=off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only for a terminal: log files and collectors get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
