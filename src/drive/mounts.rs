//! Who uses a device: `/proc/self/mountinfo` and `/proc/swaps`.

use std::fs;
use std::path::Path;

/// One line of mountinfo, with paths unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    pub mount_id: u32,
    /// The mount this one sits on; for a mount stacked on the same path, the one below it.
    pub parent_id: u32,
    pub major_minor: String,
    /// The subtree of the filesystem shown here: `/` for a whole filesystem, the source
    /// directory (relative to its filesystem's root) for a bind mount.
    pub root: String,
    pub mount_point: String,
    pub fs_type: String,
    pub source: String,
    /// Per-mount options (`rw`/`ro`, `nosuid`, atime…).
    pub options: String,
    /// Filesystem-wide options (`rw`/`ro` of the superblock, `prjquota`…).
    pub super_options: String,
}

/// Parses mountinfo; an unreadable file yields no entries (discovery then sees nothing mounted,
/// and formatting still has the kernel's exclusive open as a last guard).
pub fn read_mountinfo(path: &Path) -> Vec<MountEntry> {
    fs::read_to_string(path)
        .map(|t| parse_mountinfo(&t))
        .unwrap_or_default()
}

pub fn parse_mountinfo(text: &str) -> Vec<MountEntry> {
    text.lines().filter_map(parse_mountinfo_line).collect()
}

// Format: id parent major:minor root mount-point options [optional fields…] - fstype source super-options
fn parse_mountinfo_line(line: &str) -> Option<MountEntry> {
    let (left, right) = line.split_once(" - ")?;
    let mut l = left.split(' ');
    let mount_id = l.next()?.parse().ok()?;
    let parent_id = l.next()?.parse().ok()?;
    let major_minor = l.next()?.to_string();
    let root = unescape_octal(l.next()?);
    let mount_point = unescape_octal(l.next()?);
    let options = l.next().unwrap_or("").to_string();
    let mut r = right.split(' ');
    let fs_type = r.next()?.to_string();
    let source = unescape_octal(r.next().unwrap_or(""));
    let super_options = r.next().unwrap_or("").to_string();
    Some(MountEntry {
        mount_id,
        parent_id,
        major_minor,
        root,
        mount_point,
        fs_type,
        source,
        options,
        super_options,
    })
}

/// The kernel escapes space, tab, newline and backslash as `\ooo`.
fn unescape_octal(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        // Work on bytes: slicing the str could split a multi-byte character.
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        if let (b'\\', Some(d)) = (bytes[i], octal) {
            let v = d.iter().fold(0u32, |v, c| v * 8 + u32::from(c - b'0'));
            if let Ok(b) = u8::try_from(v) {
                out.push(b);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Device paths listed in `/proc/swaps` (first column, header skipped).
pub fn read_swaps(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .map(|t| {
            t.lines()
                .skip(1)
                .filter_map(|l| l.split_whitespace().next())
                .map(unescape_octal)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mountinfo_with_optional_fields_and_escapes() {
        let text = "36 25 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw\n\
                    40 36 259:1 / /mnt/my\\040disk rw,noatime - xfs /dev/nvme0n1 rw,prjquota\n";
        let m = parse_mountinfo(text);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].major_minor, "8:2");
        assert_eq!(m[0].mount_point, "/");
        assert_eq!(m[0].fs_type, "ext4");
        assert_eq!(m[1].mount_point, "/mnt/my disk");
        assert_eq!(m[1].source, "/dev/nvme0n1");
        assert_eq!(m[1].options, "rw,noatime");
        assert_eq!(m[1].super_options, "rw,prjquota");
        assert_eq!((m[1].mount_id, m[1].parent_id), (40, 36));
        assert_eq!(m[1].root, "/");
    }

    #[test]
    fn parses_bind_mount_roots_and_leaves_odd_escapes_alone() {
        let text =
            "50 40 259:1 /vols/a\\134b\\011c /var/lib/k\\012x ro,nosuid - xfs /dev/nvme0n1 rw\n\
                    51 40 259:1 /caf\u{e9}\\é\\9 /x\\777 rw - xfs /dev/nvme0n1 rw\n";
        let m = parse_mountinfo(text);
        assert_eq!(m[0].root, "/vols/a\\b\tc");
        assert_eq!(m[0].mount_point, "/var/lib/k\nx");
        assert_eq!(m[0].options, "ro,nosuid");
        // Not escapes: a backslash before a non-octal digit, a multi-byte character, or a
        // value over 255 stays as it is (and never panics).
        assert_eq!(m[1].root, "/caf\u{e9}\\é\\9");
        assert_eq!(m[1].mount_point, "/x\\777");
    }

    #[test]
    fn parses_swaps() {
        let text = "Filename\tType\tSize\tUsed\tPriority\n/dev/sda3 partition 8388604 0 -2\n/dev/zram0 partition 1 0 100\n";
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("swaps");
        fs::write(&p, text).unwrap();
        assert_eq!(read_swaps(&p), vec!["/dev/sda3", "/dev/zram0"]);
    }
}
