//! The end-to-end tests' helpers: those of `strata-testkit` (loop devices, XFS drives, the
//! access trap), and `Lab`, a node's state directory driven through the `drivectl` binary.
#![allow(dead_code)]

pub use strata_testkit::*;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

/// A state directory whose drive mounts are unmounted when it is dropped.
pub struct Lab {
    pub dir: tempfile::TempDir,
    /// Each lab is its own node, so that labs running side by side never adopt each other's drives.
    pub node: String,
}

impl Lab {
    pub fn new() -> Lab {
        let dir = tempfile::tempdir().expect("tempdir");
        let node = format!("node-{}", dir.path().file_name().unwrap().to_string_lossy());
        Lab { dir, node }
    }

    pub fn state(&self) -> &Path {
        self.dir.path()
    }

    /// Runs drivectl with this lab's state directory.
    pub fn drivectl(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_drivectl"))
            .arg("--state-dir")
            .arg(self.state())
            .arg("--node")
            .arg(&self.node)
            .args(args)
            .output()
            .expect("run drivectl")
    }

    /// Runs drivectl and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.drivectl(args);
        assert!(
            out.status.success(),
            "drivectl {args:?} failed:\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn registry(&self) -> serde_json::Value {
        let text = fs::read_to_string(self.state().join("drives.json")).expect("registry");
        serde_json::from_str(&text).expect("registry json")
    }

    /// `drivectl list -o json` entries for one device.
    pub fn device(&self, name: &str) -> serde_json::Value {
        let out = self.ok(&["list", "--all", "-o", "json", "--drive", name]);
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        v["devices"][0].clone()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let mnt = self.state().join("mnt");
        if let Ok(entries) = fs::read_dir(&mnt) {
            for e in entries.flatten() {
                let _ = Command::new("umount").arg("-l").arg(e.path()).status();
            }
        }
    }
}
