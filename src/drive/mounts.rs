//! Who uses a device: `/proc/self/mountinfo` and `/proc/swaps`.

use std::fs;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    pub major_minor: String,
    pub mount_point: String,
    pub fs_type: String,
    pub source: String,
    pub options: String,
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
    let major_minor = l.nth(2)?.to_string();
    let mount_point = unescape_octal(l.nth(1)?);
    let options = l.next().unwrap_or("").to_string();
    let mut r = right.split(' ');
    let fs_type = r.next()?.to_string();
    let source = unescape_octal(r.next().unwrap_or(""));
    Some(MountEntry {
        major_minor,
        mount_point,
        fs_type,
        source,
        options,
    })
}

/// The kernel escapes space, tab, newline and backslash as `\ooo`.
fn unescape_octal(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 4], 8) {
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
