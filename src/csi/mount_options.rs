//! The mount options of a volume (a StorageClass's or PV's `mountOptions`, which the kubelet
//! passes as the capability's `mount_flags`): those a bind mount can take are applied to the
//! staging and publish mounts, every other one is refused by name. A volume is a directory
//! of a drive that other volumes share, so filesystem options (`discard`, `sync`, `inode64`,
//! `uid=`, …) could only apply to the whole drive, and are never silently dropped.

use std::fmt;

/// What mount(8) calls the per-mount options, which a bind mount takes.
pub const BIND_OPTIONS: &str = "ro, rw, nosuid, suid, nodev, dev, noexec, exec, noatime, \
    relatime, strictatime, atime, nodiratime, diratime, nosymfollow, symfollow, defaults, bind";

/// Per-mount flags a bind remount would otherwise reset: the remount sets all of them at
/// once. statvfs's `f_flag` bits are the MS_* bits for these (linux/statfs.h).
const KEPT_FLAGS: libc::c_ulong = libc::MS_NOSUID
    | libc::MS_NODEV
    | libc::MS_NOEXEC
    | libc::MS_NOATIME
    | libc::MS_NODIRATIME
    | libc::MS_RELATIME
    | libc::MS_NOSYMFOLLOW;
const ATIME_FLAGS: libc::c_ulong = libc::MS_NOATIME | libc::MS_RELATIME | libc::MS_STRICTATIME;

/// On/off options: the name that sets the flag, the name that clears it.
const TOGGLES: [(&str, &str, libc::c_ulong); 5] = [
    ("nosuid", "suid", libc::MS_NOSUID),
    ("nodev", "dev", libc::MS_NODEV),
    ("noexec", "exec", libc::MS_NOEXEC),
    ("nodiratime", "diratime", libc::MS_NODIRATIME),
    ("nosymfollow", "symfollow", libc::MS_NOSYMFOLLOW),
];

/// What a staging or publish bind mount asks for beyond the bind itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BindOptions {
    pub read_only: bool,
    /// Flags to set and to clear (of [`TOGGLES`]); the mount's other flags are inherited.
    set: libc::c_ulong,
    clear: libc::c_ulong,
    /// MS_NOATIME, MS_RELATIME or MS_STRICTATIME, when an option chose one.
    atime: Option<libc::c_ulong>,
}

/// Options a bind mount cannot take, by name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Unsupported(pub Vec<String>);

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.0.iter().map(|o| format!("{o:?}")).collect();
        write!(
            f,
            "mount option{} {} cannot be applied: a Strata volume is a bind mount of a \
             directory on a drive shared with other volumes, which takes only {BIND_OPTIONS}",
            if names.len() == 1 { "" } else { "s" },
            names.join(", ")
        )
    }
}

impl BindOptions {
    /// A plain bind, read-only or not.
    pub fn read_only(read_only: bool) -> BindOptions {
        BindOptions {
            read_only,
            ..BindOptions::default()
        }
    }

    /// Reads mount flags in order (a later option wins over an earlier one, as in mount(8));
    /// each may itself be a comma-separated list.
    pub fn parse<S: AsRef<str>>(flags: &[S]) -> Result<BindOptions, Unsupported> {
        let mut o = BindOptions::default();
        let mut bad = Vec::new();
        let names = flags.iter().flat_map(|f| f.as_ref().split(','));
        for name in names.map(str::trim).filter(|n| !n.is_empty()) {
            if !o.apply(name) {
                bad.push(name.to_string());
            }
        }
        if bad.is_empty() {
            Ok(o)
        } else {
            Err(Unsupported(bad))
        }
    }

    /// Applies one option; false when a bind mount cannot take it.
    fn apply(&mut self, name: &str) -> bool {
        if let Some((on, _, flag)) = TOGGLES
            .iter()
            .find(|(on, off, _)| name == *on || name == *off)
        {
            if name == *on {
                self.set |= flag;
                self.clear &= !flag;
            } else {
                self.clear |= flag;
                self.set &= !flag;
            }
            return true;
        }
        match name {
            "ro" => self.read_only = true,
            "rw" => self.read_only = false,
            "noatime" => self.atime = Some(libc::MS_NOATIME),
            // `atime` leaves access times to the kernel's default, relatime.
            "relatime" | "atime" => self.atime = Some(libc::MS_RELATIME),
            "strictatime" => self.atime = Some(libc::MS_STRICTATIME),
            // What every volume mount is anyway.
            "defaults" | "bind" => {}
            _ => return false,
        }
        true
    }

    /// Also read-only (the request's `readonly`, a reader-only access mode).
    pub fn or_read_only(self, read_only: bool) -> BindOptions {
        BindOptions {
            read_only: self.read_only || read_only,
            ..self
        }
    }

    /// Whether the bind needs a second step: the kernel ignores every flag but MS_BIND (and
    /// MS_REC) on the first.
    pub fn needs_remount(&self) -> bool {
        *self != BindOptions::default()
    }

    /// The flags of the `MS_REMOUNT|MS_BIND` that applies these options to a fresh bind whose
    /// statvfs `f_flag` is given: what the bind inherited stays unless an option changes it.
    pub fn remount_flags(&self, f_flag: libc::c_ulong) -> libc::c_ulong {
        let mut flags = (f_flag & KEPT_FLAGS | self.set) & !self.clear;
        match self.atime {
            Some(atime) => flags = flags & !ATIME_FLAGS | atime,
            // Neither means strictatime; left out, the kernel would default to relatime.
            None if f_flag & (libc::MS_NOATIME | libc::MS_RELATIME) == 0 => {
                flags |= libc::MS_STRICTATIME
            }
            None => {}
        }
        if self.read_only {
            flags |= libc::MS_RDONLY;
        }
        flags | libc::MS_REMOUNT | libc::MS_BIND
    }

    /// Whether a mount with these per-mount options (as mountinfo prints them: `ro,nosuid,…`)
    /// is what these options make, so that a repeated stage or publish can be told from one
    /// asking for something else.
    pub fn shown_by(&self, mount_options: &str) -> bool {
        let has = |o: &str| mount_options.split(',').any(|m| m == o);
        if has("ro") != self.read_only {
            return false;
        }
        let toggles_ok = TOGGLES.iter().all(|(on, _, flag)| {
            (self.set & flag == 0 || has(on)) && (self.clear & flag == 0 || !has(on))
        });
        let atime_ok = match self.atime {
            None => true,
            Some(libc::MS_NOATIME) => has("noatime"),
            Some(libc::MS_RELATIME) => has("relatime"),
            Some(_) => !has("noatime") && !has("relatime"),
        };
        toggles_ok && atime_ok
    }

    /// The per-mount options mountinfo shows for a fresh bind with these options of a
    /// filesystem mounted `rw,relatime`: what the in-memory mount table of the node tests
    /// records.
    #[cfg(test)]
    pub fn shown_as(&self) -> String {
        let flags = self.remount_flags(libc::MS_RELATIME);
        let mut shown = vec![if flags & libc::MS_RDONLY != 0 {
            "ro"
        } else {
            "rw"
        }];
        for (on, _, flag) in TOGGLES {
            if flags & flag != 0 {
                shown.push(on);
            }
        }
        if flags & libc::MS_NOATIME != 0 {
            shown.push("noatime");
        } else if flags & libc::MS_RELATIME != 0 {
            shown.push("relatime");
        }
        shown.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libc::{MS_BIND, MS_REMOUNT};

    const BASE: libc::c_ulong = MS_REMOUNT | MS_BIND;

    #[test]
    fn per_mount_options_are_taken_in_order_and_the_rest_refused_by_name() {
        let o = BindOptions::parse(&["nosuid,nodev", "noexec", "noatime"]).unwrap();
        assert!(!o.read_only);
        assert_eq!(
            o.remount_flags(0),
            BASE | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC | libc::MS_NOATIME
        );
        assert!(BindOptions::parse(&["ro", "rw"]).unwrap() == BindOptions::default());
        assert!(BindOptions::parse(&["rw", "ro"]).unwrap().read_only);
        assert_eq!(
            BindOptions::parse::<&str>(&[]).unwrap(),
            BindOptions::default()
        );
        assert!(!BindOptions::parse(&["defaults", "bind", " "])
            .unwrap()
            .needs_remount());
        let err = BindOptions::parse(&["noatime", "discard", "uid=1000,sync"]).unwrap_err();
        assert_eq!(err.0, ["discard", "uid=1000", "sync"]);
        let text = err.to_string();
        assert!(
            text.starts_with("mount options \"discard\", \"uid=1000\", \"sync\""),
            "{text}"
        );
    }

    #[test]
    fn a_remount_keeps_inherited_flags_unless_an_option_changes_them() {
        let inherited = libc::ST_NOSUID | libc::ST_NODEV | libc::ST_NOATIME;
        assert_eq!(libc::ST_NOSUID, libc::MS_NOSUID);
        assert_eq!(libc::ST_NOATIME, libc::MS_NOATIME);
        let ro = BindOptions::read_only(true);
        assert_eq!(
            ro.remount_flags(inherited),
            BASE | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOATIME
        );
        assert_eq!(
            ro.remount_flags(libc::MS_RELATIME | libc::ST_RDONLY),
            BASE | libc::MS_RDONLY | libc::MS_RELATIME
        );
        assert_eq!(
            ro.remount_flags(0),
            BASE | libc::MS_RDONLY | libc::MS_STRICTATIME
        );
        let o = BindOptions::parse(&["suid", "strictatime", "exec"]).unwrap();
        assert_eq!(
            o.remount_flags(inherited),
            BASE | libc::MS_NODEV | libc::MS_STRICTATIME
        );
        let o = BindOptions::parse(&["relatime"]).unwrap();
        assert_eq!(
            o.remount_flags(inherited),
            BASE | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_RELATIME
        );
    }

    #[test]
    fn mounts_are_compared_by_what_was_asked() {
        let o = BindOptions::parse(&["nosuid", "noatime", "exec"]).unwrap();
        assert!(o.shown_by("rw,nosuid,nodev,noatime"));
        assert!(!o.shown_by("rw,nosuid,noexec,noatime"), "exec was asked");
        assert!(!o.shown_by("ro,nosuid,noatime"));
        assert!(!o.shown_by("rw,nosuid,relatime"));
        let o = BindOptions::parse(&["strictatime", "ro"]).unwrap();
        assert!(o.shown_by("ro,nodev"));
        assert!(!o.shown_by("ro,relatime"));
        assert!(BindOptions::default().shown_by("rw,noatime"));
        assert!(!BindOptions::default().shown_by("ro,noatime"));
    }
}
