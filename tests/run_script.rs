//! The README's first command, `hack/run.sh`, takes the arguments its comment promises (it
//! used to pass `--address` itself, so `--address 127.0.0.1:9100` failed with "cannot be used
//! multiple times").

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

#[test]
fn run_script_takes_an_address_and_serves_there() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(repo.join("hack/run.sh"))
        .args(["--address", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .env("STRATA_BIN", env!("CARGO_BIN_EXE_strata"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let endpoint = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("Strata S3 endpoint: ").map(str::to_string));
    let status = child.try_wait().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let endpoint = endpoint.unwrap_or_else(|| {
        let mut err = String::new();
        let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err);
        panic!("hack/run.sh printed no endpoint ({status:?}): {err}")
    });
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");
    assert!(
        !endpoint.ends_with(":9000"),
        "the default address won: {endpoint}"
    );
}
