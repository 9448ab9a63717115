//! Filesystem and signature detection from a device's own bytes, like a small `blkid`.
//! Reading the superblock directly (not udev's cache) is what makes a drive's identity
//! trustworthy after device renames.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// The XFS label Strata writes on the drives it formats (XFS labels hold at most 12 bytes).
pub const STRATA_LABEL: &str = "STRATA";

/// Bytes read from the start of a device: enough for every signature at a fixed offset below.
const HEAD_LEN: usize = 72 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Signature {
    /// `xfs`, `ext4`, `swap`, `LVM2_member`, `linux_raid_member`, `gpt`, … (blkid's names).
    pub kind: String,
    pub uuid: Option<String>,
    pub label: Option<String>,
}

impl Signature {
    fn new(kind: &str) -> Signature {
        Signature {
            kind: kind.to_string(),
            ..Signature::default()
        }
    }

    pub fn is_strata(&self) -> bool {
        self.kind == "xfs" && self.label.as_deref() == Some(STRATA_LABEL)
    }
}

/// Probes the device (or fixture file) at `path`. `None` when nothing is recognised;
/// `Err` when it cannot be read at all.
pub fn probe_path(path: &Path) -> std::io::Result<Option<Signature>> {
    let mut file = File::open(path)?;
    let mut head = Vec::with_capacity(HEAD_LEN);
    (&mut file).take(HEAD_LEN as u64).read_to_end(&mut head)?;
    if let Some(sig) = probe_head(&head) {
        return Ok(Some(sig));
    }
    probe_tail(&mut file)
}

/// Signatures at fixed offsets from the start of the device.
pub fn probe_head(b: &[u8]) -> Option<Signature> {
    if at(b, 0, b"XFSB") {
        return Some(Signature {
            kind: "xfs".into(),
            uuid: b.get(32..48).map(format_uuid),
            label: b.get(108..120).and_then(c_string),
        });
    }
    if at(b, 0, b"hsqs") {
        return Some(Signature::new("squashfs"));
    }
    if at(b, 0, b"LUKS\xba\xbe") {
        return Some(Signature::new("crypto_LUKS"));
    }
    if le_u32(b, 4096) == Some(MD_MAGIC) || le_u32(b, 0) == Some(MD_MAGIC) {
        return Some(Signature::new("linux_raid_member"));
    }
    if (0..4).any(|s| at(b, s * 512, b"LABELONE") && at(b, s * 512 + 24, b"LVM2 001")) {
        return Some(Signature::new("LVM2_member"));
    }
    if b.get(1080..1082) == Some(&[0x53, 0xEF]) {
        return Some(ext_signature(b));
    }
    if at(b, 65536 + 64, b"_BHRfS_M") {
        return Some(Signature::new("btrfs"));
    }
    if at(b, 4086, b"SWAPSPACE2") || at(b, 4086, b"SWAP-SPACE") {
        return Some(Signature::new("swap"));
    }
    if at(b, 32769, b"CD001") {
        return Some(Signature::new("iso9660"));
    }
    if at(b, 510, &[0x55, 0xAA]) && (at(b, 82, b"FAT32   ") || at(b, 54, b"FAT1")) {
        return Some(Signature::new("vfat"));
    }
    if at(b, 512, b"EFI PART") {
        return Some(Signature::new("gpt"));
    }
    if at(b, 510, &[0x55, 0xAA]) && has_mbr_partition(b) {
        return Some(Signature::new("dos"));
    }
    None
}

const MD_MAGIC: u32 = 0xa92b_4efc;

/// md superblocks 0.90 and 1.0 live at the end of the device.
fn probe_tail(file: &mut File) -> std::io::Result<Option<Signature>> {
    let size = file.seek(SeekFrom::End(0))?;
    if size < 128 * 1024 {
        return Ok(None);
    }
    let v090 = (size & !65535) - 65536;
    let v10 = ((size / 512) & !7).saturating_sub(16) * 512;
    for offset in [v090, v10] {
        let mut word = [0u8; 4];
        file.seek(SeekFrom::Start(offset))?;
        if file.read_exact(&mut word).is_ok() && u32::from_le_bytes(word) == MD_MAGIC {
            return Ok(Some(Signature::new("linux_raid_member")));
        }
    }
    Ok(None)
}

fn ext_signature(b: &[u8]) -> Signature {
    const SB: usize = 1024;
    let compat = le_u32(b, SB + 0x5C).unwrap_or(0);
    let incompat = le_u32(b, SB + 0x60).unwrap_or(0);
    let kind = if incompat & 0x40 != 0 {
        "ext4"
    } else if compat & 0x4 != 0 {
        "ext3"
    } else {
        "ext2"
    };
    Signature {
        kind: kind.into(),
        uuid: b.get(SB + 104..SB + 120).map(format_uuid),
        label: b.get(SB + 120..SB + 136).and_then(c_string),
    }
}

fn has_mbr_partition(b: &[u8]) -> bool {
    (0..4).any(|i| {
        let entry = 446 + i * 16;
        matches!(b.get(entry), Some(0x00) | Some(0x80)) && b.get(entry + 4).is_some_and(|t| *t != 0)
    })
}

fn at(b: &[u8], offset: usize, magic: &[u8]) -> bool {
    b.get(offset..offset + magic.len()) == Some(magic)
}

fn le_u32(b: &[u8], offset: usize) -> Option<u32> {
    let w = b.get(offset..offset + 4)?;
    Some(u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
}

fn c_string(b: &[u8]) -> Option<String> {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    let s = String::from_utf8_lossy(&b[..end]).trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn format_uuid(b: &[u8]) -> String {
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(len: usize, patches: &[(usize, &[u8])]) -> Vec<u8> {
        let mut b = vec![0u8; len];
        for (off, bytes) in patches {
            b[*off..*off + bytes.len()].copy_from_slice(bytes);
        }
        b
    }

    #[test]
    fn recognises_strata_xfs_with_uuid_and_label() {
        let uuid = [
            0x6f, 0x1c, 0x2a, 0x9e, 0x3b, 0x4d, 0x4e, 0x5f, 0x8a, 0x7b, 0x1c, 0x2d, 0x3e, 0x4f,
            0x5a, 0x6b,
        ];
        let b = image(8192, &[(0, b"XFSB"), (32, &uuid), (108, b"STRATA")]);
        let sig = probe_head(&b).unwrap();
        assert_eq!(sig.kind, "xfs");
        assert_eq!(
            sig.uuid.as_deref(),
            Some("6f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b")
        );
        assert!(sig.is_strata());
    }

    #[test]
    fn recognises_common_signatures() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                image(8192, &[(1080, &[0x53, 0xEF]), (1120, &[0x40, 0, 0, 0])]),
                "ext4",
            ),
            (image(8192, &[(4086, b"SWAPSPACE2")]), "swap"),
            (
                image(8192, &[(512, b"LABELONE"), (536, b"LVM2 001")]),
                "LVM2_member",
            ),
            (
                image(8192, &[(4096, &MD_MAGIC.to_le_bytes())]),
                "linux_raid_member",
            ),
            (
                image(8192, &[(510, &[0x55, 0xAA]), (512, b"EFI PART")]),
                "gpt",
            ),
            (image(8192, &[(0, b"LUKS\xba\xbe")]), "crypto_LUKS"),
        ];
        for (img, kind) in cases {
            assert_eq!(probe_head(&img).map(|s| s.kind).as_deref(), Some(kind));
        }
    }

    #[test]
    fn zeroes_and_short_files_have_no_signature() {
        assert_eq!(probe_head(&[0u8; 8192]), None);
        assert_eq!(probe_head(&[0u8; 3]), None);
        assert_eq!(probe_head(b"XFS"), None);
    }
}
