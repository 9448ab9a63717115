//! Where the host's kernel interfaces are read from. Normally `/`, but a container with the
//! host's root mounted elsewhere, or a test over a fixture tree, points it somewhere else.

use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct HostRoot {
    root: PathBuf,
}

impl Default for HostRoot {
    fn default() -> Self {
        HostRoot::new("/")
    }
}

impl HostRoot {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        HostRoot { root: root.into() }
    }

    pub fn is_real(&self) -> bool {
        self.root == Path::new("/")
    }

    pub fn sys_block(&self) -> PathBuf {
        self.root.join("sys/class/block")
    }

    pub fn sys(&self) -> PathBuf {
        self.root.join("sys")
    }

    /// The device node (or, in a fixture, a small file standing for its first bytes).
    pub fn dev(&self, name: &str) -> PathBuf {
        self.root.join("dev").join(name)
    }

    /// The host's `/proc` (kernel-wide parts of it: a container's is the host kernel's).
    pub fn proc(&self) -> PathBuf {
        self.root.join("proc")
    }

    /// The host's `/boot`, where distributions keep the kernel's config.
    pub fn boot(&self) -> PathBuf {
        self.root.join("boot")
    }

    pub fn mountinfo(&self) -> PathBuf {
        self.root.join("proc/self/mountinfo")
    }

    pub fn swaps(&self) -> PathBuf {
        self.root.join("proc/swaps")
    }

    pub fn udev_data(&self, major_minor: &str) -> PathBuf {
        self.root
            .join("run/udev/data")
            .join(format!("b{major_minor}"))
    }
}
